"""Fixtures for the app's tests: a fresh app state per test, and generated images."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "streamlit_app.py")


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def jpeg_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


@pytest.fixture
def fresh_app():
    """Empty Streamlit caches (library, registry, farm) before and after; stop the app's render threads."""
    import streamlit as st

    from studio.consumer import RenderThreads

    def reset():
        for render_threads in list(RenderThreads.instances):
            render_threads.stop()
        st.cache_resource.clear()
        st.cache_data.clear()

    reset()
    yield
    reset()


#: What changes the library a first start makes: with any of these set, a test's app starts on its empty
#: data directory, as a user's first start does.
FIRST_START_INPUTS = ("NST_DATABASE_URL", "NST_PLUGIN_PATH", "NST_DISABLED_PLUGINS")
#: What a first start leaves in the data directory that a later start reads instead of doing the work again:
#: the migrated library with the plugins' styles in it, and the plugin files' probe verdicts.
FIRST_START_FILES = ("library.db", "plugin-probes.json")


@pytest.fixture(scope="session")
def first_start(tmp_path_factory):
    """The data directory as the app's first start leaves it (:func:`studio.assembly.assemble`: the library
    migrated, the plugin files probed, their styles added), made once per test process. An AppTest app
    starts on a copy of it (:func:`app`) instead of repeating that start, about a second of work each time;
    the first start itself is tested where it is the subject (tests/db, tests/plugins, the browser tests,
    which start on empty folders)."""
    folder = tmp_path_factory.mktemp("first-start")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NST_DATA_DIR", str(folder))
        for name in FIRST_START_INPUTS:
            patch.delenv(name, raising=False)
        from studio.assembly import assemble

        assemble().close()
    missing = [name for name in FIRST_START_FILES if not (folder / name).is_file()]
    assert not missing, f"the first start no longer leaves {missing}: update FIRST_START_FILES"
    return folder


@pytest.fixture(scope="session")
def components_scanned_once():
    """Streamlit's AppTest looks for installed components on every new AppTest (reading the metadata of every
    installed package: about half a second each time); a test process scans once. The app ships none."""
    from streamlit.components.v2 import manifest_scanner

    scan = manifest_scanner.scan_component_manifests
    found = scan()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(manifest_scanner, "scan_component_manifests", lambda *args, **kwargs: list(found))
        yield


@pytest.fixture
def app(fresh_app, first_start, components_scanned_once):
    """``app()``: an AppTest of the app. Unless the test chose its own library or plugins (or already made a
    library in its data directory), the data directory starts as a first start left it (:func:`first_start`)."""
    from streamlit.testing.v1 import AppTest

    def make():
        data = Path(os.environ["NST_DATA_DIR"])
        if not any(os.environ.get(name) for name in FIRST_START_INPUTS) and not (data / "library.db").exists():
            data.mkdir(parents=True, exist_ok=True)
            for name in FIRST_START_FILES:
                shutil.copy2(first_start / name, data / name)
        return AppTest.from_file(APP, default_timeout=120)

    return make


@pytest.fixture(scope="package")
def embedded_app(tmp_path_factory):
    """The app as a user starts it (it paints in its own render thread), started once for the app's
    browser tests, which need no fresh library; each opens its own browser session on it. Its URL.

    Without the background style analysis, as every other test runs (it is set up before the tests'
    own environment, so it says so itself): at the default presets it takes the app a minute of CPU,
    spent beside the other tests; ``tests/studio/test_style_analysis.py`` checks the analysis."""
    from tests.app.browser import require_browser, running_app

    require_browser()
    with running_app(tmp_path_factory.mktemp("embedded-app"), "embedded", {"NST_STYLE_ANALYSIS": "0"}) as url:
        yield url
