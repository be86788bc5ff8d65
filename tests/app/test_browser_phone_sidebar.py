"""On a phone (390x844) the sidebar is drawn over the page: after a page link in it is tapped, it folds away by
itself, so the page the user asked for is what they see (Streamlit folds it only for a browser that calls
itself a mobile device; this one, like a narrow desktop window, does not). On a desktop it stays open.
In Chromium, on the real app (``embedded_app``, ``tests/app/conftest.py``); screenshots of a failure go to
``artifacts/browser/phone-sidebar/``."""

from __future__ import annotations

import pytest

from tests.app.browser import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS, Screenshots

pytestmark = pytest.mark.slow  # a real browser on the real app

PHONE = {"width": 390, "height": 844}
LINKS = ("Stylize", "History", "Add style", "Gallery")


def test_the_sidebar_folds_away_after_each_page_link_on_a_phone(embedded_app):
    from playwright.sync_api import expect, sync_playwright

    artifacts = ARTIFACTS / "phone-sidebar"
    artifacts.mkdir(parents=True, exist_ok=True)
    shot = Screenshots(artifacts)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport=PHONE)
        context.set_default_timeout(60_000)
        expect.set_options(timeout=60_000)
        page = context.new_page()
        with shot.on_failure(page):
            page.goto(embedded_app)
            expect(page.get_by_role("heading", name="Gallery", exact=True)).to_be_visible()
            sidebar = page.locator('[data-testid="stSidebar"]')
            expect(sidebar).to_have_attribute("data-collapsed", "true")  # a phone starts with it folded
            expect(page.locator(".st-key-fold-sidebar-after-links")).to_be_hidden()  # the script takes no room
            for name in LINKS:
                page.locator('[data-testid="stExpandSidebarButton"], [data-testid="stSidebarCollapsedControl"] '
                             'button').first.click()
                expect(sidebar).to_have_attribute("data-collapsed", "false")
                sidebar.get_by_role("link", name=name).click()
                expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
                expect(sidebar).to_have_attribute("data-collapsed", "true", timeout=10_000)
                heading = page.get_by_role("heading", name=name, exact=True).bounding_box()
                assert heading is not None and 0 <= heading["x"] < PHONE["width"], (name, heading)
                shot(page, f"phone-after-{name.lower().replace(' ', '-')}")
        context.close()
        desktop = browser.new_context(viewport={"width": 1400, "height": 1000})  # room for both: it stays open
        page = desktop.new_page()
        with shot.on_failure(page):
            page.goto(embedded_app)
            sidebar = page.locator('[data-testid="stSidebar"]')
            expect(sidebar).to_have_attribute("data-collapsed", "false")
            sidebar.get_by_role("link", name="History").click()
            expect(page.get_by_role("heading", name="History", exact=True)).to_be_visible()
            page.wait_for_timeout(500)  # the frames in which the script would have folded it
            expect(sidebar).to_have_attribute("data-collapsed", "false")
        desktop.close()
        browser.close()
