"""The gallery and Stylize laid out for a phone (390x844) and a desktop (1400x1000), in Chromium: the first
card shows without scrolling past the tags, every sort button is whole, and several chosen styles' thumbnails
sit side by side without overlapping, each with its name.

Uses the real app through the ``embedded_app`` fixture (``tests/app/conftest.py``); screenshots go to
``artifacts/browser/layout/``.
"""

from __future__ import annotations

import pytest

from tests.app.browser import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS, Screenshots, pick_option

pytestmark = pytest.mark.slow  # a real browser on the real app

SCREENS = {"desktop": {"width": 1400, "height": 1000}, "phone": {"width": 390, "height": 844}}
WAVE = "The Great Wave off Kanagawa"
SCREAM = "The Scream"


def _overlap(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def test_the_first_card_the_sort_and_the_style_thumbnails_fit_a_phone_and_a_desktop(embedded_app):
    from playwright.sync_api import expect, sync_playwright

    artifacts = ARTIFACTS / "layout"
    artifacts.mkdir(parents=True, exist_ok=True)
    shot = Screenshots(artifacts)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        for screen, viewport in SCREENS.items():
            context = browser.new_context(viewport=viewport)
            context.set_default_timeout(60_000)
            expect.set_options(timeout=60_000)
            page = context.new_page()
            with shot.on_failure(page):
                page.goto(embedded_app)
                expect(page.get_by_role("heading", name="Gallery", exact=True)).to_be_visible()
                # The first card's picture: the page's first picture may be elsewhere (a recent photo in the
                # folded "Try it on my photo" box is in the page, hidden).
                first_card = page.locator('[data-testid="stGridCell"]').filter(
                    has=page.get_by_role("button", name="Use")).first.locator('[data-testid="stImage"]')
                expect(first_card).to_be_visible()
                page.screenshot(path=str(artifacts / f"{screen}-gallery-first-screen.png"))  # what the screen shows
                top = first_card.bounding_box()["y"]
                assert top < viewport["height"] - 150, f"the first card starts at {top:.0f} px on a {screen}"
                tags = page.locator('[data-testid="stMultiSelect"]')  # the gallery's one: the tags
                expect(tags).to_have_count(1)
                assert tags.bounding_box()["height"] < 60, "the tags take one line, however many there are"
                for label in ("Last used", "Newest", "Name", "Artist"):
                    box = page.get_by_text(label, exact=True).first.bounding_box()
                    assert 0 <= box["x"] and box["x"] + box["width"] <= viewport["width"], (screen, label, box)
                shot(page, f"{screen}-gallery")

                # Two styles on Stylize: their thumbnails side by side (or wrapped), apart, each named.
                page.locator("div").filter(has=page.get_by_text(WAVE, exact=True)).filter(
                    has=page.get_by_role("button", name="Use")).last.get_by_role("button", name="Use").click()
                expect(page.get_by_role("heading", name="Stylize", exact=True)).to_be_visible()
                styles = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Styles")
                pick_option(page, styles.locator("input"), f"{SCREAM} — Edvard Munch")
                page.keyboard.press("Escape")
                thumbnail = page.locator('[data-testid="stImageContainer"]')  # a picture and its caption
                wave, scream = (thumbnail.filter(has_text=name) for name in (WAVE, SCREAM))
                boxes = []
                for picture, name in ((wave, WAVE), (scream, SCREAM)):
                    expect(picture).to_have_count(1)
                    expect(picture.locator("img")).to_be_visible()
                    expect(picture.get_by_text(name, exact=True)).to_be_visible()  # its caption, whole
                    image = picture.locator("img").bounding_box()
                    caption = picture.get_by_text(name, exact=True).bounding_box()
                    assert image["width"] >= 60 and image["height"] >= 40, (screen, name, image)
                    assert caption["y"] >= image["y"] + image["height"] - 1, (screen, name, image, caption)
                    boxes.append(image)
                assert not _overlap(*boxes), (screen, boxes)
                wave.scroll_into_view_if_needed()
                page.screenshot(path=str(artifacts / f"{screen}-stylize-two-styles.png"))
            context.close()
        browser.close()
