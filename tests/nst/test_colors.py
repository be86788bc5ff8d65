"""Colour statistics: the palette start (the photo in the painting's colours) and its blend of several styles."""

import numpy as np
import pytest

from nst import colors, images
from nst.engine import Engine
from nst.settings import Settings
from tests.factories import make_painting, make_photo


def test_match_colors_moves_mean_and_covariance_and_keeps_the_shapes():
    photo = images.to_array(make_photo(96, 72))
    painting = images.to_array(make_painting(80, 80, seed=3))
    mean, cov = colors.color_stats(painting)
    matched = colors.match_colors(photo, mean, cov)
    got_mean, got_cov = colors.color_stats(matched)
    assert np.allclose(got_mean, mean, atol=0.03) and np.allclose(got_cov, cov, atol=0.04)  # less: clipped to [0, 1]
    assert not np.allclose(colors.color_stats(photo)[0], mean, atol=0.03)  # it did move
    luminance = lambda x: x @ np.array([0.299, 0.587, 0.114])  # noqa: E731
    assert np.corrcoef(luminance(photo).ravel(), luminance(matched).ravel())[0, 1] > 0.6  # the same picture


def test_blended_stats_pool_the_pixels_by_weight():
    red, blue = np.zeros((8, 8, 3), np.float32), np.zeros((8, 8, 3), np.float32)
    red[..., 0], blue[..., 2] = 1.0, 1.0
    mean, cov = colors.blended_stats([red, blue], [3.0, 1.0])
    assert np.allclose(mean, [0.75, 0.0, 0.25])
    assert cov[0, 0] == pytest.approx(0.75 * 0.25, abs=1e-5) and cov[0, 2] == pytest.approx(-0.75 * 0.25, abs=1e-5)


def test_the_palette_start_takes_the_paintings_colours_unless_the_photos_are_kept():
    engine = Engine.__new__(Engine)  # _initial needs no network
    photo, painting = make_photo(96, 72), make_painting(80, 80, seed=3)
    from nst.targets import StyleInput

    style = [StyleInput.of(painting)]
    start = engine._initial(Settings(init="palette"), (96, 72), style, photo, False, [1.0])
    plain = engine._initial(Settings(init="content"), (96, 72), style, photo, False, [1.0])
    target = colors.color_stats(images.to_array(painting))[0]
    assert np.abs(colors.color_stats(start)[0] - target).max() < np.abs(colors.color_stats(plain)[0] - target).max() / 2
    kept = engine._initial(Settings(init="palette", preserve_colors=True), (96, 72), style, photo, False, [1.0])
    assert np.array_equal(kept, plain)
    with pytest.raises(Exception, match="init must be one of content, palette, noise"):
        Settings(init="sepia")
