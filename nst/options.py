"""The engine's user-facing options, declared once.

The CLI's ``transfer`` and ``texture`` commands, the built-in filters and the
app's widgets all use these declarations; :func:`to_settings` maps chosen
values onto a preset's :class:`~nst.settings.Settings`.
"""

from __future__ import annotations

from typing import Any, Mapping

from . import crops, presets
from .errors import ParameterError
from .params import Param, parse_size, validate
from .settings import (CONTENT_LAYERS, INITS, MAX_SIZE, MIN_CROP_SIDE, STROKE_REFERENCE_SIDE,
                       STROKE_SCALE_MAX, STROKE_SCALE_MIN, STYLE_LAYERS, TEXTURE_MAX_SIDE, TEXTURE_MIN_SIDE,
                       Settings)
from .weights import LAYERS

PRESET = Param("preset", "choice", presets.DEFAULT, choices=presets.names(),
               help="Starting point for every other option. " + " ".join(
                   f"{name}: {text}" for name, text in presets.DESCRIPTIONS.items()))

COMMON: tuple[Param, ...] = (
    Param("size", "int", 512, "Long side of the result, in pixels.", min=32, max=MAX_SIZE, step=32,
          label="Size (px)"),
    Param("steps", "int", 15, "VGG passes at the final scale; coarser scales get more, and every scale "
          "stops early once converged.", min=1, max=20000, step=1),
    Param("style_weight", "float", 1.0, "Weight of the style loss.", min=0.0, max=1e12, log=True, advanced=True),
    Param("tv_weight", "float", 0.0, "Total-variation weight: higher is smoother.", min=0.0, max=1e12, log=True,
          label="Smoothness (TV weight)"),
    Param("style_scale", "float", 1.0, "Size of the style's strokes: the style image is resized to the "
          "result's size times this.", min=0.1, max=4.0, step=0.05),
    Param("style_layers", "text", ",".join(STYLE_LAYERS), "Comma-separated VGG19 layers for the style loss.",
          advanced=True),
    Param("seed", "int", 0, "Random seed (noise start); the same seed gives the same image.", min=0,
          max=2**31 - 1, advanced=True),
    Param("optimizer", "choice", "lbfgs", "L-BFGS (fast, the default) or Adam (the tutorial's).",
          choices=("lbfgs", "adam"), advanced=True),
    Param("lr", "float", 0.02, "Adam's learning rate (ignored by L-BFGS).", min=1e-6, max=10.0, log=True,
          advanced=True),
    Param("tolerance", "float", 1e-3, "Stop a scale when the loss falls by less than this fraction per step.",
          min=0.0, max=1.0, log=True, advanced=True),
    Param("start_size", "int", 128, "Coarse-to-fine starts at about this long side (set it to the size for "
          "a single scale).", min=32, max=MAX_SIZE, step=16, advanced=True, label="Coarsest scale"),
)

TRANSFER: tuple[Param, ...] = COMMON[:2] + (
    Param("content_weight", "float", 0.1, "How much of the photo's structure to keep: higher is more "
          "photo, lower is more painting.", min=0.0, max=1e12, log=True),
) + COMMON[2:] + (
    Param("preserve_colors", "bool", False, "Keep the photo's colours; take only the painting's strokes.",
          label="Keep the photo's colours"),
    Param("content_layer", "choice", "block4_conv2", "VGG19 layer for the content loss (the tutorial used "
          "block5_conv2).", choices=CONTENT_LAYERS, advanced=True),
    Param("init", "choice", "content", "Start from the photo, from the photo in the painting's colours "
          "(palette), or from noise.", choices=INITS, advanced=True),
)

TEXTURE: tuple[Param, ...] = (
    Param("size", "size", "512x512", "The texture's width and height; any shape, whatever the painting's.",
          min=TEXTURE_MIN_SIDE, max=TEXTURE_MAX_SIDE, step=16, label="Size (px)"),
    COMMON[1],  # steps
    Param("tileable", "bool", True, "Make a seamless tile: the texture repeats in both directions without a "
          "visible edge (backgrounds, wallpapers, fabric, game surfaces).", label="Seamless tile"),
    Param("stroke_scale", "float", 1.0, f"Size of the painting's strokes in the texture: 1 shows them as in "
          f"the painting at {STROKE_REFERENCE_SIDE} px on its long side, 2 twice as large (fewer of them), "
          f"0.5 half as large.", min=STROKE_SCALE_MIN, max=STROKE_SCALE_MAX, step=0.05),
    Param("crop", "text", "", f"Learn from a region of the style image only: x,y,w,h in its pixels (e.g. "
          f"{crops.EXAMPLE}; at least {MIN_CROP_SIDE} px a side). Several styles: one box for all, or one "
          f"per style separated by ';'. Empty: the whole image.", label="Crop box"),
) + tuple(p for p in COMMON[2:] if p.name != "style_scale")


def declared(operation: str, preset: str = presets.DEFAULT) -> tuple[Param, ...]:
    """The options of an operation, with the preset's values as defaults."""
    from .params import with_defaults

    base = TRANSFER if operation == "transfer" else TEXTURE
    return tuple(with_defaults(base, values_of(presets.get(preset, operation), operation)))


def values_of(settings: Settings, operation: str) -> dict[str, Any]:
    """A Settings' values under the names of the operation's options."""
    data = settings.as_dict()
    data["style_layers"] = ",".join(data["style_layers"])
    data["optimizer"] = data.pop("method")
    if operation == "texture":
        width, height = ((settings.width, settings.height) if settings.width is not None
                         else (settings.size, settings.size))
        data["size"] = f"{width}x{height}"
        data["crop"] = crops.format_boxes(settings.crop)
    names = {p.name for p in (TRANSFER if operation == "transfer" else TEXTURE)}
    return {k: v for k, v in data.items() if k in names}


def to_settings(operation: str, values: Mapping[str, Any] | None = None, preset: str | None = None) -> Settings:
    """Check option values (strings are parsed) and apply them to a preset's settings."""
    values = dict(values or {})
    preset = values.pop("preset", None) or preset or presets.DEFAULT
    params = declared(operation, PRESET.coerce(preset))
    given = {k: v for k, v in values.items() if v is not None}
    checked = validate(params, given)
    base = presets.get(preset, operation)
    changes = {name: checked[name] for name in given}
    if "style_layers" in changes:
        layers = tuple(name.strip() for name in changes["style_layers"].split(",") if name.strip())
        unknown = [name for name in layers if name not in LAYERS]
        if unknown or not layers:
            raise ParameterError(
                f"style_layers must be a comma-separated list of {', '.join(LAYERS)}; got {changes['style_layers']!r}."
            )
        changes["style_layers"] = layers
        if len(layers) != len(base.style_layer_weights):
            changes["style_layer_weights"] = (1.0,) * len(layers)
    if "optimizer" in changes:
        changes["method"] = changes.pop("optimizer")
    if operation == "texture":
        if "size" in changes:
            changes["width"], changes["height"] = parse_size(changes.pop("size"))
        if "crop" in changes:
            changes["crop"] = crops.parse(changes["crop"])
    return base.replace(**changes)
