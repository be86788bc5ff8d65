"""The objective's terms: a render minimises the sum of their weighted values.

Each term owns, in one class:

* ``name``: its key in a render's losses (``result.losses["style"]``) and progress;
* ``weight``: the :class:`~nst.settings.Settings` field of its weight, and ``fields``: every setting it reads
  (the benchmark swaps exactly these between objectives);
* :meth:`Term.configure`: the term as a render with those settings has it (its layers fixed), or None when
  the render has no such term (a transfer's content, a term whose weight is 0 that is off by default);
* :meth:`Term.arguments`: its targets and weights at one scale of the render, from the style images and the
  photo there (:class:`Scale`), as arrays and numbers;
* :meth:`Term.value`: its weighted value, written with ``keras.ops``, from the image and the VGG19 features
  of the layers it reads (computed once for all terms); the objective is differentiated through it.

:data:`TERMS` lists them, in the order of a render's losses. The engine's compiled objective
(:mod:`nst.objective`), the tile-by-tile objective of large seamless textures (:mod:`nst.tiling`) and the
benchmark's comparisons (``bench/compare.py``) all read this list, so a new term is one class added here
(and its weight declared in :mod:`nst.options`). A term computed tile by tile is a function of its
layers' Gram matrices (:meth:`Term.of_grams`), reads only the image (``whole_image``), or is a mean over
positions computed on each tile's interior (:meth:`Term.on_tile`, the photo's content); a render that would
need another one tile by tile is refused before it starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar, Mapping, Sequence

import numpy as np

from . import backend, losses
from keras import ops  # noqa: E402  (after nst.backend has configured TensorFlow)
from .features import CHANNELS
from .settings import Settings


@dataclass
class Scale:
    """What a term's targets are made from at one scale of a render (the engine provides it)."""

    settings: Settings
    texture: bool
    coarse: bool  # not the final scale
    #: The styles' Gram matrices of these layers at this scale's style sizes, blended (one per layer).
    style_grams: Callable[[tuple[str, ...]], list[np.ndarray]]
    #: Each style image's features of one layer at this scale's style size, (1, h, w, C) float32.
    style_features: Callable[[str], list[np.ndarray]]
    style_weights: Sequence[float]  # the blend, one weight per style
    #: The photo's features of one layer at this scale's size (transfers; None for textures).
    content_features: Callable[[str], np.ndarray] | None = None

    @property
    def balanced(self) -> bool:
        """A texture's raw (unnormalised) objective at a coarse scale: it is ruled by its largest Gram
        matrices (block4's, for the tutorial's), so there every style layer counts alike and the total
        variation not at all, and the layout the final scale starts from fits all of them."""
        s = self.settings
        return self.texture and not s.normalize and s.balance_coarse and self.coarse


@dataclass(frozen=True)
class Term:
    """One term of the objective, configured for a render: its layers (hashable: the compiled objective is
    kept per choice of terms)."""

    name: ClassVar[str]
    weight: ClassVar[str]
    fields: ClassVar[tuple[str, ...]]
    #: Computed tile by tile from the whole image (it reads no features).
    whole_image: ClassVar[bool] = False
    layers: tuple[str, ...] = ()

    @classmethod
    def configure(cls, settings: Settings, texture: bool) -> "Term | None":
        raise NotImplementedError

    def signature(self) -> list:
        """The specs of :meth:`arguments` (their spatial sizes left open)."""
        raise NotImplementedError

    def arguments(self, scale: Scale) -> list:
        raise NotImplementedError

    def value(self, image, features: Mapping[str, object], arguments: Sequence, wrap: bool):
        raise NotImplementedError

    def vanishes(self, arguments: Sequence) -> bool:
        """The term is 0, with no gradient, whatever the image (its weight is 0): a tiled render skips it."""
        return False

    #: Tile by tile: ``of_grams(grams, arguments) -> (value, dvalue/dgrams)`` in numpy, or None.
    of_grams: ClassVar[Callable | None] = None
    #: Tile by tile, a mean over its one layer's positions of what each position's features alone give:
    #: ``on_tile(arguments, rows, cols, share) -> arguments`` on a tile's interior (feature rows and columns
    #: as slices), its weight times the interior's share of the positions; or None.
    on_tile: ClassVar[Callable | None] = None


def _magnitude(target: np.ndarray):
    return np.mean(np.square(target)) + 1e-8


