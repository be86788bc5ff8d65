"""Style, content and total-variation losses, written with ``keras.ops``.

Each function checks the shapes it is given (where they are known) and raises
:class:`~nst.errors.ParameterError` with a plain message. Features are shaped
(1, H, W, C) or (H, W, C); images (1, H, W, 3) or (H, W, 3).

* :func:`gram`: ``F^T F / positions`` for features ``F`` (positions x channels).
* :func:`style_loss`: weighted sum over layers of the mean squared Gram difference.
* :func:`content_loss`: mean squared feature difference. (The tutorial we
  started from squared the *mean* difference, which hardly constrains content.)
* :func:`tv_loss`: ``mean(dx^2) + mean(dy^2)`` over neighbouring pixels (with
  ``wrap=True`` the last column's neighbour is the first, and the last row's the
  first row: the total variation of a tile that repeats).
* :func:`blend`: several styles' Gram matrices mixed by weights.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from keras import ops

from . import params
from .errors import ParameterError


def _static_shape(x) -> tuple:
    shape = getattr(x, "shape", None)
    return tuple(shape) if shape is not None else np.shape(x)


def _as_4d(features, what: str):
    shape = _static_shape(features)
    if len(shape) == 3:
        return ops.expand_dims(features, 0)
    if len(shape) != 4:
        raise ParameterError(f"{what} must be shaped (1, H, W, C) or (H, W, C), got {shape}.")
    if shape[0] is not None and shape[0] != 1:
        raise ParameterError(f"{what} must hold one image, got a batch of {shape[0]}.")
    return features


def gram(features):
    """Gram matrix ``F^T F / (H * W)`` of (1, H, W, C) features -> float32 (C, C).

    The product runs in the features' own dtype (bfloat16 under mixed
    precision). Its gradient is written out, ``dF = F (dG + dG^T) / (H W)``:
    one matrix product instead of the two that automatic differentiation of
    ``F^T F`` would spend, which is a tenth of a VGG19 step at 512 px.
    """
    features = _as_4d(features, "Features")
    channels = _static_shape(features)[-1]
    if channels is None:
        raise ParameterError("Features need a known number of channels.")
    return _gram(ops.reshape(features, (-1, channels)))


@ops.custom_gradient
def _gram(flat):
    # The division happens in float32: a bfloat16 position count (8 bits of mantissa) would be
    # off by up to 0.4%, differently for the image and for the style target.
    positions = ops.cast(ops.shape(flat)[0], "float32")
    product = ops.cast(ops.matmul(ops.transpose(flat), flat), "float32") / positions

    def grad(*args, upstream=None):
        upstream = args[0] if upstream is None else upstream
        upstream = ops.cast((upstream + ops.transpose(upstream)) / positions, flat.dtype)
        return ops.matmul(flat, upstream)

    return product, grad


def mean_squared(a, b, what: str = "Arrays"):
    sa, sb = _static_shape(a), _static_shape(b)
    if len(sa) != len(sb) or any(x is not None and y is not None and x != y for x, y in zip(sa, sb)):
        raise ParameterError(f"{what} differ in shape: {sa} and {sb}.")
    return ops.mean(ops.square(ops.cast(a, "float32") - ops.cast(b, "float32")))


def style_loss(grams: Sequence, targets: Sequence, layer_weights: Sequence[float] | object):
    """``sum_l w_l * mean((G_l - T_l)^2)`` over layers."""
    if len(grams) != len(targets):
        raise ParameterError(f"Got {len(grams)} Gram matrices but {len(targets)} targets.")
    if not grams:
        raise ParameterError("The style loss needs at least one layer.")
    weights = ops.cast(ops.convert_to_tensor(layer_weights), "float32")
    if _static_shape(weights) not in ((len(grams),), (None,)):
        raise ParameterError(f"Got {len(grams)} style layers but weights shaped {_static_shape(weights)}.")
    total = 0.0
    for index, (g, t) in enumerate(zip(grams, targets)):
        total = total + weights[index] * mean_squared(g, t, "A Gram matrix and its target")
    return total


def content_loss(features, target):
    """Mean squared difference between features and the content's features."""
    return mean_squared(features, target, "Content features and their target")


