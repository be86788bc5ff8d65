"""Every option of a render, in one validated value.

:class:`Settings` is frozen; derive variants with :meth:`Settings.replace`,
which validates again. Presets (:mod:`nst.presets`) are named ``Settings``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import InitVar, dataclass, field
from typing import Any, Mapping

from . import crops
from .crops import Box
from .errors import ParameterError
from .optimize import OptimizerSettings
from .options import (CONTENT_LAYERS, INITS, MAX_LAYER_WEIGHT, MAX_SIZE, MIN_CROP_SIDE, STROKE_REFERENCE_SIDE,
                      STYLE_LAYERS, STYLE_LAYERS_OPTION, TEXTURE_MAX_SIDE, TEXTURE_MIN_SIDE, TEXTURE_SIZE, declared)
from .params import Param
from .weights import LAYERS

__all__ = ["Box", "CONTENT_LAYERS", "INITS", "MAX_SIZE", "MIN_CROP_SIDE", "STROKE_REFERENCE_SIDE", "STYLE_LAYERS",
           "TEXTURE_MAX_SIDE", "TEXTURE_MIN_SIDE", "Settings"]

#: The declaration that bounds each field (of Settings or of its optimizer) that has one.
_BOUNDS: dict[str, Param] = {p.name: p for p in declared("transfer") + declared("texture")
                             if p.kind not in ("text", "size", "layers", "boxes")}
_BOUNDS["method"] = _BOUNDS.pop("optimizer")
_OPTIMIZER_FIELDS = {f.name for f in dataclasses.fields(OptimizerSettings)}
#: Fields whose 0 in the declarations stands for None here (nothing fixed).
_NONE_AS_ZERO = ("style_size", "final_steps")
for _name in _NONE_AS_ZERO:  # here None, not 0, means "not set": a number must be within the bounds
    _BOUNDS[_name] = dataclasses.replace(_BOUNDS[_name], unset=None, default=_BOUNDS[_name].min)



@dataclass(frozen=True)
class Settings:
    # --- output
    size: int = 512  # long side of the result, in pixels
    square: bool = False  # texture only: a square result (the style image is stretched to a square too)
    # Texture only: the exact width and height (both or neither). With them, the style is seen at
    # ``stroke_scale`` (below) instead of in proportion to the result.
    width: int | None = None
    height: int | None = None
    tileable: bool = False  # texture only: the result wraps around without a seam (default on in presets)
    # --- style
    style_layers: tuple[str, ...] = STYLE_LAYERS
    style_layer_weights: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0, 1.0)
    style_scale: float = 1.0  # style image long side = result long side x style_scale
    style_size: int | None = None  # or a fixed long side for the style image
    # Textures with a width and height: the style image as if STROKE_REFERENCE_SIDE px on its long
    # side, times this (0.5: strokes half as large in the texture, more of them).
    stroke_scale: float = 1.0
    # Textures: the region of each style image to learn from, (x, y, width, height) in its pixels, or
    # None for the whole image; one box for every style, or one per style.
    crop: tuple[Box | None, ...] = ()
    # --- loss
    style_weight: float = 1.0
    content_weight: float = 1.0
    tv_weight: float = 0.0
    histogram_weight: float = 0.0  # the painting's feature histograms (nst.terms.Histogram); 0: off
    content_layer: str = "block4_conv2"
    normalize: bool = True  # each loss term relative to its target's magnitude (scale-free weights)
    # --- schedule
    start_size: int = 128  # coarse-to-fine from about this long side, x sqrt(2) per scale
    steps: int = 100  # evaluations at the final scale
    coarse_steps: float = 1.5  # each coarser scale gets this many times the steps of the next
    final_steps: int | None = None  # a different budget for the final scale only (default: steps)
    keep_detail: bool = True  # between scales, add back the photo's fine detail that upsampling loses
    # The photo's weight follows how strong the painting's statistics are beside the photo's features, to
    # this power (0: the content weight as given). See nst.losses.content_balance.
    content_balance: float = 0.0
    balance_coarse: bool = True  # textures with a raw objective: all style layers count alike at coarse scales
    optimizer: OptimizerSettings = field(default_factory=OptimizerSettings)
    # --- start and finish
    init: str = "content"  # "content", "palette" or "tones" (the photo in the painting's colours), "noise" (textures)
    noise: str = "smooth"  # "smooth" or "matched" (the style's colour statistics), or "uniform" in [0, 1]
    seed: int = 0
    preserve_colors: bool = False  # keep the content's colours, transfer luminance only
    # True only for values already checked by their declarations (a filter's checked parameters):
    # they are not checked a second time.
    checked: InitVar[bool] = False

    def __post_init__(self, checked: bool) -> None:
        if not checked:
            self.validate()

    def replace(self, **changes) -> "Settings":
        optimizer_keys = {f.name for f in dataclasses.fields(OptimizerSettings)}
        opt_changes = {k: changes.pop(k) for k in list(changes) if k in optimizer_keys}
        if opt_changes:
            try:
                changes["optimizer"] = dataclasses.replace(self.optimizer, **opt_changes)
            except TypeError as exc:
                raise ParameterError(str(exc)) from None
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ParameterError(f"Unknown setting(s): {', '.join(sorted(unknown))}.")
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data.update(data.pop("optimizer"))
        return data

    def validate(self) -> None:
        """Check every field: those with a declared option against that declaration (its bounds are
        written there once), the rest by how they fit together."""
        def check(condition: bool, message: str) -> None:
            if not condition:
                raise ParameterError(message)

        def finite(name: str, value: float, low: float = 0.0) -> None:
            check(isinstance(value, (int, float)) and math.isfinite(value) and value >= low,
                  f"{name} must be a finite number >= {low}, got {value!r}.")

        values = self.as_dict()
        for name, param in _BOUNDS.items():
            value = values[name]
            if name in _NONE_AS_ZERO:
                if value is None:
                    continue
            _declared(param, value)
        sides = (self.width, self.height)
        check(sides == (None, None) or all(isinstance(v, int) and not isinstance(v, bool) for v in sides),
              f"A texture's width and height must both be whole numbers of pixels, got {self.width!r}x{self.height!r}.")
        if self.width is not None:
            _declared(TEXTURE_SIZE, sides)
        check(isinstance(self.crop, tuple), f"crop must be a tuple of boxes, got {self.crop!r}.")
        crops.check(self.crop)
        check(len(self.style_layers) > 0, "At least one style layer is needed.")
        for name in self.style_layers:
            check(name in LAYERS, f"Unknown layer {name!r}; choose from {', '.join(LAYERS)}.")
        check(len(set(self.style_layers)) == len(self.style_layers), "Style layers must not repeat.")
        check(len(self.style_layer_weights) == len(self.style_layers),
              f"{len(self.style_layers)} style layers need as many weights, got {len(self.style_layer_weights)}.")
        for w in self.style_layer_weights:
            finite("A style layer weight", w)
            check(w <= MAX_LAYER_WEIGHT, f"A style layer weight must be at most {MAX_LAYER_WEIGHT:g}, got {w!r}.")
        check(sum(self.style_layer_weights) > 0, "Style layer weights must not all be zero.")


def _declared(param: Param, value: Any) -> None:
    """``value`` is of the declared kind and within the declared bounds (no conversion: a field holds
    the value itself, not text for it)."""
    kinds = {"int": int, "float": (int, float), "bool": bool, "choice": object, "size": tuple}
    if (param.kind in ("int", "float") and isinstance(value, bool)) or not isinstance(value, kinds[param.kind]):
        raise ParameterError(f"{param.name} must be {param.bounds_text()}; got {value!r}.")
    param.coerce(value)


def layers_of(value) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """The style layers and their weights of a ``style_layers`` value (its text, or the checked pairs),
    checked by the option's declaration."""
    pairs = STYLE_LAYERS_OPTION.coerce(value)
    return tuple(name for name, _ in pairs), tuple(weight for _, weight in pairs)


