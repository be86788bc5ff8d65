"""A long render's image at the end of each finished scale, so that a retry resumes there.

A print-size painting runs for many minutes; a worker lost in its last scales would leave its retry to
start over. The worker running a render stores, at the end of each scale but the last, that scale's image
(:meth:`Checkpoints.save`: only while the render is running and is its own); the worker that takes the
render again reads it back (:meth:`Checkpoints.latest`) and the engine resumes after that scale. The row
is deleted when the render ends (:meth:`Checkpoints.drop`) or with the render.

A checkpoint crosses the database boundary: whoever can write to the database can write one. It is read
as any stored image is: its size is measured in the database and a value larger than any file the library
takes is refused unread, its scale must be a small whole number, and its bytes are decoded only as PNG,
through :func:`nst.images.load` (the pixel and chunk bounds of every upload), and only when its PNG header
declares the size its row does (a larger picture is never decoded to be refused). The reader passes the
render's own plan of scales (``sizes``): a row must name a scale before the last and declare that scale's
size, so a tampered row cannot make a worker decode a picture of many megapixels for a 64 px render.
Anything else is a :class:`CheckpointError` saying why; the worker then starts the render over.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from sqlalchemy import case, delete, select
from sqlalchemy.orm import Session

from nst import images
from nst.errors import ImageError

from . import stored
from .errors import LibraryError
from .ingest import MAX_FILE_BYTES
from .models import Render, RenderCheckpoint, utcnow
from .unit_of_work import UnitOfWork

#: A render has at most this many scales (sqrt(2) apart from 32 px to far beyond any size the engine paints).
MAX_SCALE = 64


class CheckpointError(LibraryError):
    """A stored checkpoint cannot be used (damaged, oversized, not a PNG, not the size it says)."""


@dataclass(frozen=True)
class Checkpoint:
    scale: int  # the finished scale (0: the coarsest)
    image: np.ndarray  # (H, W, 3) float32 in [0, 1]


class Checkpoints:
    """The checkpoints repository (see the module's docstring)."""

    def __init__(self, unit_of_work: UnitOfWork):
        self.unit_of_work = unit_of_work

    def save(self, render_id: int, owner: str, scale: int, image: np.ndarray) -> bool:
        """Store ``image`` as render ``render_id``'s image after scale ``scale``, if the render is running
        and ``owner``'s; returns whether it was stored."""
        if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or not 0 <= scale < MAX_SCALE:
            raise CheckpointError(f"A checkpoint's scale is a whole number from 0 to {MAX_SCALE - 1}, not {scale!r}.")
        data = images.encode(image, "PNG")
        if len(data) > MAX_FILE_BYTES:
            raise CheckpointError(f"A checkpoint of {len(data):,} bytes is more than a stored image may have.")
        height, width = np.asarray(image).shape[:2]

        def work(s: Session) -> bool:
            running = s.scalar(select(Render.id).where(Render.id == render_id, Render.status == "running",
                                                      Render.owner == owner))
            if running is None:
                return False
            row = s.get(RenderCheckpoint, render_id)
            if row is None:
                s.add(RenderCheckpoint(render_id=render_id, scale=int(scale), width=width, height=height, data=data,
                                       created_at=utcnow()))
            else:
                row.scale, row.width, row.height, row.data, row.created_at = int(scale), width, height, data, utcnow()
            return True

        return self.unit_of_work.write(work)

    def latest(self, render_id: int, sizes: Sequence[tuple[int, int]] | None = None) -> Checkpoint | None:
        """Render ``render_id``'s checkpoint, checked and decoded; None if it has none. With ``sizes`` (the
        render's (width, height) at each scale, coarse to fine), only a checkpoint after a scale before the
        last, declaring that scale's size, is read. A checkpoint that cannot be used raises
        :class:`CheckpointError` with the reason."""
        size = stored.byte_length(RenderCheckpoint.data)

        def work(s: Session):
            return s.execute(select(stored.raw(RenderCheckpoint.scale), stored.raw(RenderCheckpoint.width),
                                    stored.raw(RenderCheckpoint.height),
                                    case((size <= MAX_FILE_BYTES, stored.raw(RenderCheckpoint.data)), else_=None), size)
                             .where(RenderCheckpoint.render_id == render_id)).first()

        row = self.unit_of_work.read(work)
        if row is None:
            return None
        label = f"Render {render_id}'s checkpoint"
        scale, width, height = (_whole(v) for v in row[:3])
        if scale is None or not 0 <= scale < MAX_SCALE:
            raise CheckpointError(f"{label} names no scale from 0 to {MAX_SCALE - 1}; it was not used.")
        if width is None or height is None:
            raise CheckpointError(f"{label} declares no whole width and height; it was not used.")
        if sizes is not None:  # the render's own plan: its size at that scale, nothing larger, is decoded
            if scale >= len(sizes) - 1:
                raise CheckpointError(f"{label} follows scale {scale}, but the render resumes only after one of "
                                      f"its first {max(0, len(sizes) - 1)} scales; it was not used.")
            if (width, height) != tuple(sizes[scale]):
                raise CheckpointError(f"{label} declares {width}x{height}, not the {sizes[scale][0]}x{sizes[scale][1]} "
                                      f"of the render's scale {scale}; it was not decoded.")
        if row[4] is None:
            raise CheckpointError(f"{label} holds no image; it was not used.")
        if row[3] is None:
            raise CheckpointError(f"{label} is stored with {row[4]:,} bytes, more than the "
                                  f"{MAX_FILE_BYTES // 2 ** 20} MiB a stored image may have; it was not read.")
        data = row[3].encode("utf-8", "surrogateescape") if isinstance(row[3], str) else bytes(row[3])
        if not data.startswith(b"\x89PNG\r\n\x1a\n"):
            raise CheckpointError(f"{label} is not a PNG; it was not decoded.")
        if data[12:16] == b"IHDR" and len(data) >= 24:  # the size its header declares, before any decoding
            header = (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big"))
            if header != (width, height):
                raise CheckpointError(f"{label}'s PNG header says {header[0]}x{header[1]}, not the {width}x{height} "
                                      f"its row declares; it was not decoded.")
        try:
            picture = images.load(data, label, as_input=False)
        except ImageError as exc:
            raise CheckpointError(f"{exc} It was not used.") from None
        if picture.size != (width, height):
            raise CheckpointError(f"{label} is {picture.width}x{picture.height}, not the {width}x{height} its row "
                                  f"declares; it was not used.")
        return Checkpoint(scale, images.to_array(picture))

    def drop(self, render_id: int) -> None:
        self.unit_of_work.write(lambda s: s.execute(delete(RenderCheckpoint)
                                                    .where(RenderCheckpoint.render_id == render_id)))


def _whole(value) -> int | None:
    """A stored whole number read raw (bytes on SQLite, text on PostgreSQL): at most 6 digits, else None."""
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("ascii", "replace")
    text = str(value).strip() if value is not None else ""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 6 else None
