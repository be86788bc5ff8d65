"""A new user's tour in Chromium, on a desktop (1400x1000) and a phone (390x844), on one fresh app:
the gallery's paintings, Use on a card, Paint with the progress in view, a texture from a painting
that starts from that painting alone, a filter that takes no style, History with two renders side by
side, a style pack exported and imported again. Every request the pages make is recorded: none goes
to a host other than the app's own (the app works offline).

Both screens walk every journey. One server (its own data folder, with a no-style filter from
``tests/app/plugins_nostyle`` and no background style analysis) and one browser for both; tiny renders
(the fast preset at 64 px, two steps, and the instant sepia), so the phone's History lists the desktop's
two renders as well as its own. Screenshots go to ``artifacts/browser/tour/``.
"""

from __future__ import annotations

import re
import time
from urllib.parse import urlparse

import pytest

from tests.app.browser import (ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS, Screenshots, number_field, pick_option,
                               require_browser, running_app, set_quickly)
from tests.app.conftest import ROOT, jpeg_bytes
from tests.factories import make_photo

WAVE = "The Great Wave off Kanagawa"
SCREENS = {"desktop": {"width": 1400, "height": 1000}, "phone": {"width": 390, "height": 844}}

pytestmark = pytest.mark.slow  # real renders in a real browser


def test_a_new_users_tour_on_desktop_and_phone(tmp_path):
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    photo = tmp_path / "beach.jpg"
    photo.write_bytes(jpeg_bytes(make_photo(160, 120)))
    artifacts = ARTIFACTS / "tour"
    artifacts.mkdir(parents=True, exist_ok=True)
    shot = Screenshots(artifacts)
    env = {"NST_PLUGIN_PATH": str(ROOT / "tests" / "app" / "plugins_nostyle"), "NST_STYLE_ANALYSIS": "0"}
    requests: list[str] = []
    started = time.monotonic()
    with running_app(tmp_path, "embedded", env) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        expect.set_options(timeout=90_000)  # a busy machine: the first render loads TensorFlow
        for screen, viewport in SCREENS.items():
            context = browser.new_context(viewport=viewport, accept_downloads=True)
            context.set_default_timeout(90_000)
            context.on("request", lambda request: requests.append(request.url))
            page = context.new_page()
            with shot.on_failure(page):
                _tour(page, url, screen, viewport, photo, tmp_path, shot, expect)
            context.close()
        browser.close()
    print(f"Tour: {time.monotonic() - started:.1f} s with the app's start")
    outside = sorted({r for r in requests if urlparse(r).scheme not in ("data", "blob")
                      and urlparse(r).hostname != "127.0.0.1"})
    assert requests and not outside, outside
    print("Screenshots:", *map(str, shot.paths), sep="\n  ")


def _card(page, name):
    """The innermost block holding the style's name and its one Use button."""
    use = page.get_by_role("button", name="Use")
    return page.locator("div").filter(has=page.get_by_text(name, exact=True)).filter(
        has=use).filter(has_not=use.nth(1)).last


def _nav(page, screen, name):
    """Go to a page through the sidebar. On a phone it is drawn over the page: opened first, it folds away by
    itself once the link is tapped (``ui/sidebar.py``; Streamlit alone folds it only for a browser that calls
    itself a mobile device, which this one does not), and the page's heading is on the screen. On a desktop
    there is room for both: it stays open."""
    from playwright.sync_api import expect

    sidebar = page.locator('[data-testid="stSidebar"]')
    if screen == "phone":
        expect(sidebar).to_have_attribute("data-collapsed", "true")
        page.locator('[data-testid="stExpandSidebarButton"], [data-testid="stSidebarCollapsedControl"] button') \
            .first.click()
        expect(sidebar).to_have_attribute("data-collapsed", "false")
    sidebar.get_by_role("link", name=name).click()
    expect_heading(page, name)
    expect(page.locator(".st-key-fold-sidebar-after-links")).to_be_hidden()  # the folding script takes no room
    if screen == "phone":
        expect(sidebar).to_have_attribute("data-collapsed", "true", timeout=10_000)
        heading = page.get_by_role("heading", name=name, exact=True).bounding_box()
        assert heading is not None and 0 <= heading["x"] < page.viewport_size["width"], (name, heading)
    else:
        page.wait_for_timeout(300)  # the frames in which the script would have folded it, were it wrong
        expect(sidebar).to_have_attribute("data-collapsed", "false")


def expect_heading(page, name):
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()


def _choose(page, box, option):
    """Pick ``option`` in the select box ``box``, and see it chosen."""
    from playwright.sync_api import expect

    pick_option(page, page.get_by_role("combobox", name=box), option)
    expect(page.get_by_role("combobox", name=box)).to_have_value(option)


def _paint_in_view(page, expect, shot, name):
    """Paint; the new render's panel comes into view, wherever the button was; then its result."""
    panels_before = page.get_by_text(re.compile(r"^Render #\d+")).count()
    page.get_by_role("button", name=re.compile(r"^Paint 1 photo")).click()
    newest = page.get_by_text(re.compile(r"^Render #\d+")).first
    expect(page.get_by_text(re.compile(r"^Render #\d+"))).to_have_count(panels_before + 1)
    expect(newest).to_be_in_viewport()
    path = shot.folder / f"{len(shot.paths) + 1:02d}-{name}-progress-in-view.png"
    page.screenshot(path=str(path))  # what the screen shows, not the whole page
    shot.paths.append(path)
    expect(page.get_by_text("Result", exact=True).first).to_be_visible(timeout=180_000)


