"""Every option of a render, in one validated value.

:class:`Settings` is frozen; derive variants with :meth:`Settings.replace`,
which validates again. Presets (:mod:`nst.presets`) are named ``Settings``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from .errors import ParameterError
from .weights import LAYERS
from .optimize import OptimizerSettings

STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
CONTENT_LAYERS = ("block4_conv2", "block5_conv2", "block3_conv2", "block2_conv2", "block4_conv1", "block5_conv1")
INITS = ("content", "palette", "noise")
MAX_SIZE = 2048  # on a CPU, larger would need several GB for VGG19's activations
#: A texture's width and height (a tileable texture this large is computed tile by tile).
TEXTURE_MIN_SIDE, TEXTURE_MAX_SIDE = 128, MAX_SIZE
#: stroke_scale 1.0 shows the painting's strokes as they are when the painting is this many
#: pixels on its long side (whatever the resolution of its file).
STROKE_REFERENCE_SIDE = 1024
STROKE_SCALE_MIN, STROKE_SCALE_MAX = 0.1, 4.0
#: The smallest region of a style image a texture can learn from (a crop box's width and height).
MIN_CROP_SIDE = 32

Box = tuple[int, int, int, int]  # x, y, width, height in the style image's pixels


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
    content_layer: str = "block4_conv2"
    normalize: bool = True  # each loss term relative to its target's magnitude (scale-free weights)
    # --- schedule
    start_size: int = 128  # coarse-to-fine from about this long side, x sqrt(2) per scale
    steps: int = 100  # evaluations at the final scale
    coarse_steps: float = 1.5  # each coarser scale gets this many times the steps of the next
    final_steps: int | None = None  # a different budget for the final scale only (default: steps)
    keep_detail: bool = True  # between scales, add back the photo's fine detail that upsampling loses
    balance_coarse: bool = True  # textures with a raw objective: all style layers count alike at coarse scales
    optimizer: OptimizerSettings = field(default_factory=OptimizerSettings)
    # --- start and finish
    init: str = "content"  # "content", "palette" (the photo in the painting's colours) or "noise" (textures: always)
    noise: str = "smooth"  # "smooth" or "matched" (the style's colour statistics), or "uniform" in [0, 1]
    seed: int = 0
    preserve_colors: bool = False  # keep the content's colours, transfer luminance only

    def __post_init__(self) -> None:
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
        def check(condition: bool, message: str) -> None:
            if not condition:
                raise ParameterError(message)

        def finite(name: str, value: float, low: float = 0.0) -> None:
            check(isinstance(value, (int, float)) and math.isfinite(value) and value >= low,
                  f"{name} must be a finite number >= {low}, got {value!r}.")

        check(isinstance(self.size, int) and 32 <= self.size <= MAX_SIZE,
              f"size must be between 32 and {MAX_SIZE} pixels, got {self.size!r}.")
        check(self.width is None and self.height is None or all(
              isinstance(v, int) and not isinstance(v, bool) and TEXTURE_MIN_SIDE <= v <= TEXTURE_MAX_SIDE
              for v in (self.width, self.height)),
              f"A texture's width and height must both be between {TEXTURE_MIN_SIDE} and {TEXTURE_MAX_SIDE} "
              f"pixels, got {self.width!r}x{self.height!r}.")
        check(isinstance(self.tileable, bool), f"tileable must be true or false, got {self.tileable!r}.")
        finite("stroke_scale", self.stroke_scale, STROKE_SCALE_MIN)
        check(self.stroke_scale <= STROKE_SCALE_MAX,
              f"stroke_scale must be at most {STROKE_SCALE_MAX:g}, got {self.stroke_scale}.")
        check(isinstance(self.crop, tuple), f"crop must be a tuple of boxes, got {self.crop!r}.")
        for box in self.crop:
            check(box is None or box_problem(box) is None, f"crop box {box!r}: {box_problem(box)}")
        check(isinstance(self.start_size, int) and 32 <= self.start_size,
              f"start_size must be at least 32 pixels, got {self.start_size!r}.")
        check(len(self.style_layers) > 0, "At least one style layer is needed.")
        for name in (*self.style_layers, self.content_layer):
            check(name in LAYERS, f"Unknown layer {name!r}; choose from {', '.join(LAYERS)}.")
        check(len(set(self.style_layers)) == len(self.style_layers), "Style layers must not repeat.")
        check(len(self.style_layer_weights) == len(self.style_layers),
              f"{len(self.style_layers)} style layers need as many weights, got {len(self.style_layer_weights)}.")
        for w in self.style_layer_weights:
            finite("A style layer weight", w)
        check(sum(self.style_layer_weights) > 0, "Style layer weights must not all be zero.")
        for name in ("style_weight", "content_weight", "tv_weight"):
            finite(name, getattr(self, name))
        finite("style_scale", self.style_scale, 0.05)
        check(self.style_scale <= 8, f"style_scale must be at most 8, got {self.style_scale}.")
        check(self.style_size is None or (isinstance(self.style_size, int) and 32 <= self.style_size <= MAX_SIZE),
              f"style_size must be between 32 and {MAX_SIZE} pixels, got {self.style_size!r}.")
        check(isinstance(self.steps, int) and 1 <= self.steps <= 100_000, f"steps must be 1 to 100000, got {self.steps!r}.")
        finite("coarse_steps", self.coarse_steps, 0.0)
        check(self.final_steps is None or (isinstance(self.final_steps, int) and 1 <= self.final_steps <= 1_000_000),
              f"final_steps must be 1 to 1000000, got {self.final_steps!r}.")
        check(self.init in INITS, f"init must be one of {', '.join(INITS)}, got {self.init!r}.")
        check(self.noise in ("smooth", "matched", "uniform"),
              f"noise must be 'smooth', 'matched' or 'uniform', got {self.noise!r}.")
        check(isinstance(self.seed, int) and self.seed >= 0, f"seed must be a non-negative integer, got {self.seed!r}.")
        opt = self.optimizer
        check(opt.method in ("lbfgs", "adam"), f"optimizer must be 'lbfgs' or 'adam', got {opt.method!r}.")
        check(isinstance(opt.history, int) and 1 <= opt.history <= 200, f"history must be 1 to 200, got {opt.history!r}.")
        finite("tolerance", opt.tolerance)
        check(isinstance(opt.patience, int) and opt.patience >= 1, f"patience must be at least 1, got {opt.patience!r}.")
        finite("lr", opt.lr)
        check(opt.lr > 0, "lr must be positive.")
        check(0 <= opt.beta1 < 1 and 0 <= opt.beta2 < 1, "beta1 and beta2 must be in [0, 1).")
        finite("epsilon", opt.epsilon)


def box_problem(box) -> str | None:
    """What is wrong with a crop box on its own (its fit in an image is checked with the image)."""
    if not (isinstance(box, tuple) and len(box) == 4 and all(isinstance(v, int) and not isinstance(v, bool)
                                                           for v in box)):
        return "a box is four whole numbers x,y,w,h"
    x, y, w, h = box
    if x < 0 or y < 0:
        return f"its corner ({x}, {y}) is outside the image (x and y start at 0)"
    if w < MIN_CROP_SIDE or h < MIN_CROP_SIDE:
        return f"{w}x{h} px is smaller than {MIN_CROP_SIDE}x{MIN_CROP_SIDE} px"
    return None
