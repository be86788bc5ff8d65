"""The compiled functions of a render: style targets, content targets, and the loss with its gradient.

Each is traced once for a choice of layers and then serves every image size (the engine keeps them).
The objective's targets and weights are arguments, not constants, so one compiled function serves
every style, every photo and every scale. A tileable texture larger than the engine computes whole
uses the tile-by-tile functions of :mod:`nst.tiling` instead.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from . import backend, losses
from keras import ops  # noqa: E402  (after nst.backend has configured TensorFlow)
from .features import CHANNELS, FeatureExtractor
from .optimize import Objective

#: The weighted terms the objective returns after the total, in this order (``content`` for transfers).
TERMS = ("style", "tv", "content")


def compile_grams(extractor: FeatureExtractor, layers: tuple[str, ...]):
    """``fn(image) -> [Gram matrix per layer]`` for a (1, H, W, 3) image in [0, 1]: a style's targets."""
    def grams(image):
        return [losses.gram(f) for f in extractor.raw(image, layers)]

    return backend.compile_forward(grams, [backend.spec([1, None, None, 3])])


def compile_features(extractor: FeatureExtractor, layer: str):
    """``fn(image) -> features`` of one layer, (1, h, w, C) float32: a photo's content target."""
    def content(image):
        return extractor(image, (layer,))[0]

    return backend.compile_forward(content, [backend.spec([1, None, None, 3])])


def compile_objective(extractor: FeatureExtractor, style_layers: tuple[str, ...], content_layer: str | None,
                      wrap: bool = False):
    """``fn(image, style_targets, style_weights, tv_weight[, content_target, content_weight])`` ->
    ([total, style, tv(, content)], None, gradient with respect to the image).

    ``style_weights`` has one weight per style layer; without ``content_layer`` (textures) there is no
    content term. With ``wrap`` the network and the total variation see the image as a torus.
    """
    names = style_layers + ((content_layer,) if content_layer and content_layer not in style_layers else ())
    image_spec = backend.spec([1, None, None, 3])
    gram_specs = [backend.spec([ch, ch]) for ch in _channels(style_layers)]
    signature = [image_spec, gram_specs, backend.spec([len(style_layers)]), backend.spec([])]
    if content_layer:
        signature += [backend.spec([1, None, None, CHANNELS[content_layer]]), backend.spec([])]
        content_index = names.index(content_layer)

    def objective(image, style_targets, style_weights, tv_weight, *content):
        feats = extractor.raw(image, names, wrap)
        grams = [losses.gram(f) for f in feats[: len(style_layers)]]
        style = losses.style_loss(grams, style_targets, style_weights)
        tv = tv_weight * losses.tv_loss(image, wrap)
        terms = [style, tv]
        if content:
            content_target, content_weight = content
            terms.append(content_weight * losses.content_loss(feats[content_index], content_target))
        # One vector [total, style, tv(, content)]: a single transfer back to Python per step.
        return ops.stack([sum(terms)] + terms), None

    return backend.compile_value_and_grad(objective, signature)


def bind(fn, args: Sequence) -> Objective:
    """A compiled objective with its targets and weights (``args``), as the optimizer's numpy function
    ``image -> (loss, terms, gradient)``."""

    def fun(image: np.ndarray):
        values, _, grad = fn(backend.to_tensor(image[None]), *args)
        values = backend.to_numpy(values).tolist()
        return values[0], dict(zip(TERMS, values[1:])), backend.to_numpy(grad)[0]

    return fun


def _channels(layers: Sequence[str]) -> list[int]:
    return [CHANNELS[name] for name in layers]
