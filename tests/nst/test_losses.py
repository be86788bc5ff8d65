"""Losses against values computed by hand with numpy."""

import numpy as np
import pytest
from keras import ops

from nst import losses
from nst.errors import ParameterError


def numpy_gram(features):
    f = features.reshape(-1, features.shape[-1]).astype(np.float64)
    return f.T @ f / f.shape[0]


def test_gram_matches_numpy():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(1, 5, 7, 4)).astype(np.float32)
    got = ops.convert_to_numpy(losses.gram(features))
    np.testing.assert_allclose(got, numpy_gram(features), rtol=1e-5, atol=1e-6)


def test_gram_of_a_tiny_example_by_hand():
    # two positions, two channels: F = [[1, 2], [3, 4]] -> F^T F / 2 = [[5, 7], [7, 10]]
    features = np.array([[[[1.0, 2.0], [3.0, 4.0]]]], dtype=np.float32)
    np.testing.assert_allclose(ops.convert_to_numpy(losses.gram(features)), [[5.0, 7.0], [7.0, 10.0]])


def test_gram_gradient_matches_autodiff_of_the_plain_formula():
    import tensorflow as tf

    rng = np.random.default_rng(1)
    features = tf.constant(rng.normal(size=(1, 3, 4, 5)).astype(np.float32))
    weights = tf.constant(rng.normal(size=(5, 5)).astype(np.float32))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(features)
        ours = tf.reduce_sum(losses.gram(features) * weights)
        flat = tf.reshape(features, (-1, 5))
        plain = tf.reduce_sum(tf.matmul(flat, flat, transpose_a=True) / 12.0 * weights)
    np.testing.assert_allclose(tape.gradient(ours, features), tape.gradient(plain, features), rtol=1e-5, atol=1e-6)


def test_style_loss_is_weighted_mean_squared_gram_difference():
    g1, t1 = np.eye(2, dtype=np.float32), np.zeros((2, 2), np.float32)
    g2, t2 = np.full((3, 3), 2.0, np.float32), np.ones((3, 3), np.float32)
    # layer 1: mean of (eye)^2 = 2/4 = 0.5; layer 2: mean of 1^2 = 1
    got = float(losses.style_loss([g1, g2], [t1, t2], [2.0, 3.0]))
    assert got == pytest.approx(2.0 * 0.5 + 3.0 * 1.0)


def test_content_loss_is_mean_squared_difference_not_squared_mean():
    a = np.array([[[[1.0, -1.0]]]], dtype=np.float32)
    b = np.zeros_like(a)
    # The tutorial's (mean(a - b))^2 would be 0 here; the mean squared difference is 1.
    assert float(losses.content_loss(a, b)) == pytest.approx(1.0)
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(1, 3, 4, 6)), rng.normal(size=(1, 3, 4, 6))
    assert float(losses.content_loss(a.astype(np.float32), b.astype(np.float32))) == pytest.approx(
        np.mean((a - b) ** 2), rel=1e-5)


def test_tv_loss_by_hand():
    image = np.zeros((1, 2, 3, 3), dtype=np.float32)
    image[0, 0, 1, :] = 1.0  # one bright pixel in the top row
    # dx over 2x2x3 pairs: row 0 has steps 1 and -1 in 3 channels -> sum of squares 6, mean 6/12
    # dy over 1x3x3 pairs: one column differs by 1 in 3 channels -> 3/9
    assert float(losses.tv_loss(image)) == pytest.approx(6 / 12 + 3 / 9)
    rng = np.random.default_rng(3)
    image = rng.random((1, 5, 6, 3)).astype(np.float32)
    expected = np.mean(np.diff(image, axis=2) ** 2) + np.mean(np.diff(image, axis=1) ** 2)
    assert float(losses.tv_loss(image)) == pytest.approx(expected, rel=1e-5)


def test_blend_mixes_by_normalised_weights():
    a = {"l": np.ones((2, 2), np.float32)}
    b = {"l": np.full((2, 2), 3.0, np.float32)}
    np.testing.assert_allclose(losses.blend([a, b], [1, 3])["l"], np.full((2, 2), 2.5))


@pytest.mark.parametrize("call, message", [
    (lambda: losses.gram(np.zeros((2, 3, 3, 4), np.float32)), "one image"),
    (lambda: losses.gram(np.zeros((3, 4), np.float32)), "shaped"),
    (lambda: losses.content_loss(np.zeros((1, 2, 2, 3), np.float32), np.zeros((1, 2, 2, 4), np.float32)), "differ"),
    (lambda: losses.style_loss([np.eye(2)], [np.eye(2), np.eye(2)], [1.0]), "targets"),
    (lambda: losses.style_loss([np.eye(2)], [np.eye(2)], [1.0, 2.0]), "weights"),
    (lambda: losses.blend([{"l": np.eye(2)}], [1.0, 2.0]), "Blend weights: 2 values for 1 style"),
    (lambda: losses.blend([{"l": np.eye(2)}, {"l": np.eye(2)}], [0.0, 0.0]), "must not all be 0"),
])
def test_bad_inputs_are_refused_clearly(call, message):
    with pytest.raises(ParameterError, match=message):
        call()


def test_content_balance_follows_the_raw_energy_ratio_of_the_targets():
    from nst.losses import BALANCE_REFERENCE, content_balance

    rng = np.random.default_rng(0)
    content = rng.random((1, 8, 8, 16)).astype(np.float32)
    grams = [rng.random((c, c)).astype(np.float32) for c in (4, 8)]
    assert content_balance(content, grams, 0.0) == 1.0
    raw = 5 * np.mean(content.astype(np.float64) ** 2) / sum(100 * np.mean(g.astype(np.float64) ** 2) / g.shape[0] ** 2
                                                             for g in grams)
    assert content_balance(content, grams, 1.0) == pytest.approx(raw / BALANCE_REFERENCE, rel=1e-6)
    # A painting with Gram matrices a quarter as strong leaves more of the photo: 4x the energy ratio,
    # 2x the weight at power 0.5.
    weak = [g / 2 for g in grams]
    assert content_balance(content, weak, 0.5) == pytest.approx(2 * content_balance(content, grams, 0.5), rel=1e-6)
