"""Scale planning: the sizes a coarse-to-fine render runs through, its step budget at each, and the
size each style image is seen at, at each.

A render runs from about ``start_size`` px up by sqrt(2) per scale to the requested size. Each scale
has its own style targets: the style image resized in proportion to the result (times
``style_scale``), so strokes keep their size relative to it. A texture with a width and height
instead sees its styles at ``stroke_scale`` (1.0: the painting as if STROKE_REFERENCE_SIDE px on its
long side), whatever its own size, and its schedule starts where the style is about ``start_size``
px. A tileable texture's scales are multiples of the deepest style layer's stride, so that pooling
closes on itself on the torus.

Plain arithmetic on sizes (no TensorFlow): the engine plans with it, and the benchmark plans the same
sizes with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from . import images
from .settings import STROKE_REFERENCE_SIDE, Box, Settings
from .weights import LAYERS

Size = tuple[int, int]  # (width, height)

#: Largest style image side used for targets (bounds memory for huge style scales).
MAX_STYLE_SIDE = 2048
#: Smallest side of any image the network sees (results, styles).
MIN_SIDE = 32
#: Each scale is this much larger than the one before.
SCALE_FACTOR = math.sqrt(2)


@dataclass(frozen=True)
class Pyramid:
    """The plan of one render, coarse to fine."""

    final: Size  # the result's size
    sizes: tuple[Size, ...]  # the canvas at each scale (the last may differ from ``final``: see aligned)
    steps: tuple[int, ...]  # the evaluation budget at each scale
    style_sizes: tuple[tuple[Size, ...], ...]  # at each scale, the size each style image is seen at


def fit_size(width: int, height: int, long_side: int) -> Size:
    """(width, height) with the given long side, grown if needed so the short side is at least MIN_SIDE
    (VGG19 needs 16 px to reach block5; results under 32 px are not worth keeping)."""
    w, h = images.fit_long_side(width, height, long_side)
    if min(w, h) < MIN_SIDE:
        grow = MIN_SIDE / min(w, h)
        w, h = max(MIN_SIDE, round(w * grow)), max(MIN_SIDE, round(h * grow))
    return w, h


def plan_sizes(final: Size, start_size: int) -> list[Size]:
    """(width, height) per scale: the final size, then down by sqrt(2) while above ``start_size``."""
    width, height = final
    long_side = max(width, height)
    sizes = [final]
    side = long_side / SCALE_FACTOR
    while side >= start_size - 0.5:
        scale = side / long_side
        sizes.append((max(MIN_SIDE, round(width * scale)), max(MIN_SIDE, round(height * scale))))
        side /= SCALE_FACTOR
    return sizes[::-1]


def stride(layer: str) -> int:
    """How many image pixels one position of ``layer`` steps over (1 in block1 ... 16 in block5)."""
    return 2 ** (int(layer.split("_")[0].removeprefix("block")) - 1)


def aligned(sizes: Sequence[Size], align: int) -> list[Size]:
    """Sizes rounded to multiples of ``align`` (at least MIN_SIDE), repeats dropped. A final size that is
    not such a multiple is synthesized at the nearest one and resampled (periodically) at the end."""
    def side(value: int) -> int:
        return max(align * math.ceil(MIN_SIDE / align), align * round(value / align))

    out: list[Size] = []
    for width, height in sizes:
        size = (side(width), side(height))
        if not out or out[-1] != size:
            out.append(size)
    return out


def step_budgets(settings: Settings, count: int) -> list[int]:
    """Evaluations at each of ``count`` scales: ``steps`` at the final one (or ``final_steps``), and
    ``coarse_steps`` times as many at each coarser one as at the next."""
    budgets = [max(1, round(settings.steps * settings.coarse_steps ** (count - 1 - i))) for i in range(count)]
    if settings.final_steps is not None:
        budgets[-1] = settings.final_steps
    return budgets


def stroke_size(image_size: Size, box: Box | None, stroke_scale: float) -> Size:
    """The size a style image's region (``box``, or all of it) is seen at, at a texture's final scale:
    the painting as if STROKE_REFERENCE_SIDE px on its long side, times ``stroke_scale``."""
    factor = stroke_scale * STROKE_REFERENCE_SIDE / max(image_size)
    width, height = (image_size if box is None else box[2:])
    factor = min(factor, MAX_STYLE_SIDE / max(width, height))
    return max(1, round(width * factor)), max(1, round(height * factor))


def style_size(image_size: Size, scale_long: int, final_long: int, settings: Settings, texture: bool) -> Size:
    """A style image's size at a scale whose long side is ``scale_long``: in proportion to the result
    (or to ``style_size``), times ``style_scale``; a square texture sees a square style."""
    base = settings.style_size if settings.style_size is not None else final_long
    long_side = base * settings.style_scale * scale_long / final_long
    long_side = int(round(min(MAX_STYLE_SIDE, long_side)))
    if texture and settings.square:
        side = max(MIN_SIDE, long_side)
        return side, side
    return fit_size(image_size[0], image_size[1], long_side)


def scaled(size: Size, ratio: float) -> Size:
    """``size`` with its long side times ``ratio`` (at least MIN_SIDE a side)."""
    return fit_size(size[0], size[1], max(1, round(max(size) * ratio)))


def texture_start(start_size: int, final: Size, stroke_sizes: Sequence[Size]) -> int:
    """Where a texture seen at ``stroke_sizes`` starts: where the (largest) style is about ``start_size`` px."""
    return round(start_size * max(1.0, max(final) / max(max(size) for size in stroke_sizes)))


def transfer(settings: Settings, content_size: Size, style_sizes: Sequence[Size]) -> Pyramid:
    """The plan of a style transfer of a photo of ``content_size`` with styles of ``style_sizes``."""
    final = fit_size(content_size[0], content_size[1], settings.size)
    return _plan(settings, final, style_sizes, texture=False)


def texture(settings: Settings, style_sizes: Sequence[Size], boxes: Sequence[Box | None] | None = None) -> Pyramid:
    """The plan of a texture from styles of ``style_sizes`` (whole images), each learnt from its crop box
    in ``boxes`` (None, or a None entry: the whole image); the boxes are already checked."""
    boxes = list(boxes) if boxes else [None] * len(style_sizes)
    strokes = None
    if settings.width is not None:
        final = (settings.width, settings.height)
        if settings.style_size is None:
            strokes = [stroke_size(size, box, settings.stroke_scale) for size, box in zip(style_sizes, boxes)]
    elif settings.square:
        final = (settings.size, settings.size)
    else:
        final = fit_size(style_sizes[0][0], style_sizes[0][1], settings.size)
    learnt = [size if box is None else tuple(box[2:]) for size, box in zip(style_sizes, boxes)]
    return _plan(settings, final, learnt, texture=True, strokes=strokes)


def _plan(settings: Settings, final: Size, style_sizes: Sequence[Size], *, texture: bool,
          strokes: Sequence[Size] | None = None) -> Pyramid:
    start = settings.start_size if strokes is None else texture_start(settings.start_size, final, strokes)
    sizes = plan_sizes(final, start)
    if settings.tileable:  # every scale a multiple of the deepest layer's stride: then pooling closes on itself
        sizes = aligned(sizes, stride(max(settings.style_layers, key=LAYERS.index)))
    final_long = max(final)
    if strokes is None:
        per_scale = [tuple(style_size(image, max(size), final_long, settings, texture) for image in style_sizes)
                     for size in sizes]
    else:
        per_scale = [tuple(scaled(stroke, max(size) / final_long) for stroke in strokes) for size in sizes]
    return Pyramid(final=final, sizes=tuple(sizes), steps=tuple(step_budgets(settings, len(sizes))),
                   style_sizes=tuple(per_scale))
