"""A tileable texture's loss and its exact gradient, computed tile by tile in bounded memory.

VGG19's activations at 2048 x 2048 px would take tens of GB. A texture's loss
is a function of Gram matrices, and a Gram matrix is a sum over positions, so
the canvas (a torus) is cut into tiles, each read with a margin (``halo``) of
its wrapped-around neighbours that covers the deepest layer's receptive field.
The features inside a tile's interior are then exactly the features of the
whole canvas there, and:

1. a forward pass per tile sums the interiors' Gram matrices into the canvas'
   Grams ``G``;
2. the loss and ``dL/dG`` follow from ``G`` and the targets (a few small
   matrices; each term computed from Gram matrices says how, :meth:`nst.terms.Term.of_grams`);
3. a forward and backward pass per tile turns ``dL/dG`` into the gradient of
   its window's pixels, added back (wrapped) into the canvas' gradient.

Memory is that of one tile whatever the canvas' size; the price is a second
forward pass and the margins. The total-variation term (a term that reads only
the image) is computed on the whole canvas (three channels: small); a term that
is neither is refused (:func:`check`). Tile origins and margins are multiples
of 16 px, so pooling windows line up with the canvas'; when the canvas' sides
are multiples of 16 too, loss and gradient equal the untiled torus network's
(up to rounding; a test checks it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from . import backend, losses
from keras import ops  # noqa: E402  (after nst.backend)
from .errors import ParameterError
from .features import CHANNELS, FeatureExtractor
from .pyramid import stride
from .terms import Term, layers as read_layers, tensors
from .weights import LAYERS

#: Tile origins and margins are multiples of this (VGG19's deepest pooling stride).
ALIGN = 16


def receptive_radius(layers: Sequence[str]) -> int:
    """Pixels on each side of a position that can reach the deepest of ``layers``' features."""
    deepest = max(LAYERS.index(name) for name in layers)
    radius, step, block = 0, 1, 1
    for name in LAYERS[: deepest + 1]:
        this_block = int(name.split("_")[0].removeprefix("block"))
        if this_block != block:  # a 2x2 pooling between blocks
            radius += step
            step *= 2
            block = this_block
        radius += step  # a 3x3 convolution
    return radius


def halo(layers: Sequence[str]) -> int:
    return ALIGN * math.ceil(receptive_radius(layers) / ALIGN)


def spans(length: int, tile: int) -> list[tuple[int, int]]:
    """(start, size) of the tiles along one side: as equal as possible, starts on multiples of ALIGN."""
    count = max(1, math.ceil(length / tile))
    if count == 1:
        return [(0, length)]
    size = ALIGN * math.ceil(length / count / ALIGN)
    starts = list(range(0, length, size))
    return [(s, min(size, length - s)) for s in starts]


@dataclass(frozen=True)
class Tile:
    top: int
    left: int
    height: int
    width: int


def plan(width: int, height: int, tile: int) -> list[Tile]:
    return [Tile(t, l, h, w) for t, h in spans(height, tile) for l, w in spans(width, tile)]


def positions(layer: str, height: int, width: int) -> int:
    """Feature positions of ``layer`` inside an interior of ``height`` x ``width`` px (aligned origin)."""
    s = stride(layer)
    return math.ceil(height / s) * math.ceil(width / s)


def _interior(features, box, layer: str):
    s = stride(layer)
    top, left, height, width = box[0] // s, box[1] // s, (box[0] + box[2] + s - 1) // s, (box[1] + box[3] + s - 1) // s
    return features[:, top:height, left:width, :]


def build(extractor: FeatureExtractor, layers: tuple[str, ...]):
    """The two compiled functions: a window's interior Grams, and the gradient of ``<U, G>`` for given
    ``U`` per layer (both traced once for every window size)."""
    window_spec = backend.spec([1, None, None, 3])
    box_spec = backend.spec([4], "int32")

    def grams(window, box):
        feats = extractor.raw(window, layers, wrap=True)
        return [losses.gram(_interior(f, box, name)) for f, name in zip(feats, layers)]

    def inner(window, box, upstream):
        feats = extractor.raw(window, layers, wrap=True)
        total = 0.0
        for f, name, u in zip(feats, layers, upstream):
            total = total + ops.sum(losses.gram(_interior(f, box, name)) * u)
        return total, None

    upstream_specs = [backend.spec([CHANNELS[n], CHANNELS[n]]) for n in layers]
    return (backend.compile_forward(grams, [window_spec, box_spec]),
            backend.compile_value_and_grad(inner, [window_spec, box_spec, upstream_specs]))