@dataclass(frozen=True)
class Style(Term):
    """The painting's Gram matrices: ``sum_l w_l * mean((G_l - T_l)^2)`` (Gatys et al.)."""

    name: ClassVar[str] = "style"
    weight: ClassVar[str] = "style_weight"
    fields: ClassVar[tuple[str, ...]] = ("style_weight", "style_layers", "style_layer_weights", "style_scale",
                                         "style_size")

    @classmethod
    def configure(cls, settings: Settings, texture: bool) -> "Style":
        return cls(tuple(settings.style_layers))

    def signature(self) -> list:
        return [[backend.spec([CHANNELS[n], CHANNELS[n]]) for n in self.layers], backend.spec([len(self.layers)])]

    def arguments(self, scale: Scale) -> list:
        settings = scale.settings
        targets = scale.style_grams(self.layers)
        layer_weights = np.asarray(settings.style_layer_weights, dtype=np.float64)
        layer_weights = layer_weights / layer_weights.sum() if settings.normalize else layer_weights
        magnitudes = np.array([_magnitude(t) for t in targets])
        effective = settings.style_weight * layer_weights
        if settings.normalize:
            effective = effective / magnitudes
        elif scale.balanced:
            effective = layer_weights / layer_weights.sum() / magnitudes
        return [list(targets), effective]

    def value(self, image, features, arguments, wrap):
        targets, weights = arguments
        return losses.style_loss([losses.gram(features[n]) for n in self.layers], targets, weights)

    @staticmethod
    def of_grams(grams: Sequence[np.ndarray], arguments: Sequence) -> tuple[float, list[np.ndarray]]:
        """The value from the image's Gram matrices, and its derivative with respect to each (float64)."""
        targets, weights = arguments
        diffs = [np.asarray(g, dtype=np.float64) - np.asarray(t, dtype=np.float64) for g, t in zip(grams, targets)]
        weights = np.asarray(weights, dtype=np.float64)
        value = float(sum(w * np.mean(np.square(d)) for w, d in zip(weights, diffs)))
        return value, [2.0 * w * d / d.size for w, d in zip(weights, diffs)]


@dataclass(frozen=True)
class TotalVariation(Term):
    """Smoothness: ``mean(dx^2) + mean(dy^2)`` of the image (across its edges when it tiles)."""

    name: ClassVar[str] = "tv"
    weight: ClassVar[str] = "tv_weight"
    fields: ClassVar[tuple[str, ...]] = ("tv_weight",)
    whole_image: ClassVar[bool] = True

    @classmethod
    def configure(cls, settings: Settings, texture: bool) -> "TotalVariation":
        return cls()

    def signature(self) -> list:
        return [backend.spec([])]

    def arguments(self, scale: Scale) -> list:
        return [0.0 if scale.balanced else scale.settings.tv_weight]

    def value(self, image, features, arguments, wrap):
        (weight,) = arguments
        return weight * losses.tv_loss(image, wrap)

    def vanishes(self, arguments: Sequence) -> bool:
        return float(arguments[0]) == 0.0


@dataclass(frozen=True)
class Content(Term):
    """The photo's features at one layer: mean squared difference (transfers only)."""

    name: ClassVar[str] = "content"
    weight: ClassVar[str] = "content_weight"
    fields: ClassVar[tuple[str, ...]] = ("content_weight", "content_layer")

    @classmethod
    def configure(cls, settings: Settings, texture: bool) -> "Content | None":
        return None if texture else cls((settings.content_layer,))

    def signature(self) -> list:
        return [backend.spec([1, None, None, CHANNELS[self.layers[0]]]), backend.spec([])]

    def arguments(self, scale: Scale) -> list:
        settings = scale.settings
        target = scale.content_features(self.layers[0])
        weight = settings.content_weight
        if settings.normalize:
            if target.dtype == np.float16:  # a print size's features: their mean square without a float32 copy
                weight = weight / (losses.mean_square(target) + 1e-8)
            else:
                weight = weight / (float(np.mean(np.square(target))) + 1e-8)
            style_targets = scale.style_grams(tuple(settings.style_layers))
            weight *= losses.content_balance(target, style_targets, settings.content_balance)
        return [target, weight]

    def value(self, image, features, arguments, wrap):
        target, weight = arguments
        return weight * losses.content_loss(features[self.layers[0]], target)

    @staticmethod
    def on_tile(arguments, rows: slice, cols: slice, share: float) -> list:
        target, weight = arguments
        return [target[:, rows, cols, :], weight * share]


