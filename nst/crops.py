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

from .options import CROP
from .params import check_boxes
from .options import CROP_EXAMPLE as EXAMPLE
from .options import MIN_CROP_SIDE

Box = tuple[int, int, int, int]  # x, y, width, height in the style image's pixels


def parse(text: str | None) -> tuple[Box | None, ...]:
    """``"x,y,w,h"`` or ``"x,y,w,h; ;x,y,w,h"`` -> checked boxes (None: the whole image); ``""`` -> ()."""
    return CROP.coerce(text or "")


def format_boxes(boxes: Sequence[Box | None]) -> str:
    return CROP.text(boxes)


def check(boxes: Sequence[Box | None], sizes: Sequence[tuple[int, int]] | None = None,
          names: Sequence[str] | None = None) -> tuple[Box | None, ...]:
    """Crop boxes checked (:func:`nst.params.check_boxes`, each side at least :data:`MIN_CROP_SIDE`): on
    their own, and with the styles' (width, height) ``sizes`` one per style, each inside its image."""
    return check_boxes(boxes, MIN_CROP_SIDE, sizes, names)


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
