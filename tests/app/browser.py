"""Driving the real app in Chromium: start ``streamlit run`` (and a worker), take screenshots.

Shared by the browser tests (``test_browser*.py``) and their ``embedded_app`` fixture
(``tests/app/conftest.py``).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.app.conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "artifacts" / "browser"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


class Screenshots:
    """``shot(page, name, focus=None)`` saves a numbered full-page screenshot in ``folder``."""

    def __init__(self, folder: Path):
        self.folder, self.paths = folder, []
        for old in folder.glob("*.png"):  # an earlier run's, a failure's among them, would pass for this one's
            old.unlink()

    def __call__(self, page, name, focus=None):
        if focus is not None:
            settle(page)
            scroll_to(focus)
        path = self.folder / f"{len(self.paths) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.paths.append(path)

    @contextlib.contextmanager
    def on_failure(self, page):
        """Leave a screenshot of the page as it was when a step failed (``failed-after-NN.png``)."""
        try:
            yield
        except BaseException:
            try:
                page.screenshot(path=str(self.folder / f"failed-after-{len(self.paths):02d}.png"), full_page=True)
            except Exception:  # noqa: BLE001 (the browser itself may be gone)
                pass
            raise


def settle(page) -> None:
    """Wait until the app's script is not running: the page then holds the run's last drawing (a panel whose
    render ended is drawn once by its fragment, then again by the whole page's run, which replaces its
    elements; a download's click reruns the page too)."""
    from playwright.sync_api import expect

    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning")


def scroll_to(locator, tries: int = 5) -> None:
    """Scroll ``locator``'s element into view, finding it again when a rerun replaced it during the scroll
    (Playwright's scroll resolves the element once, then fails if it is detached while it waits for it to
    be stable). A new run can still begin just after :func:`settle` saw the last one end."""
    from playwright.sync_api import Error

    for attempt in range(tries):
        try:
            locator.scroll_into_view_if_needed()
            return
        except Error as exc:
            if "not attached to the DOM" not in exc.message or attempt == tries - 1:
                raise


def number_field(page, label: str):
    """The text box of the number input labelled ``label``."""
    return page.locator('[data-testid="stNumberInput"]').filter(
        has=page.locator('[data-testid="stWidgetLabel"]').get_by_text(label, exact=True)).locator("input")


def set_quickly(field, *values: str) -> None:
    """Type each value into a number input and send it (Enter), without waiting for the page between them:
    the run a value starts may still be going when the next value is sent."""
    for value in values:
        field.fill(value)
        field.press("Enter")


def pick_option(page, opener, option: str) -> None:
    """Open a select or multiselect box by clicking ``opener`` (its combobox or its input) and pick ``option``;
    the list is opened again when a click left it closed (a rerun that lands just after the click redraws
    the box closed: seen once in three tours on a loaded machine, and in the phone layout test), and when
    such a rerun takes the shown option away before the click lands (seen once in a tour, after a Paint)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout, expect

    choice = page.get_by_role("option", name=option)
    for attempt in range(5):
        opener.click()
        try:
            expect(choice).to_be_visible(timeout=15_000)
            choice.click(timeout=15_000)
            return
        except (AssertionError, PlaywrightTimeout):
            if attempt == 4:
                raise
            page.keyboard.press("Escape")


def require_browser():
    problem = None
    if not CHROMIUM.exists():
        problem = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "playwright is not installed"
    if problem:
        if os.environ.get("NST_REQUIRE_BROWSER") == "1":
            pytest.fail(problem + " and NST_REQUIRE_BROWSER=1", pytrace=False)
        pytest.skip(problem)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_app(folder: Path, mode: str, extra_env: dict[str, str] | None = None):
    """``streamlit run`` on a free port with its own data directory in ``folder``; in ``farm`` mode the
    app only submits and a ``python -m nst worker`` process beside it paints; ``extra_env`` adds variables
    (``NST_APP_WORKERS``, ``NST_PLUGIN_PATH``...). Yields the app's URL; on the way out, both logs must
    be free of tracebacks."""
    port = free_port()
    env = dict(os.environ, NST_DATA_DIR=str(folder / "data"), PYTHONPATH=str(ROOT))
    for name in ("NST_DATABASE_URL", "NST_QUEUE_URL", "NST_QUEUE_NAME", "NST_APP_WORKERS"):
        env.pop(name, None)
    env.update(extra_env or {})
    processes, logs = [], []
    try:
        if mode == "farm":
            env.update(NST_APP_WORKERS="0", NST_PLUGIN_PATH=str(ROOT / "tests" / "studio" / "plugins"))
            (folder / "data").mkdir()
            logs.append(open(folder / "worker.log", "w"))
            processes.append(subprocess.Popen([sys.executable, "-m", "nst", "worker", "--name", "browser-test"],
                                              cwd=ROOT, env=env, stdout=logs[-1], stderr=subprocess.STDOUT))
        logs.append(open(folder / "streamlit.log", "w"))
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"), "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=logs[-1], stderr=subprocess.STDOUT,
        ))
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("streamlit did not start: " + (folder / "streamlit.log").read_text()[-2000:])
        yield url
    finally:  # the app and its worker stop, and their logs close, whatever happened
        for running in processes:
            running.terminate()
            try:
                running.wait(20)
            except subprocess.TimeoutExpired:
                running.kill()
        for log in logs:
            log.close()
    output = (folder / "streamlit.log").read_text()
    assert not app_tracebacks(output), output[-3000:]
    if mode == "farm":
        output = (folder / "worker.log").read_text()
        assert "Traceback" not in output, output[-3000:]


def app_tracebacks(log: str) -> list[str]:
    """The tracebacks in a ``streamlit run`` log, less Streamlit's own when a browser's websocket goes away
    while the server stops (Streamlit 1.67 on Starlette reads the disconnect as a frame and then fails
    closing the socket): that one is the test's shutdown, not the app's."""
    blocks, current = [], None
    for line in log.splitlines():
        if line.startswith("Traceback"):
            current = [line]
            blocks.append(current)
        elif current is not None:
            current.append(line)
            if line and not line[0].isspace() and not line.startswith(("Traceback", "During handling")):
                current = None  # the exception's own line ends the block
    texts = ["\n".join(block) for block in blocks]
    return [text for text in texts if not ("streamlit/web/server" in text and "WebSocket" in text)]
