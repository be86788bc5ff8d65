"""Try it on my photo in Chromium: a photo chosen in the Gallery shows on all ten cards of a fresh library.

Uses the real app (``streamlit run``) through the ``embedded_app`` fixture (``tests/app/conftest.py``). The
time from choosing the photo (as soon as the box shows) until the tenth card shows it is printed, and from
opening the page: the style vectors are cold when the page opens (nothing in this app has used the instant
filter before, and that app runs without the background analysis, so the cards compute them); it is a
measurement, not asserted (the issue asks for under 5 s; on a busy shared machine it is more). The vectors
computed in the background while the Gallery opens are ``tests/app/test_try_on.py``'s. Screenshots at
1400x1000 and 390x844 go to ``artifacts/browser/tryon/``.
"""

from __future__ import annotations

import time

import pytest

from nst import instant
from tests.app.browser import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS, Screenshots
from tests.app.conftest import jpeg_bytes
from tests.app.test_try_on import TRIED, structured_photo

pytestmark = pytest.mark.skipif(instant.unavailable() != "", reason=f"instant model: {instant.unavailable()}")

SCREENS = {"desktop": {"width": 1400, "height": 1000}, "phone": {"width": 390, "height": 844}}


def test_a_photo_chosen_in_the_gallery_shows_on_ten_cards(embedded_app, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    photo = tmp_path / "garden.jpg"
    photo.write_bytes(jpeg_bytes(structured_photo(640, 480)))
    artifacts = ARTIFACTS / "tryon"
    artifacts.mkdir(parents=True, exist_ok=True)
    shot = Screenshots(artifacts)
    expect.set_options(timeout=120_000)  # a busy machine
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        for screen, viewport in SCREENS.items():
            page = browser.new_context(viewport=viewport).new_page()
            page.set_default_timeout(120_000)
            with shot.on_failure(page):
                opened = time.monotonic()
                page.goto(embedded_app)
                expect(page.get_by_role("heading", name="Gallery")).to_be_visible()
                expect(page.get_by_text("10 styles", exact=True)).to_be_visible()
                page.get_by_text("Try it on my photo", exact=True).click()
                upload = page.locator("input[type=file]")
                expect(upload).to_have_count(1)
                cards = page.get_by_text(TRIED, exact=True)
                started = time.monotonic()
                upload.set_input_files(str(photo))
                expect(cards).to_have_count(10)
                page.wait_for_function(
                    "() => [...document.querySelectorAll('[data-testid=stImage] img')]"
                    ".filter(i => i.complete && i.naturalWidth > 0).length >= 11")  # ten cards and the photo
                seconds = time.monotonic() - started
                print(f"Try-on, {screen}: the photo on 10 cards {seconds:.1f} s after choosing it, "
                      f"{time.monotonic() - opened:.1f} s after opening the page"
                      + (" (style vectors computed by the cards)" if screen == "desktop"
                         else " (painted cards cached)"))
                expect(page.get_by_text("Your photo, shown on every card below", exact=False)).to_be_visible()
                shot(page, f"{screen}-gallery-tried")
                shot(page, f"{screen}-cards", focus=cards.nth(5 if screen == "desktop" else 1))
            page.context.close()
        browser.close()
    print("Screenshots:", *map(str, shot.paths), sep="\n  ")
