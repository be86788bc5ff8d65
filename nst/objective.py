"""The compiled functions of a render: style targets, content targets, and the loss with its gradient.

Each is traced once for a choice of layers (of terms, :mod:`nst.terms`) and then serves every image
size (the engine keeps them). The terms' targets and weights are arguments, not constants, so one
compiled function serves every style, every photo and every scale. A tileable texture larger than
the engine computes whole uses the tile-by-tile functions of :mod:`nst.tiling` instead.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from . import backend, losses
from keras import ops  # noqa: E402  (after nst.backend has configured TensorFlow)
from .features import FeatureExtractor
from .optimize import Objective
from .terms import Term, layers as read_layers


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


def compile_objective(extractor: FeatureExtractor, terms: Sequence[Term], wrap: bool = False):
    """``fn(image, *arguments)`` -> ([total, value of each term], None, gradient with respect to the image),
    with one argument list per term (its :meth:`~nst.terms.Term.arguments`, as tensors).

    The features of every layer the terms read are computed once. With ``wrap`` the network (and the
    total variation) see the image as a torus.
    """
    terms = tuple(terms)
    names = read_layers(terms)
    signature = [backend.spec([1, None, None, 3])] + [term.signature() for term in terms]

    def objective(image, *arguments):
        features = dict(zip(names, extractor.raw(image, names, wrap))) if names else {}
        values = [term.value(image, features, args, wrap) for term, args in zip(terms, arguments)]
        # One vector [total, each term]: a single transfer back to Python per step.
        return ops.stack([sum(values)] + values), None

    return backend.compile_value_and_grad(objective, signature)


def bind(fn, terms: Sequence[Term], arguments: Sequence) -> Objective:
    """A compiled objective with its terms' arguments (as :func:`nst.terms.tensors` gives them), as the
    optimizer's numpy function ``image -> (loss, {term's name: value}, gradient)``."""
    names = [term.name for term in terms]

    def fun(image: np.ndarray):
        values, _, grad = fn(backend.to_tensor(image[None]), *arguments)
        values = backend.to_numpy(values).tolist()
        return values[0], dict(zip(names, values[1:])), backend.to_numpy(grad)[0]

    return fun
