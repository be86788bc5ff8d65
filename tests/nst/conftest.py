"""Fixtures for the engine's tests: generated images and a float32 engine (the shared engine is in
tests/conftest.py)."""

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


@pytest.fixture(scope="session")
def engine32(engine):
    """An engine in float32, for the tests that check exactness (bfloat16 rounds differently at different
    positions): the session's engine when it is float32 already, else one more, shared by those tests."""
    if engine.extractor.precision == "float32":
        return engine
    from nst.engine import Engine

    return Engine(precision="float32")
