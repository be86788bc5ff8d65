"""The histogram loss (nst.terms.Histogram, Risser et al. 2017): off at weight 0, and with a weight the
result's per-channel feature histograms come closer to the painting's."""

from __future__ import annotations

import numpy as np
import pytest

from nst import backend, presets, terms
from nst.errors import ParameterError
from tests.factories import make_painting, make_photo


def test_the_loss_is_the_distance_to_the_histogram_matched_remap_and_its_gradient_leads_there():
    tf = backend.tf
    rng = np.random.default_rng(0)
    features = rng.random((1, 6, 5, 3)).astype(np.float32)
    table = terms.Histogram.quantiles(rng.normal(size=(1, 9, 9, 3))).astype(np.float32)
    image = tf.constant(features)
    with tf.GradientTape() as tape:
        tape.watch(image)
        value = terms.histogram_loss(image, tf.constant(table))
    gradient = tape.gradient(value, image).numpy().reshape(-1, 3)
    # Histogram matching by sorting: the value of rank r becomes the target's quantile at rank r.
    flat = features.reshape(-1, 3)
    ranks = np.clip((np.arange(len(flat)) + 0.5) * len(table) / len(flat) - 0.5, 0, len(table) - 1)
    remap = np.empty_like(flat)
    for c in range(3):
        remap[np.argsort(flat[:, c]), c] = np.interp(ranks, np.arange(len(table)), table[:, c])
    assert float(value) == pytest.approx(np.mean((flat - remap) ** 2), rel=1e-5)
    np.testing.assert_allclose(gradient, 2 * (flat - remap) / flat.size, atol=1e-6)


def _histogram_distance(engine, image: np.ndarray, painting: np.ndarray) -> float:
    """Mean over the term's layers and channels of the squared distance between the image's and the
    painting's quantiles, relative to the painting's magnitude."""
    out = []
    for layer in terms.Histogram.LAYERS:
        ours = terms.Histogram.quantiles(engine.features(image, layer))
        theirs = terms.Histogram.quantiles(engine.features(painting, layer))
        out.append(np.mean((ours - theirs) ** 2) / np.mean(theirs ** 2))
    return float(np.mean(out))


@pytest.fixture(scope="module")
def pair():
    return make_photo(64, 48), make_painting(64, 64, seed=3)


def test_at_weight_zero_the_render_has_no_histogram_term(engine, pair):
    photo, painting = pair
    settings = presets.settings("transfer", {"size": 64, "steps": 4, "start_size": 64})
    assert settings.histogram_weight == 0 and "histogram" not in [t.name for t in terms.of(settings, False)]
    result = engine.transfer(photo, [painting], settings)
    assert "histogram" not in result.losses
    again = engine.transfer(photo, [painting], settings.replace(histogram_weight=0.0))
    assert np.array_equal(result.image, again.image)


def test_with_a_weight_the_results_feature_histograms_move_towards_the_paintings(engine, pair):
    photo, painting = pair
    settings = presets.settings("transfer", {"size": 64, "steps": 12, "start_size": 64})
    without = engine.transfer(photo, [painting], settings)
    with_term = engine.transfer(photo, [painting], settings.replace(histogram_weight=5.0))
    assert with_term.losses["histogram"] > 0
    assert list(with_term.losses) == ["style", "tv", "content", "histogram", "total"]
    target = np.asarray(painting, dtype=np.float32) / 255
    before = _histogram_distance(engine, without.image, target)
    after = _histogram_distance(engine, with_term.image, target)
    assert after < 0.8 * before, (before, after)


def test_a_texture_painted_tile_by_tile_refuses_the_term_before_it_starts(engine, pair):
    _, painting = pair
    settings = presets.settings("texture", {"size": "1088x1088", "steps": 1}).replace(histogram_weight=1.0)
    with pytest.raises(ParameterError, match="histogram_weight"):
        engine.texture([painting], settings)
