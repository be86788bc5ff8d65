"""Output for print: PNG by default, 16-bit PNG or TIFF on request, the photo's DPI and ICC profile kept."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageCms

from nst import images
from nst.errors import ImageError

ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _painting() -> np.ndarray:
    """A smooth gradient: 16 bits keep levels that 8 bits merge."""
    y, x = np.mgrid[0:48, 0:64].astype(np.float32)
    return np.stack([x / 63, y / 47, (x + y) / 110], axis=-1)


def _png_levels(data: bytes) -> tuple[int, np.ndarray]:
    """A PNG's bit depth and, at 16 bits, its pixels (rows without a filter, as ours are), read without Pillow."""
    position, idat, header = 8, b"", None
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    width, height, depth = header[:3]
    if depth != 16:
        return depth, None  # Pillow's 8-bit rows use PNG's filters: not read here
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, -1)
    assert (raw[:, 0] == 0).all()
    return depth, raw[:, 1:].copy().view(">u2").reshape(height, width, 3)


def _tiff_levels(data: bytes) -> tuple[int, np.ndarray]:
    """An uncompressed one-strip RGB TIFF's bits per channel and pixels, read from its tags."""
    assert data[:4] == b"II*\0"
    (ifd,) = struct.unpack("<I", data[4:8])
    (count,) = struct.unpack("<H", data[ifd:ifd + 2])
    tags = {}
    for i in range(count):
        tag, kind, n, value = struct.unpack("<HHI4s", data[ifd + 2 + 12 * i: ifd + 14 + 12 * i])
        tags[tag] = (kind, n, value)
    width = struct.unpack("<I", tags[256][2])[0]
    height = struct.unpack("<I", tags[257][2])[0]
    (bits_at,) = struct.unpack("<I", tags[258][2])
    bits = struct.unpack("<H", data[bits_at:bits_at + 2])[0]
    (offset,) = struct.unpack("<I", tags[273][2])
    dtype = "<u2" if bits == 16 else np.uint8
    size = width * height * 3 * (bits // 8)
    return bits, np.frombuffer(data[offset:offset + size], dtype).reshape(height, width, 3)


@pytest.mark.parametrize("suffix, reader", [(".png", _png_levels), (".tif", _tiff_levels)])
def test_sixteen_bits_keep_the_paintings_levels_and_the_photos_dpi_and_profile(tmp_path, suffix, reader):
    painting = _painting()
    info = images.PrintInfo((300.0, 300.0), ICC)
    path = images.save(painting, tmp_path / f"poster{suffix}", depth=16, info=info)
    depth, levels = reader(path.read_bytes())
    assert depth == 16
    assert np.abs(levels.astype(np.int64) - np.round(painting.astype(np.float64) * 65535)).max() <= 1
    assert not np.all(levels % 257 == 0)  # not 8-bit levels widened
    opened = Image.open(path)
    assert opened.size == (64, 48) and opened.info["icc_profile"] == ICC
    assert opened.info["dpi"] == pytest.approx((300, 300), abs=0.01)
    assert images.print_info(path) == images.PrintInfo(opened.info["dpi"], ICC)


def test_a_tiff_has_16_bits_unless_told_otherwise():
    assert _tiff_levels(images.encode(_painting(), "TIFF"))[0] == 16
    assert _png_levels(images.encode(_painting(), "PNG"))[0] == 8


def test_eight_bit_tiff_and_png_keep_dpi_and_profile_and_png_is_the_default(tmp_path):
    painting = _painting()
    info = images.PrintInfo((240.0, 240.0), ICC)
    depth, levels = _tiff_levels(images.save(painting, tmp_path / "a.tiff", info=info, depth=8).read_bytes())
    assert depth == 8 and levels.dtype == np.uint8
    np.testing.assert_array_equal(levels, np.asarray(images.to_pil(painting)))
    png = images.save(painting, tmp_path / "a.png", info=info)
    assert _png_levels(png.read_bytes())[0] == 8
    assert Image.open(png).info["icc_profile"] == ICC
    plain = images.save(painting, tmp_path / "b.png")
    assert "icc_profile" not in Image.open(plain).info and "dpi" not in Image.open(plain).info


def test_sixteen_bits_are_for_png_and_tiff_only_and_depths_are_8_or_16(tmp_path):
    for suffix in (".jpg", ".webp"):
        with pytest.raises(ImageError, match="16 bits per channel are written as PNG or TIFF"):
            images.save(_painting(), tmp_path / f"a{suffix}", depth=16)
    with pytest.raises(ImageError, match="8 or 16 bits per channel, not 12"):
        images.save(_painting(), tmp_path / "a.png", depth=12)
    assert not list(tmp_path.iterdir())


def _png_with(chunks: list[tuple[bytes, bytes]]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 40), (9, 9, 9)).save(buffer, "PNG")
    data = buffer.getvalue()
    end = data.rindex(b"IEND") - 4
    extra = b"".join(struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
                     for kind, body in chunks)
    idat = data.index(b"IDAT") - 4
    return data[:idat] + extra + data[idat:end] + data[end:]