@dataclass(frozen=True)
class Histogram(Term):
    """The painting's per-channel feature histograms (Risser, Wilmot and Barnes, "Stable and controllable
    neural texture synthesis and style transfer using histogram losses", 2017).

    Gram matrices match only the features' second moments, which a render can meet with washed-out
    patches beside saturated ones; this term asks each channel's whole distribution of values to be the
    painting's. At each layer the image's features of each channel are sorted, and the value at each rank
    is compared with the painting's quantile at that rank: the mean squared difference between the
    features and their histogram-matched remap (the remap held fixed, as a target). Off unless its weight
    is above 0; with ``normalize``, relative to the painting's features' magnitude at each layer."""

    name: ClassVar[str] = "histogram"
    weight: ClassVar[str] = "histogram_weight"
    fields: ClassVar[tuple[str, ...]] = ("histogram_weight",)
    #: The paper's layers: relu1_1 (colours) and relu4_1 (motifs).
    LAYERS: ClassVar[tuple[str, ...]] = ("block1_conv1", "block4_conv1")
    #: The painting's distribution per channel, as this many quantiles (interpolated to the image's ranks).
    QUANTILES: ClassVar[int] = 1024

    @classmethod
    def configure(cls, settings: Settings, texture: bool) -> "Histogram | None":
        return cls(cls.LAYERS) if settings.histogram_weight > 0 else None

    def signature(self) -> list:
        return [[backend.spec([None, CHANNELS[n]]) for n in self.layers], backend.spec([len(self.layers)])]

    def arguments(self, scale: Scale) -> list:
        settings = scale.settings
        blend = losses.blend_weights(scale.style_weights)
        tables, weights = [], []
        for name in self.layers:
            quantiles = [self.quantiles(f) for f in scale.style_features(name)]
            table = sum(w * q for w, q in zip(blend, quantiles)).astype(np.float32)  # 1-D barycentre
            weight = settings.histogram_weight / len(self.layers)
            if settings.normalize:
                weight /= float(_magnitude(table))
            tables.append(table)
            weights.append(weight)
        return [tables, np.asarray(weights)]

    @classmethod
    def quantiles(cls, features: np.ndarray) -> np.ndarray:
        """(QUANTILES, C) float64: each channel's values at evenly spaced ranks."""
        ordered = np.sort(np.asarray(features, dtype=np.float64).reshape(-1, features.shape[-1]), axis=0)
        ranks = (np.arange(cls.QUANTILES) + 0.5) * ordered.shape[0] / cls.QUANTILES - 0.5
        ranks = np.clip(ranks, 0, ordered.shape[0] - 1)
        low = np.floor(ranks).astype(int)
        high = np.minimum(low + 1, ordered.shape[0] - 1)
        part = (ranks - low)[:, None]
        return ordered[low] * (1 - part) + ordered[high] * part

    def value(self, image, features, arguments, wrap):
        tables, weights = arguments
        total = 0.0
        for index, (name, table) in enumerate(zip(self.layers, tables)):
            total = total + weights[index] * histogram_loss(features[name], table)
        return total


def histogram_loss(features, table):
    """``mean((sort(F) - Q)^2)`` per channel: ``F`` (1, H, W, C) features, ``Q`` a (q, C) table of the
    target's quantiles, read at the ranks of F's positions. Pairing sorted values with the quantiles at the
    same ranks is the histogram-matched remap; its gradient flows through the sort to the features."""
    channels = features.shape[-1]
    flat = ops.transpose(ops.reshape(ops.cast(features, "float32"), (-1, channels)))  # (C, N)
    ordered = ops.sort(flat, axis=-1)
    count = ops.shape(flat)[1]
    rows = ops.shape(table)[0]
    ranks = (ops.cast(ops.arange(count), "float32") + 0.5) * (ops.cast(rows, "float32") / ops.cast(count, "float32"))
    ranks = ops.clip(ranks - 0.5, 0.0, ops.cast(rows - 1, "float32"))
    low = ops.floor(ranks)
    part = ranks - low
    low = ops.cast(low, "int32")
    high = ops.minimum(low + 1, rows - 1)
    matched = ops.take(table, low, axis=0) * (1.0 - part)[:, None] + ops.take(table, high, axis=0) * part[:, None]
    return ops.mean(ops.square(ordered - ops.stop_gradient(ops.transpose(matched))))


#: Every term, in the order of a render's losses.
TERMS: tuple[type[Term], ...] = (Style, TotalVariation, Content, Histogram)


def of(settings: Settings, texture: bool) -> tuple[Term, ...]:
    """The terms of a render with ``settings``, configured."""
    configured = (cls.configure(settings, texture) for cls in TERMS)
    return tuple(term for term in configured if term is not None)


def layers(terms: Sequence[Term]) -> tuple[str, ...]:
    """The VGG19 layers the terms read, each once, in the order they first appear."""
    return tuple(dict.fromkeys(name for term in terms for name in term.layers))


def settings_fields() -> tuple[str, ...]:
    """Every setting the terms read (their weights, layers and targets' sizes)."""
    return tuple(dict.fromkeys(name for cls in TERMS for name in cls.fields))


def tensors(arguments):
    """A term's arguments as the compiled objective takes them (float32 tensors, lists kept)."""
    if isinstance(arguments, (list, tuple)):
        return [tensors(a) for a in arguments]
    return backend.to_tensor(arguments)


__all__ = ["Content", "Histogram", "Scale", "Style", "TERMS", "Term", "TotalVariation", "layers", "of", "settings_fields",
           "tensors", "histogram_loss"]