def tv_loss(image, wrap: bool = False):
    """Total variation ``mean(dx^2) + mean(dy^2)``, as in the tutorial; ``wrap``: across the edges too."""
    image = _as_4d(image, "The image")
    if wrap:
        dy = ops.concatenate([image[:, 1:], image[:, :1]], axis=1) - image
        dx = ops.concatenate([image[:, :, 1:], image[:, :, :1]], axis=2) - image
    else:
        dy = image[:, 1:, :, :] - image[:, :-1, :, :]
        dx = image[:, :, 1:, :] - image[:, :, :-1, :]
    return ops.mean(ops.square(dx)) + ops.mean(ops.square(dy))


def blend_weights(weights: Sequence[float]) -> np.ndarray:
    """Blend weights checked (by :func:`nst.params.blend_weights`) and normalised to sum to 1."""
    w = np.asarray(params.blend_weights(weights, name="Blend weights"), dtype=np.float64)
    if not w.size:
        raise ParameterError("Blending needs at least one style.")
    return w / w.sum()


def blend(gram_sets: Sequence[Mapping[str, np.ndarray]], weights: Sequence[float]) -> dict[str, np.ndarray]:
    """Mix several styles' Gram matrices, layer by layer, by (normalised) weights."""
    if not gram_sets:
        raise ParameterError("Blending needs at least one style.")
    w = blend_weights(params.blend_weights(weights, len(gram_sets), name="Blend weights"))
    layers = list(gram_sets[0])
    for grams in gram_sets[1:]:
        if list(grams) != layers:
            raise ParameterError("Styles to blend must have Gram matrices for the same layers.")
    return {
        layer: sum(wi * np.asarray(grams[layer], dtype=np.float64) for wi, grams in zip(w, gram_sets)).astype(np.float32)
        for layer in layers
    }


#: The energy ratio (see :func:`content_balance`) at which the balance leaves the content weight as it
#: is: about that of a photo beside The Starry Night, the painting the defaults were tuned on.
BALANCE_REFERENCE = 0.01


#: Entries squared at a time by :func:`mean_square` (its float64 copy of them: 64 MB; the photo's features
#: at 1024x768 px, 6.3 million, are one block, as they were before).
SQUARE_BLOCK = 1 << 23


def mean_square(array: np.ndarray) -> float:
    """The mean of an array's squares, in float64, computed a block at a time: the photo's features at a print
    size (400 MB in float32 at 4096x3072 px) are never copied whole into float64. An array of at most one
    block is computed as one ``np.mean``."""
    flat = np.asarray(array).reshape(-1)
    if flat.size <= SQUARE_BLOCK:
        return float(np.mean(np.square(flat, dtype=np.float64)))
    total = 0.0
    for start in range(0, flat.size, SQUARE_BLOCK):
        total += float(np.sum(np.square(flat[start:start + SQUARE_BLOCK], dtype=np.float64)))
    return total / flat.size


def content_balance(content_target: np.ndarray, style_targets, power: float) -> float:
    """A factor for the (normalised) content weight from the energy of the two targets.

    Normalising each term by its target's magnitude makes the weights scale-free, and also forgets
    that a painting with weak Gram matrices (pale, smooth) beside a photo with strong features
    should leave more of the photo, as the raw objective of Gatys et al. does (content weight 5 on
    the mean squared features, style weight 100 on the mean squared Gram matrices divided by their
    channels squared, the reference implementation's defaults). The factor is that raw ratio over
    BALANCE_REFERENCE, to ``power`` (0: 1)."""
    if power <= 0:
        return 1.0
    content = 5.0 * mean_square(content_target)
    style = sum(100.0 * float(np.mean(np.square(g, dtype=np.float64))) / g.shape[-1] ** 2 for g in style_targets)
    return float((content / max(style, 1e-30) / BALANCE_REFERENCE) ** power)
