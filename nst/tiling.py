"""A large render's loss and its exact gradient, computed tile by tile in bounded memory.

Textures (on a torus, ``wrap``) and, at print sizes, transfers (an ordinary image, zero padding at its
edges) use the same objective: below for the torus; a transfer's tile reads the margin of its neighbours
that the image has (none past its edges, where the whole image's network sees zero padding too), and the
photo's content (a mean over positions of each position's features, :meth:`nst.terms.Term.on_tile`) is
computed on each tile's interior against the photo's features there, in the same pass as the gradient.

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


def feature_span(layer: str, start: int, length: int) -> slice:
    """The rows (or columns) of ``layer``'s features of an ordinary (unwrapped) image that an interior
    from ``start`` (a multiple of ALIGN) over ``length`` px holds: VGG19 pools without padding, so a
    last, partial position is dropped, in the whole image as in a tile ending at its edge."""
    s = stride(layer)
    return slice(start // s, (start + length) // s)


def window_span(start: int, length: int, margin: int, size: int) -> tuple[int, int]:
    """An unwrapped window along one side: the interior and up to ``margin`` px of each neighbour, cut at
    the image's edges (then the window's zero padding is the image's own)."""
    return max(0, start - margin), min(size, start + length + margin)


def _interior(features, box, layer: str):
    s = stride(layer)
    top, left, height, width = box[0] // s, box[1] // s, (box[0] + box[2] + s - 1) // s, (box[1] + box[3] + s - 1) // s
    return features[:, top:height, left:width, :]


def build(extractor: FeatureExtractor, layers: tuple[str, ...], local: Sequence[Term] = (), wrap: bool = True):
    """The two compiled functions: a window's interior Grams, and the gradient of ``<U, G>`` for given
    ``U`` per layer plus each ``local`` term's value on the interior (both traced once for every window
    size). The second returns ``[total, each local term's value]``."""
    window_spec = backend.spec([1, None, None, 3])
    box_spec = backend.spec([4], "int32")
    local = tuple(local)
    every = tuple(dict.fromkeys(list(layers) + [n for term in local for n in term.layers]))

    def grams(window, box):
        feats = extractor.raw(window, layers, wrap=wrap)
        return [losses.gram(_interior(f, box, name)) for f, name in zip(feats, layers)]

    def inner(window, box, upstream, *arguments):
        feats = dict(zip(every, extractor.raw(window, every, wrap=wrap)))
        total = 0.0
        for name, u in zip(layers, upstream):
            total = total + ops.sum(losses.gram(_interior(feats[name], box, name)) * u)
        values = [term.value(None, {n: _interior(feats[n], box, n) for n in term.layers}, args, wrap)
                  for term, args in zip(local, arguments)]
        return ops.stack([total + sum(values)] + values), None

    upstream_specs = [backend.spec([CHANNELS[n], CHANNELS[n]]) for n in layers]
    return (backend.compile_forward(grams, [window_spec, box_spec]),
            backend.compile_value_and_grad(inner, [window_spec, box_spec, upstream_specs]
                                           + [term.signature() for term in local]))


def build_whole(term: Term, wrap: bool = True):
    """A term that reads only the image (``whole_image``), compiled on the whole canvas (as a torus with
    ``wrap``): ``fn(image, arguments) -> (value, None, gradient)``."""
    def whole(image, arguments):
        return term.value(image, {}, arguments, wrap), None

    return backend.compile_value_and_grad(whole, [backend.spec([1, None, None, 3]), term.signature()])


def check(terms: Sequence[Term], what: str = "a seamless texture this large") -> None:
    """Refuse terms that cannot be computed tile by tile (of Gram matrices, of the image alone, or of each
    position's features)."""
    for term in terms:
        if term.of_grams is None and not term.whole_image and term.on_tile is None:
            raise ParameterError(f"The {term.name} term cannot be computed tile by tile, as {what} is: "
                                 f"set {term.weight} to 0, or paint a smaller image.")


def gram_layers(terms: Sequence[Term]) -> tuple[str, ...]:
    """The layers whose Gram matrices the tiles sum (those of the terms computed from Gram matrices)."""
    return read_layers([term for term in terms if term.of_grams is not None])


def local_terms(terms: Sequence[Term]) -> tuple[Term, ...]:
    """The terms computed on each tile's interior (:meth:`~nst.terms.Term.on_tile`)."""
    return tuple(term for term in terms if term.of_grams is None and not term.whole_image and term.on_tile)


