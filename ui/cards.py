"""The picture on a gallery card: the painting, or the painting beside a result made with it, in one 4:3 frame.

Every card gets the same frame, so the gallery's rows line up whatever the paintings' shapes. Pictures
are cached by image id (ids are never reused, so an id always names the same pixels).
"""

from __future__ import annotations

import streamlit as st
from PIL import Image

from nst import images

from . import services

FRAME = (400, 300)
GAP = 4


def _cover(picture: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Scale to cover ``size`` and crop the rest (a little above the centre: faces and skies sit high)."""
    scale = max(size[0] / picture.width, size[1] / picture.height)
    width, height = max(size[0], round(picture.width * scale)), max(size[1], round(picture.height * scale))
    resized = picture.resize((width, height), Image.Resampling.LANCZOS)
    left = (width - size[0]) // 2
    top = int((height - size[1]) * 0.4)
    return resized.crop((left, top, left + size[0], top + size[1]))


@st.cache_data(max_entries=256, show_spinner=False)
def card_picture(painting_id: int, result_id: int | None) -> bytes:
    library = services.library()

    def load(image_id: int) -> Image.Image:
        return images.load(library.image_bytes(image_id), as_input=False).convert("RGB")

    painting = load(painting_id)
    if result_id is None:
        frame = _cover(painting, FRAME)
    else:
        half = ((FRAME[0] - GAP) // 2, FRAME[1])
        frame = Image.new("RGB", FRAME, (255, 255, 255))
        frame.paste(_cover(painting, half), (0, 0))
        frame.paste(_cover(load(result_id), half), (FRAME[0] - half[0], 0))
    return images.encode(frame, "JPEG", quality=88)


#: The painting's corner on a try-on card: this fraction of the frame's width, with a white border.
INSET = 0.3
BORDER = 3


@st.cache_data(max_entries=256, show_spinner=False)
def tryon_picture(painting_id: int, painted: bytes) -> bytes:
    """A try-on card: the user's photo painted in the style fills the frame, the painting (its stored
    thumbnail: the corner is a quarter of it) in a corner."""
    frame = _cover(images.load(painted, as_input=False).convert("RGB"), FRAME)
    painting = images.load(services.library().thumbnail_bytes(painting_id), as_input=False).convert("RGB")
    width = round(FRAME[0] * INSET)
    corner = _cover(painting, (width, round(width * FRAME[1] / FRAME[0])))
    left, top = FRAME[0] - corner.width - 2 * BORDER, FRAME[1] - corner.height - 2 * BORDER
    frame.paste((255, 255, 255), (left, top, FRAME[0], FRAME[1]))
    frame.paste(corner, (left + BORDER, top + BORDER))
    return images.encode(frame, "JPEG", quality=88)
