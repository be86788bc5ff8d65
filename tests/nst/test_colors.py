"""Colour statistics: the palette start (the photo in the painting's colours) and its blend of several styles."""

import numpy as np
import pytest

from nst import colors, images
from nst.engine import Engine
from nst.settings import Settings
from tests.factories import make_painting, make_photo
from tests.nst.quality import starry_night


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
    with pytest.raises(Exception, match="init must be one of content, palette, tones, instant, noise"):
        Settings(init="sepia")


def test_the_tones_start_gives_each_tone_of_the_photo_the_paintings_colour_of_the_same_brightness():
    # a photo: a blue sky (bright) over dark ground; a painting: dark blue below, bright orange above
    photo = np.zeros((40, 30, 3), np.float32)
    photo[:20] = (0.45, 0.65, 0.95)
    photo[20:] = np.linspace(0.05, 0.25, 20)[:, None, None]
    painting = np.zeros((50, 50, 3), np.float32)
    painting[:25], painting[25:] = (0.95, 0.55, 0.10), (0.05, 0.10, 0.35)
    toned = colors.tone_map(photo, [painting], [1.0])
    assert toned.shape == photo.shape and toned.dtype == np.float32
    assert np.allclose(toned[:20].mean(axis=(0, 1)), (0.95, 0.55, 0.10), atol=0.1)  # the sky is the painting's
    assert np.allclose(toned[30:].mean(axis=(0, 1)), (0.05, 0.10, 0.35), atol=0.05)
    light = colors.rgb_to_yiq(toned)[..., 0]
    assert light[:20].min() > light[20:].max()  # light and shade keep their order
    # a blend pools the paintings by weight: mostly green, the sky takes the green painting's colour
    green = np.full((20, 20, 3), (0.2, 0.8, 0.2), np.float32)
    blended = colors.tone_map(photo, [painting, green], [0.1, 0.9])
    assert np.allclose(blended[:20].mean(axis=(0, 1)), (0.2, 0.8, 0.2), atol=0.1)
    assert np.allclose(colors.tone_map(photo, [painting, green], [1.0, 0.0]), toned, atol=1e-6)
    # pixels of one brightness take one colour: a flat sky stays flat, whatever the painting
    starry = images.to_array(starry_night())
    flat = colors.tone_map(photo, [starry], [1.0])
    assert np.ptp(flat[:20].reshape(-1, 3), axis=0).max() < 1e-6
    assert np.ptp(colors.tone_map(np.full((8, 8, 3), 0.5, np.float32), [starry], [1.0]).reshape(-1, 3), axis=0).max() < 1e-6


def test_the_tones_start_keeps_the_photos_colours_when_asked():
    engine = Engine.__new__(Engine)
    photo, painting = make_photo(96, 72), make_painting(80, 80, seed=3)
    from nst.targets import StyleInput

    style = [StyleInput.of(painting)]
    plain = engine._initial(Settings(init="content"), (96, 72), style, photo, False, [1.0])
    toned = engine._initial(Settings(init="tones"), (96, 72), style, photo, False, [1.0])
    assert not np.allclose(toned, plain)
    assert np.array_equal(engine._initial(Settings(init="tones", preserve_colors=True), (96, 72), style, photo,
                                          False, [1.0]), plain)
