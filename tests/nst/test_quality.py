"""The product works: a render looks like the painting and still shows the photo; a texture has the
painting's statistics without copying it; style scale changes the size of the strokes.

Real VGG19 weights, a real painting (one the app ships), 64 to 96 px and about twenty steps: about a second a
render. Distances are VGG19's own (see tests/nst/quality.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from nst import images, presets

from tests.factories import make_painting, make_photo
from tests.nst.quality import (at_size, content_distance, layout_correlation, starry_night, style_distance)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def painting():
    return starry_night()


@pytest.fixture(scope="module")
def photo():
    return make_photo(96, 72)


def first_and_best(render):
    """Run ``render(progress)``; returns (the first step's loss terms, the result)."""
    seen = []
    result = render(lambda p: seen.append(dict(p.losses)))
    return seen[0], result


def test_a_transfer_takes_the_paintings_style_and_keeps_the_photos_content(engine, photo, painting):
    settings = presets.get("quality", "transfer").replace(size=64, start_size=64, steps=20, tolerance=0.0)
    first, result = first_and_best(lambda progress: engine.transfer(photo, [painting], settings, progress=progress))
    assert result.losses["style"] <= first["style"] / 3
    content, style = at_size(photo, result.image), at_size(painting, result.image)
    # Still the photo: its content features are nearer the photo's than the painting's are ...
    assert content_distance(engine, result.image, content) < 0.8 * content_distance(engine, style, content)
    # ... and painted: its style statistics are nearer the painting's than the photo's are.
    assert style_distance(engine, result.image, painting) < 0.2 * style_distance(engine, content, painting)


def test_a_texture_has_the_paintings_statistics_without_copying_it(engine, painting):
    settings = presets.get("quality", "texture").replace(width=None, height=None, size=64, start_size=64, steps=20, tolerance=0.0)
    first, result = first_and_best(lambda progress: engine.texture([painting], settings, progress=progress))
    assert result.losses["style"] <= first["style"] / 3
    copy = at_size(painting, result.image)
    layers = settings.style_layers
    noise = np.random.default_rng(0).random(result.image.shape, dtype=np.float32)
    assert style_distance(engine, result.image, painting, layers) < 0.5 * style_distance(engine, noise, painting, layers)
    # Not a copy: the layout does not follow the painting's (a copy, even blurred and noisy, does).
    assert abs(layout_correlation(result.image, copy)) < 0.5
    blurred = images.resize_array(images.resize_array(copy, (16, 10)), (copy.shape[1], copy.shape[0]))
    assert layout_correlation(np.clip(blurred + 0.1 * noise, 0, 1), copy) > 0.9


def wide_stroke_share(pixels: np.ndarray, width: float = 16.0) -> float:
    """The share of an image's brightness variation in patterns wider than ``width`` pixels (its power
    spectrum below 1/width cycles per pixel): larger strokes, larger share."""
    grey = pixels @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    power = np.abs(np.fft.fft2(grey - grey.mean())) ** 2
    frequency = np.hypot(np.fft.fftfreq(grey.shape[0])[:, None], np.fft.fftfreq(grey.shape[1])[None, :])
    return float(power[(frequency > 0) & (frequency < 1 / width)].sum() / power.sum())


def test_style_scale_changes_the_size_of_the_strokes(engine):
    """The stripes of a painting (about 17 px apart) come out four times wider with a four times larger
    style scale: the painting is resized to the result's size times the scale before its statistics are
    taken."""
    stripes = make_painting(96, 96)
    base = presets.get("quality", "texture").replace(width=None, height=None, size=96, start_size=96, steps=10, tolerance=0.0, square=True)
    fine = engine.texture([stripes], base.replace(style_scale=0.5))
    wide = engine.texture([stripes], base.replace(style_scale=2.0))
    assert wide_stroke_share(wide.image) > 3 * wide_stroke_share(fine.image)
