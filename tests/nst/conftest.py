"""Fixtures for the engine's tests: generated images and one shared engine."""

from __future__ import annotations

import pytest
from PIL import Image

from tests.factories import make_painting, make_photo


@pytest.fixture(scope="session")
def engine():
    from nst.engine import Engine

    return Engine()


@pytest.fixture
def photo() -> Image.Image:
    return make_photo()


@pytest.fixture
def painting() -> Image.Image:
    return make_painting()
