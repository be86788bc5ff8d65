"""Decode, validate, normalise, resize and save images.

Everything that enters the engine or the style library passes through
:func:`load`: the file is checked before it is decoded (declared size against a
pixel limit, so a decompression bomb costs nothing), EXIF orientation is applied,
an animation keeps its first frame, and every mode (greyscale, palette,
transparency, CMYK, 16-bit) becomes 8-bit RGB; transparency is composited over
white. Inside the engine an image is a float32 array shaped (H, W, 3) in [0, 1].
"""

from __future__ import annotations

import io
import math
import re
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from . import files
from .errors import ImageError

#: Smallest accepted side, in pixels.
MIN_SIDE = 32
#: Largest accepted image, in pixels (width x height), checked before decoding.
MAX_PIXELS = 50_000_000
#: Longest side over shortest side of an input (a photo, a style): beyond it no size cap means much.
MAX_ASPECT = 16
#: The only formats decoded (Pillow's names): anything else is refused before its decoder runs.
READ_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")
#: Most scans a JPEG may have (a progressive photo has about 10; each costs a pass over every pixel).
MAX_JPEG_SCANS = 100
#: Largest image file read, in bytes.
MAX_FILE_BYTES = 200 * 1024 * 1024
#: A PNG's chunks besides its pixels (text, colour profile, private data...): at most this many, counted
#: before any is parsed (each costs the decoder a step: a million empty ones cost 2.4 s of CPU).
MAX_PNG_EXTRA_CHUNKS = 1_000
#: ... and at most this many bytes in all (a printer's colour profile can be a few MB; text is far less).
MAX_PNG_EXTRA_BYTES = 4 * 1024 * 1024
#: Chunks of pixel data (IDAT, an animation's fcTL and fdAT): an encoder writes one per 8 KiB or so, so
#: this is 800 MB at that rate; a million empty ones cost 0.7 s.
MAX_PNG_DATA_CHUNKS = 100_000
#: A JPEG's segments up to its end (tables, scans, and metadata: EXIF, an ICC profile in pieces, XMP,
#: comments): at most this many, counted before any is parsed (each before the first scan costs the
#: decoder a step in Python: a million empty comments cost 1.3 s). A progressive photo with a profile in
#: twenty pieces and a depth map in extended XMP has a few hundred.
MAX_JPEG_SEGMENTS = 2_000
#: ... of which the metadata (APPn and COM segments) at most this many bytes in all.
MAX_JPEG_META_BYTES = 16 * 1024 * 1024
#: Fill bytes and junk between a JPEG's segments before its first scan (the decoder skips them one byte at
#: a time): at most this many.
MAX_JPEG_SKIPPED_BYTES = 64 * 1024
#: A GIF's extensions (comments, application data, frame controls) before its second frame, which is as far
#: as it is parsed: at most this many (a million empty comments cost 0.26 s).
MAX_GIF_EXTENSIONS = 1_000
#: ... and its data sub-blocks (at most 255 bytes each, walked one at a time) up to there: a file of
#: MAX_FILE_BYTES in full sub-blocks has about 820,000.
MAX_GIF_BLOCKS = 1_000_000
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: A JPEG marker: 0xFF, any fill bytes, then a code that is not a stuffed zero (nor, in a scan, a restart).
_JPEG_MARKER = re.compile(rb"\xff+([^\x00\xff])")
_JPEG_MARKER_IN_SCAN = re.compile(rb"\xff+([^\x00\xd0-\xd7\xff])")
_PNG_DATA_CHUNKS = (b"IDAT", b"fcTL", b"fdAT")
#: Formats we write.
SAVE_FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "webp": "WEBP", "tif": "TIFF", "tiff": "TIFF"}
#: Bits per channel written: 8 in every format; 16 (for print) in PNG and TIFF.
DEPTHS = (8, 16)
#: A photo's colour profile is kept in what is painted from it up to this size (a printer's can be a few MB).
MAX_ICC_BYTES = 4 * 1024 * 1024
#: A photo's resolution is kept when each axis is a number of dots per inch from 1 to this.
MAX_DPI = 100_000

