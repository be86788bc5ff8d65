"""Crop boxes: the region of each style image a texture learns from.

Written ``x,y,w,h`` in the style image's own pixels (``x``, ``y``: the top-left
corner, from 0). Several styles take one box each, separated by ``;``, where an
empty entry means the whole image; a single box applies to every style. A box
must lie inside its image and be at least
:data:`~nst.options.MIN_CROP_SIDE` px on each side: anything else is refused
with the reason, before any work.
"""

from __future__ import annotations

from typing import Sequence

from PIL import Image

from .errors import ParameterError
from .options import CROP_EXAMPLE as EXAMPLE
from .options import MIN_CROP_SIDE

Box = tuple[int, int, int, int]  # x, y, width, height in the style image's pixels


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


def parse(text: str | None) -> tuple[Box | None, ...]:
    """``"x,y,w,h"`` or ``"x,y,w,h; ;x,y,w,h"`` -> boxes (None: the whole image); ``""`` -> ()."""
    text = (text or "").strip()
    if not text:
        return ()
    boxes: list[Box | None] = []
    for index, entry in enumerate(text.split(";")):
        entry = entry.strip()
        if not entry:
            boxes.append(None)
            continue
        parts = [p.strip() for p in entry.split(",")]
        try:
            box = tuple(int(p) for p in parts)
        except ValueError:
            box = ()
        if len(box) != 4:
            where = f" (box {index + 1})" if ";" in text else ""
            raise ParameterError(f"crop must be x,y,w,h in pixels, e.g. {EXAMPLE}; got {entry!r}{where}.")
        problem = box_problem(box)
        if problem:
            raise ParameterError(f"crop {entry!r}: {problem}.")
        boxes.append(box)  # type: ignore[arg-type]
    if all(b is None for b in boxes):
        return ()
    return tuple(boxes)


def format_boxes(boxes: Sequence[Box | None]) -> str:
    return ";".join("" if b is None else ",".join(map(str, b)) for b in boxes)


def for_styles(boxes: Sequence[Box | None], sizes: Sequence[tuple[int, int]],
               names: Sequence[str] | None = None) -> list[Box | None]:
    """One box (or None) per style, each checked against its image's (width, height)."""
    count = len(sizes)
    if not boxes:
        return [None] * count
    if len(boxes) == 1:
        boxes = list(boxes) * count
    elif len(boxes) != count:
        raise ParameterError(f"crop has {len(boxes)} boxes for {count} style{'s' if count != 1 else ''}: "
                             f"give one box for all, or one per style separated by ';'.")
    checked = []
    for index, (box, (width, height)) in enumerate(zip(boxes, sizes)):
        if box is None:
            checked.append(None)
            continue
        label = names[index] if names else (f"style {index + 1}" if count > 1 else "the style image")
        problem = box_problem(box)
        x, y, w, h = box if problem is None else (0, 0, 0, 0)
        if problem is None and (x + w > width or y + h > height):
            problem = (f"it reaches ({x + w}, {y + h}), outside {label} ({width}x{height} px)")
        if problem is not None:
            raise ParameterError(f"crop {','.join(map(str, box))}: {problem}.")
        checked.append(box)
    return checked


def crop(image: Image.Image, box: Box | None) -> Image.Image:
    if box is None:
        return image
    x, y, w, h = box
    return image.crop((x, y, x + w, y + h))


__all__ = ["EXAMPLE", "MIN_CROP_SIDE", "crop", "for_styles", "format_boxes", "parse"]
