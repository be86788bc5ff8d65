"""Images generated for the library tests (no files from outside the repository)."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image


def photo(width: int = 96, height: int = 64, seed: int = 0) -> Image.Image:
    """A smooth random RGB picture."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    base = rng.random(3)
    channels = [np.sin((x * rng.uniform(2, 9) + y * rng.uniform(2, 9)) + base[c] * 6) for c in range(3)]
    pixels = (np.stack(channels, -1) * 0.4 + 0.5 + rng.normal(0, 0.05, (height, width, 3))).clip(0, 1)
    return Image.fromarray((pixels * 255).astype(np.uint8), "RGB")


def encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def png(width: int = 96, height: int = 64, seed: int = 0) -> bytes:
    return encode(photo(width, height, seed), "PNG")


def jpeg(width: int = 96, height: int = 64, seed: int = 0) -> bytes:
    return encode(photo(width, height, seed), "JPEG", quality=90)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` RGB pixels but holds almost no data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + _chunk(b"IEND", b""))


def exif_rotated_jpeg() -> bytes:
    """An 80x40 JPEG (left half red, right half blue) whose EXIF says: rotate 90 degrees clockwise."""
    image = Image.new("RGB", (80, 40), (220, 20, 20))
    image.paste((20, 20, 220), (40, 0, 80, 40))
    exif = image.getexif()
    exif[0x0112] = 6
    return encode(image, "JPEG", quality=95, exif=exif.tobytes())


def animated_gif() -> bytes:
    """Two frames: red, then blue."""
    red, blue = Image.new("RGB", (40, 40), (255, 0, 0)), Image.new("RGB", (40, 40), (0, 0, 255))
    return encode(red, "GIF", save_all=True, append_images=[blue], duration=100, loop=0)