def grams(fn, image: np.ndarray, layers: tuple[str, ...], tile: int) -> list[np.ndarray]:
    """The Gram matrices of an ordinary (H, W, 3) image at ``layers``, float32, summed window by window
    (``fn``: :func:`build`'s first function, unwrapped): the same as the whole image's (a painting measured
    at a print size's scale)."""
    height, width = image.shape[:2]
    margin = halo(layers)
    sums = [np.zeros((CHANNELS[n], CHANNELS[n]), dtype=np.float64) for n in layers]
    totals = [0] * len(layers)
    for t in plan(width, height, tile):
        r0, r1 = window_span(t.top, t.height, margin, height)
        c0, c1 = window_span(t.left, t.width, margin, width)
        box = np.array([t.top - r0, t.left - c0, t.height, t.width], dtype=np.int32)
        out = fn(backend.to_tensor(image[None, r0:r1, c0:c1]), backend.to_tensor(box, "int32"))
        for i, (name, g) in enumerate(zip(layers, out)):
            count = _count(name, t)
            if count:
                sums[i] += backend.to_numpy(g).astype(np.float64) * count
                totals[i] += count
    return [(s / max(1, n)).astype(np.float32) for s, n in zip(sums, totals)]


#: The largest magnitude float16 holds: features kept in float16 that would exceed it are kept in float32.
FLOAT16_MAX = float(np.finfo(np.float16).max)


