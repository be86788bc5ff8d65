"""The Texture page in Chromium: a small seamless texture from a crop of a style, shown tiled 3x3.

Uses the real app (``streamlit run``, its own render thread) through the ``embedded_app`` fixture
(``tests/app/conftest.py``), started once for the app's tests; screenshots go to
``artifacts/browser/texture/``. Tiny sizes: a 128x128 texture, one scale, a few steps.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nst import images
from tests.app.browser import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS, Screenshots

pytestmark = pytest.mark.slow  # a real render in a real browser


def test_a_small_seamless_texture_with_its_tiled_preview(embedded_app, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    url = embedded_app
    expect.set_options(timeout=120_000)  # a busy machine: the app opens its library first
    artifacts = ARTIFACTS / "texture"
    artifacts.mkdir(parents=True, exist_ok=True)
    shot = Screenshots(artifacts)
    shots = shot.paths

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        page = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True).new_page()
        page.set_default_timeout(120_000)
        with shot.on_failure(page):
            page.goto(url)
            expect(page.get_by_role("heading", name="Gallery")).to_be_visible()
            page.get_by_role("link", name="Texture").click()
            expect(page.get_by_role("heading", name="Texture")).to_be_visible()
            def number(label):
                return page.locator('[data-testid="stNumberInput"]').filter(has_text=label).locator("input")

            # A preset clicked as soon as it shows, while the page's first run may still be going: the run it
            # cuts short must not leave the style box showing nothing while a style is chosen.
            page.get_by_role("radio", name="Fast").click()
            styles = page.get_by_role("combobox", name="Style", exact=True)
            expect(page.get_by_role("button", name="Synthesize")).to_be_enabled()
            expect(styles).to_have_value(re.compile(" — "))  # a painting, with its artist
            expect(number("Steps")).to_have_value("30")  # the preset is applied before anything is edited
            expect(number("Width (px)")).to_have_value("256")
            for label, value in (("Width (px)", "128"), ("Height (px)", "128"), ("Steps", "3")):
                number(label).fill(value)
                number(label).press("Enter")
                page.wait_for_timeout(800)
                expect(number(label)).to_have_value(value)
            stroke = page.locator('[data-testid="stSlider"]').filter(has_text="Stroke scale").get_by_role("slider")
            stroke.focus()
            stroke.press("Home")  # 0.1: the style seen small, so its statistics are quick to compute
            expect(page.get_by_role("switch", name="Seamless tile")).to_be_checked()
            page.wait_for_timeout(800)
            crop = page.locator('[data-testid="stCheckbox"]').filter(has_text="Learn from a part of").first
            crop.locator("label").click()  # a crop box: the top-left half by default
            expect(page.get_by_text(re.compile(r"\d+x\d+ px from \(0, 0\)"))).to_be_visible()
            page.wait_for_timeout(500)
            shot(page, "texture-ready")

            page.get_by_role("button", name="Synthesize").click()
            expect(page.get_by_text(re.compile(r"^Render #\d+"))).to_be_visible()
            expect(page.get_by_text("Result", exact=True)).to_be_visible(timeout=240_000)
            expect(page.get_by_text("Tiled 3 × 3").first).to_be_visible()
            download_button = page.get_by_role("button", name="Download PNG")
            expect(download_button).to_be_visible()
            page.wait_for_timeout(500)
            shot(page, "texture-result", focus=page.get_by_text("Tiled 3 × 3").first)
            with page.expect_download() as info:
                download_button.click()
            tile = Image.open(io.BytesIO(Path(info.value.path()).read_bytes()))
        browser.close()

    assert tile.size == (128, 128)
    assert images.wrap_ratio(np.asarray(tile.convert("RGB"), dtype=np.float32) / 255) < 1.6  # it tiles
    assert all(path.stat().st_size > 10_000 for path in shots)
    print("Screenshots:", *map(str, shots), sep="\n  ")
