"""The real thing: `streamlit run` on a free port, driven by headless Chromium through Playwright.

On an app started once for the app's tests it opens the gallery (the seven paintings of the starter
collection, with their artists), presses "Use" on The Great Wave, checks that Stylize has it
selected, uploads a photo, paints it with tiny settings, waits for the result, finds it in the
history and on the painting's gallery card. A screenshot of each step is saved in
``artifacts/browser/``.

Twice: once as a user starts it (the app paints in its own render thread), once as a farm
(``NST_APP_WORKERS=0``: the app only submits, a separate ``python -m nst worker`` process paints,
and the page follows the render's live progress and preview through the library).

Needs Debian's Chromium at /usr/bin/chromium (``.ci/run`` installs it); without it the test is
skipped, unless ``NST_REQUIRE_BROWSER=1``.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image

from tests.app.browser import (ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS, Screenshots, number_field, pick_option,
                               require_browser, running_app, set_quickly)
from tests.app.conftest import jpeg_bytes
from tests.factories import make_photo

WAVE = "The Great Wave off Kanagawa"
STARTER_COLLECTION = [
    ("The Starry Night", "Vincent van Gogh"), ("The Scream", "Edvard Munch"), ("Woman with a Hat", "Henri Matisse"),
    (WAVE, "Katsushika Hokusai"), ("Composition VII", "Wassily Kandinsky"),
    ("Udnie (Young American Girl, The Dance)", "Francis Picabia"), ("The Wreck of a Transport Ship", "J. M. W. Turner"),
]

pytestmark = pytest.mark.slow  # real renders in a real browser

@pytest.fixture(params=["embedded", "farm"])
def server(request, tmp_path):
    """(mode, URL): the shared app as a user starts it, or a farm of a submitting app and a worker."""
    require_browser()
    if request.param == "embedded":
        yield request.param, request.getfixturevalue("embedded_app")
        return
    with running_app(tmp_path, request.param) as url:
        yield request.param, url


def test_gallery_upload_stylize_result(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    mode, server = server
    artifacts = ARTIFACTS / mode
    artifacts.mkdir(parents=True, exist_ok=True)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(jpeg_bytes(make_photo(160, 120)))
    shot = Screenshots(artifacts)
    shots = shot.paths

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.set_default_timeout(60_000)
        expect.set_options(timeout=30_000)  # the first page load imports TensorFlow in the warm-up beside it

        page.goto(server)
        expect(page.get_by_role("heading", name="Gallery")).to_be_visible()
        for name, artist in STARTER_COLLECTION:  # on first load, from the built-in starter collection plugin
            expect(page.get_by_text(name, exact=True)).to_be_visible()
            expect(page.get_by_text(re.compile(re.escape(artist) + " · "))).to_be_visible()
        expect(page.get_by_text("Blue waves").first).to_be_visible()
        page.wait_for_timeout(500)
        shot(page, "gallery")

        def card(name):  # the innermost block holding the style's name and its one Use button
            use = page.get_by_role("button", name="Use")
            # (a block with a second Use button is the grid, matched while the card is still drawing)
            return page.locator("div").filter(has=page.get_by_text(name, exact=True)).filter(
                has=use).filter(has_not=use.nth(1)).last

        card(WAVE).get_by_role("button", name="Use").click()
        expect(page.get_by_role("heading", name="Stylize")).to_be_visible()
        chosen = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Styles")
        expect(chosen).to_contain_text(f"{WAVE} — Katsushika Hokusai")
        expect(chosen).not_to_contain_text("Blue waves")
        # the page's first run has ended before the upload starts another (it could cut the first one short)
        expect(page.get_by_text("Upload a photo (or pick a recent one) to start.")).to_be_visible()
        page.locator("input[type=file]").first.set_input_files(str(photo))
        expect(page.get_by_text("photo.jpg").first).to_be_visible()
        page.get_by_role("radio", name="Fast").click()

        size, steps = number_field(page, "Size (px)"), number_field(page, "Steps")
        expect(page.get_by_role("radio", name="Fast")).to_be_checked()
        expect(size).to_have_value("256")  # the quick preset's values are in the widgets
        set_quickly(size, "32", "64")
        expect(size).to_have_value("64")
        set_quickly(steps, "2")
        expect(steps).to_have_value("2")
        # the size still shows 64 at Paint: the run of 32, when it ends after 64 was sent, must not send 32
        # back over it (it did, under load, with the size on a slider: it jumped back and 32 was painted)
        expect(size).to_have_value("64")
        shot(page, "stylize-ready")

        page.get_by_role("button", name="Paint 1 photo").click()
        expect(page.get_by_text(re.compile(r"^Render #\d+"))).to_be_visible()
        if mode == "farm":  # the app's library is in this test's folder: what is submitted is what was shown
            from db import open_library

            library = open_library(f"sqlite:///{tmp_path / 'data' / 'library.db'}")
            heading = page.get_by_text(re.compile(r"^Render #\d+")).inner_text()
            render_id = int(re.match(r"Render #(\d+)", heading)[1])
            recorded = library.get_render(render_id).params
            library.close()
            assert (recorded["size"], recorded["steps"]) == (64, 2), recorded
        shot(page, "stylize-running")
        result = page.get_by_text("Result", exact=True)
        expect(result).to_be_visible(timeout=180_000)
        expect(page.get_by_role("button", name="Download PNG")).to_be_visible()
        with page.expect_download() as download:
            page.get_by_role("button", name="Download PNG").click()
        painted = Image.open(io.BytesIO(Path(download.value.path()).read_bytes()))
        assert painted.size == (64, 48), "painted at the size set on the page (the photo is 160x120)"
        shot(page, "stylize-result", focus=page.get_by_role("button", name="Download PNG"))

        page.get_by_role("link", name="History").click()
        expect(page.get_by_text(re.compile(rf"^#\d+ · Style transfer with {re.escape(WAVE)}"))).to_be_visible()
        page.wait_for_timeout(500)
        shot(page, "history")

        page.get_by_role("link", name="Gallery").click()  # the card now shows what the style did to the photo
        expect(card(WAVE).get_by_text("The painting · your latest render")).to_be_visible()
        expect(card("The Starry Night").get_by_text("The painting · a sample")).to_be_visible()  # not this one
        page.wait_for_timeout(800)
        shot(page, "gallery-with-result", focus=card(WAVE))

        if mode == "farm":  # a longer render, to see its live progress and preview come from the worker
            page.get_by_role("link", name="Stylize").click()
            page.locator("input[type=file]").first.set_input_files(str(photo))
            expect(page.get_by_text("photo.jpg").first).to_be_visible()
            pick_option(page, page.locator('[data-testid="stSelectbox"]').filter(has_text="Filter"), "Slow")
            expect(page.locator('[data-testid="stNumberInput"]').filter(has_text="Steps").locator("input")) \
                .to_have_value("500")  # the "long" preset: about 5 s at 0.01 s a step
            page.get_by_role("button", name="Paint 1 photo").click()
            expect(page.get_by_text("Render #2")).to_be_visible()
            expect(page.get_by_text(re.compile(r"Step \d+ of 500"))).to_be_visible(timeout=60_000)
            expect(page.get_by_text("Live preview")).to_be_visible()
            shot(page, "farm-live-progress")
            expect(page.get_by_text("Result", exact=True)).to_be_visible(timeout=120_000)
            shot(page, "farm-result")
        browser.close()

    assert all(path.stat().st_size > 10_000 for path in shots)
    print("Screenshots:", *map(str, shots), sep="\n  ")
