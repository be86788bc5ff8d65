"""Fixtures for the engine's tests: generated images (the shared engine is in tests/conftest.py)."""

from __future__ import annotations

import pytest
from PIL import Image

from tests.factories import make_painting, make_photo


@pytest.fixture
def photo() -> Image.Image:
    return make_photo()


@pytest.fixture
def painting() -> Image.Image:
    return make_painting()