def layers_text(layers: tuple[str, ...], weights: tuple[float, ...]) -> str:
    """The ``style_layers`` option's text for layers and their weights (a weight of 1 is not written;
    the others as :func:`layers_of` reads them back exactly)."""
    return STYLE_LAYERS_OPTION.text(tuple(zip(layers, weights)))


def settings_of(operation: str, values: Mapping[str, Any]) -> Settings:
    """The Settings of a render from its checked option values (every option of ``operation``, as
    :func:`nst.params.validate` returns them): they are not checked again."""
    fields = {k: v for k, v in values.items() if k not in ("style_layers", "optimizer", "size", "crop")}
    fields["method"] = values["optimizer"]
    fields["style_layers"] = tuple(name for name, _ in values["style_layers"])
    fields["style_layer_weights"] = tuple(weight for _, weight in values["style_layers"])
    for name in _NONE_AS_ZERO:
        fields[name] = fields[name] or None
    if operation == "texture":  # its width and height rule (its long side, ``size``, is not used)
        fields["width"], fields["height"] = values["size"]
        fields["crop"] = values["crop"]
    else:
        fields["size"] = values["size"]
    optimizer = OptimizerSettings(**{k: fields.pop(k) for k in list(fields) if k in _OPTIMIZER_FIELDS})
    return Settings(optimizer=optimizer, checked=True, **fields)


def values_of(settings: Settings, operation: str) -> dict[str, Any]:
    """A Settings' values under the names of the operation's options (every one of them)."""
    data = settings.as_dict()
    data["style_layers"] = tuple(zip(settings.style_layers, settings.style_layer_weights))
    data["optimizer"] = data.pop("method")
    for name in _NONE_AS_ZERO:
        data[name] = data[name] or 0
    if operation == "texture":
        width, height = ((settings.width, settings.height) if settings.width is not None
                         else (settings.size, settings.size))
        data["size"] = (width, height)
        data["crop"] = settings.crop
    names = {p.name for p in declared(operation)}
    return {k: v for k, v in data.items() if k in names}