def build_whole(term: Term):
    """A term that reads only the image (``whole_image``), compiled on the whole canvas as a torus:
    ``fn(image, arguments) -> (value, None, gradient)``."""
    def whole(image, arguments):
        return term.value(image, {}, arguments, True), None

    return backend.compile_value_and_grad(whole, [backend.spec([1, None, None, 3]), term.signature()])


def check(terms: Sequence[Term]) -> None:
    """Refuse terms that cannot be computed tile by tile (neither of Gram matrices nor of the image alone)."""
    for term in terms:
        if term.of_grams is None and not term.whole_image:
            raise ParameterError(f"The {term.name} term cannot be computed tile by tile, as a seamless texture "
                                 f"this large is: set {term.weight} to 0, or paint a smaller texture.")


def gram_layers(terms: Sequence[Term]) -> tuple[str, ...]:
    """The layers whose Gram matrices the tiles sum (those of the terms computed from Gram matrices)."""
    return read_layers([term for term in terms if term.of_grams is not None])


def _wrapped(start: int, length: int, size: int) -> np.ndarray:
    return np.arange(start, start + length) % size


class TiledObjective:
    """``fun(image) -> (loss, terms, gradient)`` for the optimizer, one tile at a time.

    ``functions`` are :func:`build`'s for :func:`gram_layers` of ``terms``, ``whole`` a :func:`build_whole`
    function for each term that reads the image alone; ``arguments`` are the terms' (numpy) arguments.
    """

    def __init__(self, functions, whole: Mapping[Term, object], terms: Sequence[Term], arguments: Sequence,
                 size: tuple[int, int], tile: int):
        check(terms)
        self.grams_fn, self.grad_fn = functions
        self.terms = tuple(terms)
        self.arguments = list(arguments)
        self.whole = {term: (whole[term], tensors(args)) for term, args in zip(self.terms, self.arguments)
                      if term.of_grams is None}
        self.layers = gram_layers(self.terms)
        width, height = size
        self.size = size
        self.halo = halo(self.layers)
        self.tiles = plan(width, height, tile)
        self.counts = [[positions(n, t.height, t.width) for n in self.layers] for t in self.tiles]
        self.totals = [sum(c[i] for c in self.counts) for i in range(len(self.layers))]

    def _window(self, image: np.ndarray, t: Tile):
        rows = _wrapped(t.top - self.halo, t.height + 2 * self.halo, image.shape[0])
        cols = _wrapped(t.left - self.halo, t.width + 2 * self.halo, image.shape[1])
        box = np.array([self.halo, self.halo, t.height, t.width], dtype=np.int32)
        return rows, cols, backend.to_tensor(image[rows][:, cols][None]), backend.to_tensor(box, "int32")

    def __call__(self, image: np.ndarray):
        sums = [np.zeros((CHANNELS[n], CHANNELS[n]), dtype=np.float64) for n in self.layers]
        for t, counts in zip(self.tiles, self.counts):
            _, _, window, box = self._window(image, t)
            for i, g in enumerate(self.grams_fn(window, box)):
                sums[i] += backend.to_numpy(g).astype(np.float64) * counts[i]
        grams = dict(zip(self.layers, (s / n for s, n in zip(sums, self.totals))))
        # Each Gram term's value and its derivative dL/dG, added up per layer.
        values: dict[str, float] = {}
        d_grams = {n: 0.0 for n in self.layers}
        for term, args in zip(self.terms, self.arguments):
            if term.of_grams is not None:
                values[term.name], derivatives = term.of_grams([grams[n] for n in term.layers], args)
                for name, d in zip(term.layers, derivatives):
                    d_grams[name] = d_grams[name] + d
        grad = np.zeros(image.shape, dtype=np.float32)
        for t, counts in zip(self.tiles, self.counts):
            rows, cols, window, box = self._window(image, t)
            upstream = [backend.to_tensor((d_grams[name] * (c / n)).astype(np.float32))
                        for name, c, n in zip(self.layers, counts, self.totals)]
            _, _, g = self.grad_fn(window, box, upstream)
            np.add.at(grad, (rows[:, None], cols[None, :]), backend.to_numpy(g)[0])
        for term, (fn, args) in self.whole.items():
            value, _, term_grad = fn(backend.to_tensor(image[None]), args)
            values[term.name] = float(backend.to_numpy(value))
            grad += backend.to_numpy(term_grad)[0]
        values = {term.name: values[term.name] for term in self.terms}  # in the terms' order
        return sum(values.values()), values, grad
