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
from .params import shown_value
from .options import CROP_EXAMPLE as EXAMPLE
from .options import MIN_CROP_SIDE

Box = tuple[int, int, int, int]  # x, y, width, height in the style image's pixels


def parse(text: str | None) -> tuple[Box | None, ...]:
    """``"x,y,w,h"`` or ``"x,y,w,h; ;x,y,w,h"`` -> checked boxes (None: the whole image); ``""`` -> ()."""
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
        boxes.append(box)  # type: ignore[arg-type]
    return check(boxes)


def format_boxes(boxes: Sequence[Box | None]) -> str:
    return ";".join("" if b is None else ",".join(map(str, b)) for b in boxes)


def check(boxes: Sequence[Box | None], sizes: Sequence[tuple[int, int]] | None = None,
          names: Sequence[str] | None = None) -> tuple[Box | None, ...]:
    """Crop boxes checked, the one place they are. Without ``sizes``: each box on its own (four whole numbers,
    its corner in the image, each side at least :data:`MIN_CROP_SIDE`), and () when no box is given. With the
    styles' (width, height) ``sizes``: one box (or None) per style (a single box applies to every style), each
    inside its image."""
    boxes = tuple(boxes)
    for box in boxes:
        if box is None:
            continue
        if not (isinstance(box, tuple) and len(box) == 4
                and all(isinstance(v, int) and not isinstance(v, bool) for v in box)):
            raise ParameterError(f"crop {shown_value(box)}: a box is four whole numbers x,y,w,h.")
        x, y, w, h = box
        problem = None
        if x < 0 or y < 0:
            problem = f"its corner ({x}, {y}) is outside the image (x and y start at 0)"
        elif w < MIN_CROP_SIDE or h < MIN_CROP_SIDE:
            problem = f"{w}x{h} px is smaller than {MIN_CROP_SIDE}x{MIN_CROP_SIDE} px"
        if problem:
            raise ParameterError(f"crop {','.join(map(str, box))}: {problem}.")
    if sizes is None:
        return () if all(b is None for b in boxes) else boxes
    count = len(sizes)
    if not any(b is not None for b in boxes):
        return (None,) * count
    if len(boxes) == 1:
        boxes = boxes * count
    elif len(boxes) != count:
        raise ParameterError(f"crop has {len(boxes)} boxes for {count} style{'s' if count != 1 else ''}: "
                             f"give one box for all, or one per style separated by ';'.")
    for index, (box, (width, height)) in enumerate(zip(boxes, sizes)):
        if box is not None and (box[0] + box[2] > width or box[1] + box[3] > height):
            label = names[index] if names else (f"style {index + 1}" if count > 1 else "the style image")
            x, y, w, h = box
            raise ParameterError(f"crop {x},{y},{w},{h}: it reaches ({x + w}, {y + h}), outside {label} "
                                 f"({width}x{height} px).")
    return boxes


def for_styles(boxes: Sequence[Box | None], sizes: Sequence[tuple[int, int]],
               names: Sequence[str] | None = None) -> list[Box | None]:
    """One box (or None) per style, checked against its image's (width, height) (:func:`check`)."""
    return list(check(boxes, sizes, names))


def crop(image: Image.Image, box: Box | None) -> Image.Image:
    if box is None:
        return image
    x, y, w, h = box
    return image.crop((x, y, x + w, y + h))


__all__ = ["EXAMPLE", "MIN_CROP_SIDE", "check", "crop", "for_styles", "format_boxes", "parse"]
