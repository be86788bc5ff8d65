"""Reading an image for the library: raw bytes in, validated and described image out.

Every image the library stores goes through :func:`prepare_image`, which uses
:mod:`nst.images` to refuse what cannot be used (not an image, truncated, too
small, too many pixels) before anything is written, and computes what the
library keeps besides the original bytes: digests, size, format, thumbnail. The
decoded picture comes along too (it is not stored), so that whoever brought the
image in can use it without decoding the image a second time.
"""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Union

from PIL import Image

from nst import images, targets
from nst.errors import ImageError

#: Largest file accepted, in bytes (the pixel limit is checked separately, before decoding).
MAX_FILE_BYTES = images.MAX_FILE_BYTES
#: What an image file may carry beyond its raw pixels (metadata, colour profiles) before it is re-encoded.
RASTER_SLACK_BYTES = 256 * 1024
#: Long side of stored thumbnails, in pixels.
THUMBNAIL_SIDE = 320

Source = Union[str, os.PathLike, bytes, bytearray, memoryview, BinaryIO]


@dataclass(frozen=True, repr=False)
class PreparedImage:
    data: bytes  # the original bytes, as given (without anything after the end of the image)
    sha256: str  # of ``data``
    pixel_digest: str  # nst.targets.image_digest of the decoded, normalised pixels
    width: int  # of the normalised (upright) image
    height: int
    format: str  # as detected by Pillow, e.g. "JPEG"
    thumbnail: bytes  # JPEG
    picture: Image.Image | None = field(default=None, compare=False)  # decoded and normalised; not stored


def read_source(source: Source, label: str | None = None) -> tuple[bytes, str]:
    """The bytes of a path, bytes or binary stream, and a label for messages."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, label = bytes(source), label or "the image"
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser()
        label = label or str(path)
        if not path.is_file():
            images.open_checked(path, label)  # raises the right message (missing, a folder...)
            raise ImageError(f"{label} is not a regular file.")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ImageError(f"{label} is larger than {MAX_FILE_BYTES // 2**20} MiB.")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ImageError(f"{label} cannot be read ({exc.strerror or exc}).") from None
    elif hasattr(source, "read"):
        label = label or getattr(source, "name", None) or "the upload"
        data = source.read(MAX_FILE_BYTES + 1)
        if not isinstance(data, (bytes, bytearray)):
            raise ImageError(f"{label} must be opened in binary mode.")
        data = bytes(data)
    else:
        raise ImageError(f"Cannot read an image from a {type(source).__name__}; give a path, bytes or a binary file.")
    if len(data) > MAX_FILE_BYTES:
        raise ImageError(f"{label} is larger than {MAX_FILE_BYTES // 2**20} MiB.")
    return data, str(label)


def _png_end(data: bytes) -> int | None:
    """Where a PNG's IEND chunk ends (a chunk is length, type, data, CRC)."""
    position = 8
    while position + 12 <= len(data):
        length = struct.unpack(">I", data[position:position + 4])[0]
        kind = data[position + 4:position + 8]
        position += 12 + length
        if kind == b"IEND":
            return position
    return None


def _jpeg_end(data: bytes) -> int | None:
    """Just past a JPEG's last end-of-image marker."""
    end = data.rfind(b"\xff\xd9")
    return end + 2 if end > 0 else None


def _riff_end(data: bytes) -> int | None:
    """A WebP (RIFF) file's length, from its header."""
    return 8 + struct.unpack("<I", data[4:8])[0] if len(data) >= 12 else None


def _bmp_end(data: bytes) -> int | None:
    return struct.unpack("<I", data[2:6])[0] if len(data) >= 6 else None


_END_OF = {"PNG": _png_end, "JPEG": _jpeg_end, "MPO": _jpeg_end, "WEBP": _riff_end, "BMP": _bmp_end}


def without_trailing_bytes(data: bytes, fmt: str) -> bytes:
    """The image's own bytes: whatever a file carries after the end of its image is cut off."""
    find_end = _END_OF.get(fmt)
    end = find_end(data) if find_end else None
    return data[:end] if end is not None and 0 < end < len(data) else data


def prepare_image(source: Source, label: str | None = None, *, result: bool = False) -> PreparedImage:
    """Read, validate and normalise an image; raises :class:`nst.errors.ImageError` with a clear message.

    A ``result`` of a filter may have any positive size; inputs follow :func:`nst.images.open_checked`.
    """
    data, label = read_source(source, label)
    if not data:
        raise ImageError(f"{label} is empty.")
    opened = images.open_checked(data, label, as_input=not result)
    fmt = (opened.format or "unknown").upper()
    picture = images.normalize(opened, label)
    data = without_trailing_bytes(data, fmt)
    if len(data) > picture.width * picture.height * 4 + RASTER_SLACK_BYTES:
        # larger than its own raw pixels: a payload rides along (in a format we cannot cut); keep the pixels
        data, fmt = images.encode(picture, "PNG"), "PNG"
    thumb = images.encode(images.thumbnail(picture, THUMBNAIL_SIDE), "JPEG", quality=85)
    return PreparedImage(
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        pixel_digest=targets.image_digest(picture),
        width=picture.width,
        height=picture.height,
        format=fmt[:16],
        thumbnail=thumb,
        picture=picture,
    )