@pytest.mark.parametrize("chunks", [
    [(b"iCCP", b"x\x00\x00" + zlib.compress(b"not a colour profile" * 20))],  # no ICC header
    [(b"iCCP", b"x\x00\x00" + zlib.compress(ICC[:36] + b"nope" + ICC[40:]))],  # no acsp signature
    [(b"iCCP", b"x\x00\x00" + zlib.compress(struct.pack(">I", 99) + ICC[4:]))],  # a size it does not have
    [(b"pHYs", struct.pack(">IIB", 0, 0, 1))],  # 0 dpi
    [(b"pHYs", struct.pack(">IIB", 4_000_000_000, 4_000_000_000, 1))],  # 100 million dpi
], ids=["icc-not-a-profile", "icc-no-signature", "icc-wrong-size", "dpi-zero", "dpi-huge"])
def test_a_photos_unsound_dpi_or_profile_is_left_out_not_copied(tmp_path, chunks):
    photo = tmp_path / "photo.png"
    photo.write_bytes(_png_with(chunks))
    assert images.load(photo).size == (40, 40)  # the photo itself is fine
    assert images.print_info(photo) == images.PrintInfo()


@pytest.mark.slow
def test_the_command_line_writes_a_16_bit_tiff_with_the_photos_dpi_and_profile(tmp_path, monkeypatch, capsys,
                                                                                 engine):
    from studio import cli
    from tests.factories import make_photo

    monkeypatch.setenv("NST_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(cli, "make_engine", lambda open_library: engine)
    photo, painting = tmp_path / "photo.jpg", tmp_path / "painting.png"
    make_photo(96, 72).save(photo, dpi=(350, 350), icc_profile=ICC)
    make_photo(80, 80, seed=3).save(painting)
    common = ["transfer", str(photo), str(painting), "--size", "64", "--steps", "1", "--start-size", "64", "-q"]
    assert cli.main([*common, "-o", str(tmp_path / "poster.tif")]) == 0, capsys.readouterr().err
    data = (tmp_path / "poster.tif").read_bytes()
    depth, levels = _tiff_levels(data)
    assert depth == 16 and levels.shape == (48, 64, 3) and not np.all(levels % 257 == 0)
    assert images.print_info(tmp_path / "poster.tif") == images.PrintInfo((350.0, 350.0), ICC)
    assert cli.main([*common, "-o", str(tmp_path / "plain.png")]) == 0
    assert _png_levels((tmp_path / "plain.png").read_bytes())[0] == 8  # PNG by default
    assert cli.main([*common, "-o", str(tmp_path / "deep.png"), "--depth", "16"]) == 0
    assert _png_levels((tmp_path / "deep.png").read_bytes())[0] == 16
    capsys.readouterr()
    assert cli.main([*common, "-o", str(tmp_path / "poster.jpg"), "--depth", "16"]) == 2
    assert "--depth 16 writes a PNG or a TIFF; poster.jpg is JPEG" in capsys.readouterr().err
    assert not (tmp_path / "poster.jpg").exists()