Source = Union[str, Path, bytes, bytearray, BinaryIO, Image.Image]


def _describe(source: Source, name: str | None) -> str:
    if name:
        return name
    if isinstance(source, (str, Path)):
        return str(source)
    return "the image"


def read_file(path: Path | str, name: str | None = None, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (a device or a folder is refused)."""
    path = Path(path).expanduser()
    label = name or str(path)
    if not path.exists():
        raise ImageError(f"{label}: no such file.")
    if path.is_dir():
        raise ImageError(f"{label} is a folder, not an image.")
    if not path.is_file():
        raise ImageError(f"{label} is not a regular file.")
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise ImageError(f"{label} cannot be read ({exc.strerror or exc}).") from None
    if len(data) > limit:
        raise ImageError(f"{label} is larger than {limit // (1024 * 1024)} MB.")
    return data


def open_checked(source: Source, name: str | None = None, *, as_input: bool = True) -> Image.Image:
    """Open an image lazily and check its format and declared size; nothing is decoded yet.

    An input (``as_input``: a photo, a style) must also have sides of at least ``MIN_SIDE`` pixels
    and at most ``MAX_ASPECT``:1; a result of a filter may have any positive size.
    """
    label = _describe(source, name)
    if isinstance(source, Image.Image):
        image = source
    else:
        if isinstance(source, (str, Path)):
            stream: BinaryIO = io.BytesIO(read_file(source, label))
        elif isinstance(source, (bytes, bytearray)):
            if not source:
                raise ImageError(f"{label} is empty.")
            stream = io.BytesIO(bytes(source))
        else:
            stream = source
        _check_png_chunks(stream, label)
        _check_jpeg_and_gif_blocks(stream, label)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                image = Image.open(stream, formats=READ_FORMATS)
        except UnidentifiedImageError:
            raise ImageError(f"{label} is not an image this app reads (PNG, JPEG, WebP, GIF, BMP or TIFF).") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageError(f"{label} declares too many pixels (more than {MAX_PIXELS:,}).") from None
        except Exception as exc:  # noqa: BLE001 - Pillow's parsers raise many types on damaged headers
            raise ImageError(f"{label} cannot be read: {exc}.") from None
    if image.format in ("JPEG", "MPO") and isinstance(getattr(image, "fp", None), io.BytesIO):
        scans = image.fp.getvalue().count(b"\xff\xda")  # start-of-scan markers (0xFF is stuffed in scan data)
        if scans > MAX_JPEG_SCANS:
            raise ImageError(f"{label} is a JPEG of {scans} scans; at most {MAX_JPEG_SCANS} are decoded.")
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageError(
            f"{label} is {width}x{height} = {width * height:,} pixels; the limit is {MAX_PIXELS:,}."
        )
    if not as_input:
        if min(width, height) < 1:
            raise ImageError(f"{label} is {width}x{height}: it has no pixels.")
        return image
    if min(width, height) < MIN_SIDE:
        raise ImageError(f"{label} is {width}x{height}; both sides must be at least {MIN_SIDE} pixels.")
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise ImageError(f"{label} is {width}x{height}: one side is more than {MAX_ASPECT} times the other; "
                         f"crop it to at most {MAX_ASPECT}:1.")
    return image


def _check_png_chunks(stream: BinaryIO, label: str) -> None:
    """Refuse a PNG with too many chunks, or too many bytes of chunks, besides its pixels. Only the
    8-byte chunk headers are read (from the stream's position, which is restored); not a PNG: nothing."""
    if not stream.seekable():
        return
    start = stream.tell()
    try:
        if stream.read(8) != _PNG_SIGNATURE:
            return
        extra = extra_bytes = data = 0
        while True:
            header = stream.read(8)
            if len(header) < 8:
                return  # truncated: the decoder says so
            length, kind = struct.unpack(">I4s", header)
            if kind == b"IEND":
                return
            if kind in _PNG_DATA_CHUNKS:
                data += 1
                if data > MAX_PNG_DATA_CHUNKS:
                    raise ImageError(f"{label} is a PNG of more than {MAX_PNG_DATA_CHUNKS:,} chunks of pixel data; "
                                     f"save it again with an ordinary encoder.")
            else:
                extra += 1
                extra_bytes += length
                if extra > MAX_PNG_EXTRA_CHUNKS or extra_bytes > MAX_PNG_EXTRA_BYTES:
                    raise ImageError(f"{label} is a PNG with more than {MAX_PNG_EXTRA_CHUNKS:,} chunks or "
                                     f"{MAX_PNG_EXTRA_BYTES // (1024 * 1024)} MB besides its pixels (text, colour "
                                     f"profile, private data); save it again without them.")
            stream.seek(length + 4, io.SEEK_CUR)  # the chunk's data and its CRC
    finally:
        stream.seek(start)


def _check_jpeg_and_gif_blocks(stream: BinaryIO, label: str) -> None:
    """Refuse a JPEG or a GIF made of too many blocks besides its pixels (walked on the bytes, at C speed
    through the pixels; the stream's position is unchanged); anything else: nothing."""
    if not stream.seekable():
        return
    start = stream.tell()
    try:
        data = stream.getvalue() if isinstance(stream, io.BytesIO) else stream.read(MAX_FILE_BYTES + 1)
        offset = start if isinstance(stream, io.BytesIO) else 0
    finally:
        stream.seek(start)
    head = data[offset:offset + 6]
    if head[:2] == b"\xff\xd8":
        _check_jpeg_segments(data, offset + 2, label)
    elif head in (b"GIF87a", b"GIF89a"):
        _check_gif_blocks(data, offset, label)


def _check_jpeg_segments(data: bytes, position: int, label: str) -> None:
    segments = meta = skipped = 0
    in_scan = False
    while True:
        found = (_JPEG_MARKER_IN_SCAN if in_scan else _JPEG_MARKER).search(data, position)
        if found is None:
            return  # truncated: the decoder says so
        if not in_scan:
            skipped += found.end() - 2 - position
            if skipped > MAX_JPEG_SKIPPED_BYTES:
                raise ImageError(f"{label} is a JPEG with more than {MAX_JPEG_SKIPPED_BYTES // 1024} KB of padding "
                                 f"between its segments; save it again with an ordinary encoder.")
        code, position = found.group(1)[0], found.end()
        if code == 0xD9:  # end of image (what follows, such as a second picture, is not decoded)
            return
        segments += 1
        if segments > MAX_JPEG_SEGMENTS:
            raise ImageError(f"{label} is a JPEG of more than {MAX_JPEG_SEGMENTS:,} segments; save it again "
                             f"without its extra metadata.")
        if code in (0x01, 0xD8) or 0xD0 <= code <= 0xD7:
            continue  # no length
        if position + 2 > len(data):
            return
        length = (data[position] << 8) | data[position + 1]
        if 0xE0 <= code <= 0xEF or code == 0xFE:
            meta += length
            if meta > MAX_JPEG_META_BYTES:
                raise ImageError(f"{label} is a JPEG with more than {MAX_JPEG_META_BYTES // (1024 * 1024)} MB of "
                                 f"metadata (EXIF, colour profile, XMP, comments); save it again without it.")
        position += length
        in_scan = in_scan or code == 0xDA


def _check_gif_blocks(data: bytes, position: int, label: str) -> None:
    end = len(data)
    if position + 13 > end:
        return
    flags = data[position + 10]
    position += 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    extensions = blocks = frames = 0
    while position < end:
        kind = data[position]
        if kind == 0x21:  # an extension: its label, then sub-blocks
            extensions += 1
            if extensions > MAX_GIF_EXTENSIONS:
                raise ImageError(f"{label} is a GIF with more than {MAX_GIF_EXTENSIONS:,} extensions (comments, "
                                 f"application data) before its second frame; save it again without them.")
            position += 2
        elif kind == 0x2C:  # an image: its descriptor, a local palette, the LZW code size, then sub-blocks
            frames += 1
            if frames == 2 or position + 10 > end:
                return
            flags = data[position + 9]
            position += 11 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
        else:
            return  # the trailer, or damage the decoder reports
        while position < end and data[position]:
            position += data[position] + 1
            blocks += 1
            if blocks > MAX_GIF_BLOCKS:
                raise ImageError(f"{label} is a GIF of more than {MAX_GIF_BLOCKS:,} data blocks before its second "
                                 f"frame; save it again with an ordinary encoder.")
        position += 1


def normalize(image: Image.Image, label: str = "the image") -> Image.Image:
    """Decode fully and return an 8-bit RGB image, upright, transparency over white."""
    try:
        if getattr(image, "is_animated", False):
            image.seek(0)
        image.load()
        ImageOps.exif_transpose(image, in_place=True)  # upright, without a copy of the whole image
        return _to_rgb(image)
    except ImageError:
        raise
    except Exception as exc:  # noqa: BLE001 - decoders raise OSError, ValueError, IndexError, struct.error...
        raise ImageError(f"{label} is damaged or truncated ({exc}).") from None


def _to_rgb(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        array = np.array(image, dtype=np.float32)  # one float32 copy, scaled in place
        top = float(array.max()) if array.size else 0.0
        if mode == "F":
            peak = 1.0 if top <= 1.0 else 255.0
        else:
            peak = 65535.0 if mode.startswith("I;16") or top > 255 else 255.0
        array *= 255.0 / peak
        array += 0.5
        np.clip(array, 0, 255, out=array)
        image = Image.fromarray(array.astype(np.uint8), "L")
        del array
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode == "L" and "transparency" in image.info:
        return _to_rgb(image.convert("LA"))
    if image.mode != "RGB":
        image = image.convert("RGB")
    return image


def load(source: Source, name: str | None = None, *, as_input: bool = True) -> Image.Image:
    """Open, check and normalise an image from a path, bytes, a stream or a PIL image
    (``as_input=False`` for a filter's result: any positive size)."""
    image = open_checked(source, name, as_input=as_input)
    return normalize(image, _describe(source, name))


# --------------------------------------------------------------------------- arrays


def to_array(image: Image.Image) -> np.ndarray:
    """8-bit RGB PIL image -> float32 (H, W, 3) in [0, 1]."""
    return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0


def to_pil(array: np.ndarray) -> Image.Image:
    """float (H, W, 3) in [0, 1] -> 8-bit RGB PIL image (values are clipped)."""
    array = np.asarray(array)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ImageError(f"Expected an (H, W, 3) array, got shape {array.shape}.")
    return Image.fromarray(np.clip(array * 255.0 + 0.5, 0, 255).astype(np.uint8), "RGB")


def fit_long_side(width: int, height: int, long_side: int) -> tuple[int, int]:
    """(width, height) scaled so that the longer side is ``long_side``."""
    if long_side < 1:
        raise ImageError(f"A size must be positive, got {long_side}.")
    scale = long_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """High-quality resize of an 8-bit image to (width, height)."""
    if image.size == tuple(size):
        return image
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def resize_array(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bicubic resize of a float (H, W, C) array to (width, height), without 8-bit rounding."""
    width, height = size
    if array.shape[1] == width and array.shape[0] == height:
        return array
    channels = [
        np.asarray(Image.fromarray(np.ascontiguousarray(array[..., c], dtype=np.float32), "F")
                   .resize((width, height), Image.Resampling.BICUBIC))
        for c in range(array.shape[2])
    ]
    return np.stack(channels, axis=-1).astype(np.float32)


def _fourier_axis(array: np.ndarray, length: int, axis: int) -> np.ndarray:
    """Resample one axis to ``length`` samples as a periodic, band-limited signal (Fourier interpolation).

    Unlike a convolution kernel at a non-integer ratio, this treats every position alike: a shift of
    the input shifts the output, by any fraction of a pixel, so the result has no lattice of sharper
    and softer columns (a kernel makes one with a period of the sizes' greatest common divisor)."""
    old = array.shape[axis]
    if old == length:
        return array
    spectrum = np.fft.fft(array.astype(np.float64), axis=axis)
    keep = min(old, length)
    out = np.zeros(spectrum.shape[:axis] + (length,) + spectrum.shape[axis + 1:], dtype=np.complex128)

    def at(index):
        return (slice(None),) * axis + (index,)

    half = (keep - 1) // 2  # frequencies -half..half are carried over as they are
    out[at(slice(0, half + 1))] = spectrum[at(slice(0, half + 1))]
    if half:
        out[at(slice(length - half, length))] = spectrum[at(slice(old - half, old))]
    if keep % 2 == 0:  # the Nyquist frequency of the smaller size: split (upsampling) or folded (downsampling)
        nyquist = keep // 2
        if length > old:
            out[at(nyquist)] = out[at(length - nyquist)] = spectrum[at(nyquist)] / 2
        else:
            out[at(nyquist)] = spectrum[at(nyquist)] + spectrum[at(old - nyquist)]
    return (np.fft.ifft(out, axis=axis).real * (length / old)).astype(np.float32)


def resize_periodic(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a float (H, W, C) array that tiles (its last column's neighbour is its first) to
    (width, height): the result tiles too, with no edge effect and no resampling lattice."""
    width, height = size
    return _fourier_axis(_fourier_axis(np.asarray(array, dtype=np.float32), height, 0), width, 1)


def tile(array_or_image: np.ndarray | Image.Image, columns: int = 3, rows: int = 3) -> Image.Image:
    """The image repeated ``columns`` x ``rows`` times (how a tileable texture looks in use)."""
    image = array_or_image if isinstance(array_or_image, Image.Image) else to_pil(array_or_image)
    out = Image.new("RGB", (image.width * columns, image.height * rows))
    for row in range(rows):
        for column in range(columns):
            out.paste(image, (column * image.width, row * image.height))
    return out


def wrap_ratio(array: np.ndarray) -> float:
    """How visible the seams are when an image is tiled: the mean absolute difference across its
    wrap-around edges (last column to first, last row to first) over the mean absolute difference
    between neighbouring pixels inside it. About 1 for an image that tiles without a seam."""
    a = np.asarray(array, dtype=np.float64)
    inside = np.concatenate([np.abs(np.diff(a, axis=1)).ravel(), np.abs(np.diff(a, axis=0)).ravel()])
    across = np.concatenate([np.abs(a[:, 0] - a[:, -1]).ravel(), np.abs(a[0] - a[-1]).ravel()])
    return float(across.mean() / max(inside.mean(), 1e-12))


# --------------------------------------------------------------------------- saving


def format_for(path: Path | str) -> str:
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in SAVE_FORMATS:
        raise ImageError(f"Cannot write {path}: use one of {', '.join('.' + s for s in SAVE_FORMATS)}.")
    return SAVE_FORMATS[suffix]


@dataclass(frozen=True)
class PrintInfo:
    """What a print keeps of the photo it was painted from: its resolution and its colour profile."""

    dpi: tuple[float, float] | None = None
    icc_profile: bytes | None = None

    def pillow_options(self) -> dict:
        options: dict = {}
        if self.dpi:
            options["dpi"] = self.dpi
        if self.icc_profile:
            options["icc_profile"] = self.icc_profile
        return options


def print_info(source: Source, name: str | None = None) -> PrintInfo:
    """A photo's resolution (DPI) and ICC profile, read from its header without decoding its pixels. Either is
    left out when it is not sound: a DPI that is not two numbers from 1 to MAX_DPI, a profile larger than
    MAX_ICC_BYTES or without an ICC header (its size in its first four bytes, ``acsp`` at byte 36)."""
    image = source if isinstance(source, Image.Image) else open_checked(source, name)
    dpi = image.info.get("dpi")
    try:
        dpi = tuple(float(v) for v in dpi) if dpi is not None else None
    except (TypeError, ValueError):
        dpi = None
    if dpi is not None and (len(dpi) != 2 or not all(math.isfinite(v) and 1 <= v <= MAX_DPI for v in dpi)):
        dpi = None
    icc = image.info.get("icc_profile")
    if not isinstance(icc, (bytes, bytearray)) or not 128 <= len(icc) <= MAX_ICC_BYTES or icc[36:40] != b"acsp" \
            or struct.unpack(">I", bytes(icc[:4]))[0] != len(icc):
        icc = None
    return PrintInfo(dpi, bytes(icc) if icc is not None else None)


def _levels(array_or_image: np.ndarray | Image.Image, depth: int) -> np.ndarray:
    """(H, W, 3) unsigned integers of ``depth`` bits from a float array in [0, 1] or an 8-bit image."""
    if isinstance(array_or_image, Image.Image):
        array = np.asarray(array_or_image.convert("RGB"), dtype=np.float32) / 255.0
    else:
        array = np.asarray(array_or_image, dtype=np.float32)
        if array.ndim != 3 or array.shape[2] != 3:
            raise ImageError(f"Expected an (H, W, 3) array, got shape {array.shape}.")
    top = (1 << depth) - 1
    return np.clip(array * top + 0.5, 0, top).astype(np.uint16 if depth > 8 else np.uint8)


def _png16(levels: np.ndarray, info: PrintInfo) -> bytes:
    """A 16-bit RGB PNG (Pillow writes 16 bits for one channel only)."""
    import zlib

    height, width = levels.shape[:2]

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    out = [_PNG_SIGNATURE, chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0))]
    if info.icc_profile:
        out.append(chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(info.icc_profile)))
    if info.dpi:
        out.append(chunk(b"pHYs", struct.pack(">IIB", *(round(d / 0.0254) for d in info.dpi), 1)))
    rows = np.empty((height, 1 + width * 6), dtype=np.uint8)
    rows[:, 0] = 0  # no filter
    rows[:, 1:] = levels.astype(">u2").view(np.uint8).reshape(height, width * 6)
    out.append(chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)))
    out.append(chunk(b"IEND", b""))
    return b"".join(out)


def _tiff(levels: np.ndarray, info: PrintInfo) -> bytes:
    """An uncompressed RGB TIFF of 8 or 16 bits per channel, with its resolution and colour profile."""
    height, width = levels.shape[:2]
    bits = 16 if levels.dtype == np.uint16 else 8
    pixels = levels.astype("<u2").tobytes() if bits == 16 else levels.tobytes()
    dpi = info.dpi or (72.0, 72.0)
    entries = []  # (tag, type, count, value bytes)
    short, long_, rational, undefined = 3, 4, 5, 7

    def rational_of(value: float) -> bytes:
        return struct.pack("<II", round(value * 1000), 1000)

    entries.append((256, long_, 1, struct.pack("<I", width)))
    entries.append((257, long_, 1, struct.pack("<I", height)))
    entries.append((258, short, 3, struct.pack("<HHH", bits, bits, bits)))
    entries.append((259, short, 1, struct.pack("<H", 1)))  # no compression
    entries.append((262, short, 1, struct.pack("<H", 2)))  # RGB
    entries.append((273, long_, 1, b"\0\0\0\0"))  # strip offset: filled in below
    entries.append((277, short, 1, struct.pack("<H", 3)))
    entries.append((278, long_, 1, struct.pack("<I", height)))  # one strip
    entries.append((279, long_, 1, struct.pack("<I", len(pixels))))
    entries.append((282, rational, 1, rational_of(dpi[0])))
    entries.append((283, rational, 1, rational_of(dpi[1])))
    entries.append((284, short, 1, struct.pack("<H", 1)))  # chunky
    entries.append((296, short, 1, struct.pack("<H", 2)))  # inches
    if info.icc_profile:
        entries.append((34675, undefined, len(info.icc_profile), info.icc_profile))
    ifd_size = 2 + 12 * len(entries) + 4
    extra_at = 8 + ifd_size
    extras = b""
    values = []
    for tag, kind, count, value in entries:
        if len(value) <= 4:
            values.append(value.ljust(4, b"\0"))
        else:
            if (extra_at + len(extras)) % 2:
                extras += b"\0"
            values.append(struct.pack("<I", extra_at + len(extras)))
            extras += value
    pixels_at = extra_at + len(extras) + (extra_at + len(extras)) % 2
    ifd = struct.pack("<H", len(entries))
    for (tag, kind, count, _), value in zip(entries, values):
        if tag == 273:
            value = struct.pack("<I", pixels_at)
        ifd += struct.pack("<HHI", tag, kind, count) + value
    ifd += struct.pack("<I", 0)
    head = b"II*\0" + struct.pack("<I", 8) + ifd + extras
    return head + b"\0" * (pixels_at - len(head)) + pixels


def encode(array_or_image: np.ndarray | Image.Image, fmt: str = "PNG", quality: int = 92, *,
           depth: int | None = None, info: PrintInfo | None = None) -> bytes:
    """Encode to PNG, JPEG, WebP or TIFF bytes: 8 bits per channel, or 16 in PNG and TIFF (from a float
    array: the painting's own precision; a TIFF, a format for print, has 16 unless told otherwise);
    ``info``: the photo's resolution and colour profile, kept."""
    info = info or PrintInfo()
    fmt = fmt.upper()
    if fmt == "JPG":
        fmt = "JPEG"
    if depth is None:
        depth = 16 if fmt == "TIFF" else 8
    if depth not in DEPTHS:
        raise ImageError(f"An image is written with 8 or 16 bits per channel, not {depth!r}.")
    if depth == 16 and fmt not in ("PNG", "TIFF"):
        raise ImageError(f"16 bits per channel are written as PNG or TIFF, not {fmt}.")
    if fmt == "TIFF":
        return _tiff(_levels(array_or_image, depth), info)
    if depth == 16:
        return _png16(_levels(array_or_image, 16), info)
    image = array_or_image if isinstance(array_or_image, Image.Image) else to_pil(array_or_image)
    buffer = io.BytesIO()
    if fmt in ("JPEG", "WEBP"):
        image.save(buffer, fmt, quality=quality, **info.pillow_options())
    else:
        image.save(buffer, fmt, optimize=False, **info.pillow_options())
    return buffer.getvalue()


def save(array_or_image: np.ndarray | Image.Image, path: Path | str, *, depth: int | None = None,
         info: PrintInfo | None = None) -> Path:
    """Write an image; the format follows the file's suffix (``depth``: 8 bits per channel, 16 in a PNG or a
    TIFF; by default 16 in a TIFF, else 8). The write is atomic and follows no link."""
    path = Path(path).expanduser()
    data = encode(array_or_image, format_for(path), depth=depth, info=info)
    if not path.parent.exists():
        raise ImageError(f"Cannot write {path}: the folder {path.parent} does not exist.")
    try:
        files.write_atomic(path, data)  # through a new file beside it: never through a link
    except OSError as exc:
        raise ImageError(f"Cannot write {path} ({exc.strerror or exc}).") from None
    return path


def thumbnail(image: Image.Image, max_side: int = 320) -> Image.Image:
    """A copy no larger than ``max_side`` on its long side (made without copying the image whole)."""
    if max(image.size) <= max_side:
        return image.copy()
    return image.resize(fit_long_side(*image.size, max_side), Image.Resampling.LANCZOS, reducing_gap=2.0)
