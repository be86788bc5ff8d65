"""Fixtures for the app's tests: a fresh app state per test, and generated images."""

from __future__ import annotations

import io
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


@pytest.fixture
def app(fresh_app):
    from streamlit.testing.v1 import AppTest

    def make():
        return AppTest.from_file(APP, default_timeout=120)

    return make


@pytest.fixture(scope="package")
def embedded_app(tmp_path_factory):
    """The app as a user starts it (it paints in its own render thread), started once for the app's
    browser tests, which need no fresh library; each opens its own browser session on it. Its URL."""
    from tests.app.browser import require_browser, running_app

    require_browser()
    with running_app(tmp_path_factory.mktemp("embedded-app"), "embedded") as url:
        yield url
