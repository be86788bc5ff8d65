"""Decoding and validation: every bad input gets a clear error; odd modes are normalised."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from nst import images
from nst.errors import ImageError


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a size but carries (almost) no pixels: a decompression bomb's header."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b"")


def encoded(image: Image.Image, fmt: str = "PNG", **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def test_missing_file(tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        images.load(tmp_path / "missing.jpg")


def test_a_folder_is_not_an_image(tmp_path):
    with pytest.raises(ImageError, match="folder"):
        images.load(tmp_path)


def test_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("just some text, not pixels")
    with pytest.raises(ImageError, match="not an image"):
        images.load(path)


def test_empty_bytes():
    with pytest.raises(ImageError, match="empty"):
        images.load(b"")


def test_one_pixel_image_is_too_small():
    with pytest.raises(ImageError, match="1x1.*at least 32"):
        images.load(encoded(Image.new("RGB", (1, 1))))


@pytest.mark.parametrize("width, height", [(100_000, 100_000), (9000, 9000)])
def test_enormous_declared_size_is_refused_before_decoding(width, height):
    with pytest.raises(ImageError, match="pixels"):
        images.load(png_header_only(width, height), name="bomb.png")


def test_truncated_file_is_refused():
    data = encoded(Image.effect_noise((200, 200), 40).convert("RGB"), "JPEG", quality=90)
    with pytest.raises(ImageError, match="damaged or truncated"):
        images.load(data[: len(data) // 2])


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "P", "CMYK", "I;16", "I", "F", "1"])
def test_every_mode_becomes_rgb(mode):
    base = Image.effect_noise((40, 36), 60)
    image = base.convert(mode) if mode not in ("I;16", "I", "F") else Image.fromarray(
        (np.asarray(base, dtype=np.float64) * {"I;16": 257, "I": 257, "F": 1 / 255}[mode]).astype(
            {"I;16": np.uint16, "I": np.int32, "F": np.float32}[mode]))
    out = images.load(image)
    assert out.mode == "RGB" and out.size == (40, 36)
    array = images.to_array(out)
    assert array.dtype == np.float32 and array.min() >= 0 and array.max() <= 1
    if mode in ("L", "I;16", "I", "F"):
        # Greyscale stays greyscale and keeps its values (16-bit is scaled to 8 bits).
        np.testing.assert_allclose(np.asarray(out)[..., 0], np.asarray(base), atol=1)


def test_transparency_is_composited_over_white():
    image = Image.new("RGBA", (40, 40), (255, 0, 0, 0))
    image.paste((0, 0, 255, 255), (0, 0, 20, 40))
    out = np.asarray(images.load(encoded(image)))
    assert tuple(out[5, 5]) == (0, 0, 255)
    assert tuple(out[5, 35]) == (255, 255, 255)


def test_palette_with_transparency():
    image = Image.new("P", (40, 40), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * (254 * 3))
    image.paste(1, (0, 0, 20, 40))
    data = encoded(image, transparency=0)
    out = np.asarray(images.load(data))
    assert tuple(out[5, 5]) == (255, 0, 0) and tuple(out[5, 35]) == (255, 255, 255)


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (60, 40), (0, 200, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    out = images.load(encoded(image, "JPEG", exif=exif))
    assert out.size == (40, 60)


def test_animated_image_keeps_its_first_frame():
    frames = [Image.new("RGB", (40, 40), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100)
    out = np.asarray(images.load(buffer.getvalue()))
    assert out[0, 0, 0] > 200 and out[0, 0, 2] < 50


def test_save_refuses_unknown_suffix_and_missing_folder(tmp_path):
    array = np.zeros((40, 40, 3), np.float32)
    with pytest.raises(ImageError, match="use one of"):
        images.save(array, tmp_path / "out.tga")
    with pytest.raises(ImageError, match="does not exist"):
        images.save(array, tmp_path / "missing" / "out.png")
    path = images.save(array, tmp_path / "out.jpg")
    assert Image.open(path).format == "JPEG"


def test_fit_long_side_and_resize_array():
    assert images.fit_long_side(1024, 768, 512) == (512, 384)
    assert images.fit_long_side(768, 1024, 256) == (192, 256)
    array = np.random.default_rng(0).random((30, 40, 3)).astype(np.float32)
    resized = images.resize_array(array, (80, 60))
    assert resized.shape == (60, 80, 3) and resized.dtype == np.float32