def features(fn, image: np.ndarray, layer: str, tile: int, dtype=np.float32) -> np.ndarray:
    """One layer's features of an ordinary (H, W, 3) image, (1, h, w, C), computed window by window
    (``fn(window) -> features``, the engine's compiled forward pass): the same as the whole image's.

    ``dtype=np.float16`` keeps them in half the memory (400 MB in float32 at 4096x3072 px for
    ``block4_conv2``), written tile by tile so no float32 copy of the whole is made; a bfloat16 network's
    features (8 bits of mantissa) are held exactly, a float32 network's rounded to 11 bits. Should a
    feature exceed float16's range, the whole is kept in float32."""
    height, width = image.shape[:2]
    margin, s = halo((layer,)), stride(layer)
    out = None
    for t in plan(width, height, tile):
        r0, r1 = window_span(t.top, t.height, margin, height)
        c0, c1 = window_span(t.left, t.width, margin, width)
        f = backend.to_numpy(fn(backend.to_tensor(image[None, r0:r1, c0:c1])))
        if out is None:
            out = np.zeros((1, height // s, width // s, f.shape[-1]), dtype=dtype)
        rows, cols = feature_span(layer, t.top, t.height), feature_span(layer, t.left, t.width)
        part = f[:, rows.start - r0 // s: rows.stop - r0 // s, cols.start - c0 // s: cols.stop - c0 // s]
        if out.dtype == np.float16 and part.size and float(np.abs(part).max()) > FLOAT16_MAX:
            out = out.astype(np.float32)
        out[:, rows, cols] = part
    return out


def _wrapped(start: int, length: int, size: int) -> np.ndarray:
    return np.arange(start, start + length) % size


class TiledObjective:
    """``fun(image) -> (loss, terms, gradient)`` for the optimizer, one tile at a time.

    ``functions`` are :func:`build`'s for :func:`gram_layers` and :func:`local_terms` of ``terms`` (and the
    same ``wrap``), ``whole`` a :func:`build_whole` function for each term that reads the image alone;
    ``arguments`` are the terms' (numpy) arguments.
    """

    def __init__(self, functions, whole: Mapping[Term, object], terms: Sequence[Term], arguments: Sequence,
                 size: tuple[int, int], tile: int, wrap: bool = True):
        check(terms)
        self.grams_fn, self.grad_fn = functions
        self.terms = tuple(terms)
        self.wrap = wrap
        self.arguments = list(arguments)
        self.whole = {term: (whole[term], tensors(args)) for term, args in zip(self.terms, self.arguments)
                      if term.whole_image and term.of_grams is None and not term.vanishes(args)}
        # A whole-image term of weight 0 (the TV of most presets) is 0 without a pass over the whole image,
        # which at a print size would make several copies of it.
        self.vanished = [term for term, args in zip(self.terms, self.arguments)
                         if term.whole_image and term.of_grams is None and term.vanishes(args)]
        self.local = [(term, args) for term, args in zip(self.terms, self.arguments) if term in local_terms(terms)]
        self.layers = gram_layers(self.terms)
        width, height = size
        self.size = size
        self.halo = halo(self.layers + read_layers([t for t, _ in self.local]))
        self.tiles = plan(width, height, tile)
        if wrap:
            self.counts = [[positions(n, t.height, t.width) for n in self.layers] for t in self.tiles]
        else:
            self.counts = [[_count(n, t) for n in self.layers] for t in self.tiles]
        self.totals = [sum(c[i] for c in self.counts) for i in range(len(self.layers))]
        # Each local term's share of the positions in each tile (the whole image's positions are the tiles').
        self.shares = {}
        for term, _ in self.local:
            name = term.layers[0]
            counts = [_count(name, t) for t in self.tiles]
            self.shares[term] = [c / max(1, sum(counts)) for c in counts]

    def _window(self, image: np.ndarray, t: Tile):
        if not self.wrap:
            r0, r1 = window_span(t.top, t.height, self.halo, image.shape[0])
            c0, c1 = window_span(t.left, t.width, self.halo, image.shape[1])
            box = np.array([t.top - r0, t.left - c0, t.height, t.width], dtype=np.int32)
            return (slice(r0, r1), slice(c0, c1)), backend.to_tensor(image[None, r0:r1, c0:c1]), \
                backend.to_tensor(box, "int32")
        rows = _wrapped(t.top - self.halo, t.height + 2 * self.halo, image.shape[0])
        cols = _wrapped(t.left - self.halo, t.width + 2 * self.halo, image.shape[1])
        box = np.array([self.halo, self.halo, t.height, t.width], dtype=np.int32)
        return (rows[:, None], cols[None, :]), backend.to_tensor(image[rows][:, cols][None]), \
            backend.to_tensor(box, "int32")

    def _local_arguments(self, index: int, t: Tile) -> list:
        out = []
        for term, args in self.local:
            name = term.layers[0]
            out.append(tensors(term.on_tile(args, feature_span(name, t.top, t.height),
                                            feature_span(name, t.left, t.width), self.shares[term][index])))
        return out

    def __call__(self, image: np.ndarray):
        sums = [np.zeros((CHANNELS[n], CHANNELS[n]), dtype=np.float64) for n in self.layers]
        if self.layers:
            for t, counts in zip(self.tiles, self.counts):
                _, window, box = self._window(image, t)
                for i, g in enumerate(self.grams_fn(window, box)):
                    if counts[i]:  # a narrow last tile may hold no position of a deep layer (its Gram: 0/0)
                        sums[i] += backend.to_numpy(g).astype(np.float64) * counts[i]
        grams = dict(zip(self.layers, (s / n for s, n in zip(sums, self.totals))))
        # Each Gram term's value and its derivative dL/dG, added up per layer.
        values: dict[str, float] = {term.name: 0.0 for term in [t for t, _ in self.local] + self.vanished}
        d_grams = {n: 0.0 for n in self.layers}
        for term, args in zip(self.terms, self.arguments):
            if term.of_grams is not None:
                values[term.name], derivatives = term.of_grams([grams[n] for n in term.layers], args)
                for name, d in zip(term.layers, derivatives):
                    d_grams[name] = d_grams[name] + d
        grad = np.zeros(image.shape, dtype=np.float32)
        for index, (t, counts) in enumerate(zip(self.tiles, self.counts)):
            where, window, box = self._window(image, t)
            upstream = [backend.to_tensor((np.asarray(d_grams[name]) * (c / n)).astype(np.float32))
                        for name, c, n in zip(self.layers, counts, self.totals)]
            tile_values, _, g = self.grad_fn(window, box, upstream, *self._local_arguments(index, t))
            for (term, _), v in zip(self.local, backend.to_numpy(tile_values)[1:]):
                values[term.name] += float(v)
            if self.wrap:
                np.add.at(grad, where, backend.to_numpy(g)[0])
            else:
                grad[where] += backend.to_numpy(g)[0]
        for term, (fn, args) in self.whole.items():
            value, _, term_grad = fn(backend.to_tensor(image[None]), args)
            values[term.name] = float(backend.to_numpy(value))
            grad += backend.to_numpy(term_grad)[0]
        values = {term.name: values[term.name] for term in self.terms}  # in the terms' order
        return sum(values.values()), values, grad


def _count(layer: str, t: Tile) -> int:
    """Feature positions of ``layer`` in an unwrapped tile's interior."""
    rows, cols = feature_span(layer, t.top, t.height), feature_span(layer, t.left, t.width)
    return max(0, rows.stop - rows.start) * max(0, cols.stop - cols.start)


def seam_ratio(image: np.ndarray, tile: int) -> float:
    """How a tile boundary shows: the mean absolute difference between neighbouring pixels across the
    boundaries of :func:`plan`'s tiles of ``tile`` px, over the same mean between every other pair of
    neighbours (about 1 where nothing shows; a seam is a line of larger steps)."""
    image = np.asarray(image, dtype=np.float64)
    height, width = image.shape[:2]
    tiles = plan(width, height, tile)
    rows = sorted({t.top for t in tiles} - {0})
    cols = sorted({t.left for t in tiles} - {0})
    if not rows and not cols:
        raise ParameterError(f"A {width}x{height} image in tiles of {tile} px has no tile boundary.")
    dy = np.abs(np.diff(image, axis=0))  # dy[i]: between rows i and i + 1
    dx = np.abs(np.diff(image, axis=1))
    across_y = np.zeros(dy.shape[0], bool)
    across_y[[r - 1 for r in rows]] = True
    across_x = np.zeros(dx.shape[1], bool)
    across_x[[c - 1 for c in cols]] = True
    across = np.concatenate([dy[across_y].ravel(), dx[:, across_x].ravel()])
    inside = np.concatenate([dy[~across_y].ravel(), dx[:, ~across_x].ravel()])
    return float(across.mean() / max(inside.mean(), 1e-12))