def _tour(page, url, screen, viewport, photo, tmp_path, shot, expect):
    page.goto(url)
    expect_heading(page, "Gallery")
    expect(page.get_by_text("The Starry Night", exact=True)).to_be_visible()
    expect(_card(page, WAVE).get_by_role("button", name="Use")).to_be_visible()
    shot(page, f"{screen}-gallery")

    # Use on a card: Stylize with that painting; a photo; the fast preset at 64 px, two steps; Paint.
    _card(page, WAVE).get_by_role("button", name="Use").click()
    expect_heading(page, "Stylize")
    styles = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Styles")
    expect(styles).to_contain_text(WAVE)
    expect(page.get_by_text("Upload a photo (or pick a recent one) to start.")).to_be_visible()
    page.locator("input[type=file]").first.set_input_files(str(photo))
    expect(page.get_by_text("beach.jpg", exact=True)).to_be_visible()
    page.get_by_role("radio", name="Fast").click()
    expect(page.get_by_role("radio", name="Fast")).to_be_checked()
    expect(page.get_by_text(re.compile(r"^Expected time: about \d+")).first).to_be_visible()
    size, steps = number_field(page, "Size (px)"), number_field(page, "Steps")
    expect(size).to_have_value("256")
    set_quickly(size, "32", "64")  # two changes in a row: the run of the first must not undo the second
    set_quickly(steps, "2")
    expect(size).to_have_value("64")
    expect(steps).to_have_value("2")
    # the estimate follows the form: two steps at 64 px cost next to nothing, the compiling of the one scale
    expect(page.get_by_text(re.compile(r"^Expected time: about \d s, peak memory about [\d.]+ GB \(a rough"))).to_be_visible()
    page.get_by_role("button", name=re.compile(r"^Paint 1 photo")).scroll_into_view_if_needed()
    shot(page, f"{screen}-stylize-ready")
    _paint_in_view(page, expect, shot, f"{screen}-transfer")

    # A filter that takes no style: no Styles box, and it paints without one.
    _choose(page, "Filter", "Sepia tone")
    expect(styles).to_have_count(0)
    expect(page.get_by_role("heading", name="2 · Filter")).to_be_visible()
    _paint_in_view(page, expect, shot, f"{screen}-sepia")
    expect(page.get_by_text(re.compile(r"^Render #\d+"))).to_have_count(2)  # the session's renders

    # A texture from a painting starts from that painting alone.
    _nav(page, screen, "Gallery")
    _card(page, "The Scream").get_by_role("button", name="Open").click()
    page.get_by_role("button", name="Make a texture").click()
    expect_heading(page, "Texture")
    expect(page.get_by_role("combobox", name="Style", exact=True)).to_have_value("The Scream — Edvard Munch")
    expect(page.get_by_role("switch", name="Blend several styles")).not_to_be_checked()
    expect(page.locator('[data-testid="stMultiSelect"]')).to_have_count(0)
    expect(page.get_by_text(re.compile(r"^Expected time: about \d+")).first).to_be_visible()
    shot(page, f"{screen}-texture-from-the-scream")

    # History: the two newest renders (this screen's sepia and transfer) told apart, then side by side.
    _nav(page, screen, "History")
    expect(page.get_by_text(re.compile(r"^Fast, with Size \(px\), Steps changed · 64 × 48 px")).first).to_be_visible()
    listed = 2 if screen == "desktop" else 4  # the phone's History also lists the desktop's two
    compare = page.get_by_role("button", name=re.compile(r"(^|\s)Compare$"))
    expect(compare).to_have_count(listed)
    compare.first.click()
    expect(page.get_by_text(re.compile(r"^Comparing #\d+"))).to_be_visible()
    expect(compare).to_have_count(listed - 1)  # the page has run again: the first row's button is Uncompare
    compare.first.click()
    expect(page.get_by_role("heading", name="Side by side")).to_be_visible()
    expect(page.get_by_text("Settings that differ")).to_be_visible()
    differ = page.locator('[data-testid="stTable"]').first
    expect(differ).to_contain_text("Strength")  # the sepia's own setting, beside the transfer's
    expect(differ).to_contain_text("Size (px)")
    expect(page.locator('[data-testid="stImage"] img')).to_have_count(2 + listed)  # side by side, and in the rows
    shot(page, f"{screen}-history-compared")

    # A style pack out of the app and back in.
    _nav(page, screen, "Add style")
    page.get_by_role("tab", name="Export a style pack").click()
    page.get_by_role("button", name=re.compile(r"^Make a pack of \d+ styles")).click()
    with page.expect_download() as download:
        page.get_by_role("button", name=re.compile(r"^Download the pack")).click()
    pack = tmp_path / f"{screen}-{download.value.suggested_filename}"
    download.value.save_as(pack)
    assert download.value.suggested_filename.startswith("style-pack-") and pack.suffix == ".zip"
    shot(page, f"{screen}-pack-exported")
    page.get_by_role("tab", name="Import a style pack").click()
    page.locator('[data-testid="stFileUploader"]').filter(has_text="Style pack").locator("input[type=file]") \
        .set_input_files(str(pack))
    page.get_by_role("button", name="Import the pack").click()
    expect(page.get_by_text(re.compile(r"skipped", re.I)).first).to_be_visible()
    shot(page, f"{screen}-pack-imported")
