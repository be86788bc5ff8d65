"""Bad inputs about files: a link planted where a result is written, permissions that let other users in,
ids that are digits to Python but not to the database, a NaN loss, and a PNG of a million chunks.

Each gets a clear answer (one line and exit 2 on the command line, an error box in the app) and leaves the
library and every other file as they were (see tests/test_bad_inputs.py for the corpus's conventions).
"""

from __future__ import annotations

import io
import os
import stat
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from db import open_library
from nst import images
from nst.errors import ImageError, NSTError
from studio import cli
from tests.app.conftest import app, components_scanned_once, first_start, fresh_app  # noqa: F401 - the app's fixtures
from tests.test_bad_inputs import png, snapshot

VICTIM = b"the victim's own bytes\n"


# --------------------------------------------------------------------------- writes never follow a link


@pytest.fixture
def planted(tmp_path):
    """A folder ``out`` whose predictable temporary names ``.NAME.part`` are links to ``victim.txt``."""
    victim = tmp_path / "victim.txt"
    victim.write_bytes(VICTIM)
    out = tmp_path / "out"
    out.mkdir()
    for name in ("out.png", "pack.zip", "run.png"):
        (out / f".{name}.part").symlink_to(victim)
    return out, victim


def test_saving_an_image_never_writes_through_a_link_at_its_temporary_name(planted):
    out, victim = planted
    images.save(np.full((48, 64, 3), 0.5, dtype=np.float32), out / "out.png")
    assert victim.read_bytes() == VICTIM
    assert Image.open(out / "out.png").size == (64, 48)


def test_a_link_planted_at_the_exact_temporary_name_is_never_written_through(tmp_path, monkeypatch):
    """Whoever guesses the random part of the temporary name (here: it is made known) still cannot get a
    write through a link: the temporary file is created exclusively, not through a link, and another
    name is tried."""
    from nst import files

    victim = tmp_path / "victim.txt"
    victim.write_bytes(VICTIM)
    guesses = iter(["aaaaaaaaaaaa", "bbbbbbbbbbbb"])
    monkeypatch.setattr(files.secrets, "token_hex", lambda n: next(guesses))
    (tmp_path / ".out.png.aaaaaaaaaaaa.part").symlink_to(victim)
    files.write_atomic(tmp_path / "out.png", b"the new bytes")
    assert victim.read_bytes() == VICTIM
    assert not (tmp_path / "out.png").is_symlink() and (tmp_path / "out.png").read_bytes() == b"the new bytes"
    assert (tmp_path / ".out.png.aaaaaaaaaaaa.part").is_symlink(), "the planted link is left alone"


def test_a_link_at_the_target_itself_is_replaced_not_written_through(planted):
    out, victim = planted
    (out / "target.png").symlink_to(victim)
    images.save(np.zeros((40, 40, 3), dtype=np.float32), out / "target.png")
    assert victim.read_bytes() == VICTIM
    assert not (out / "target.png").is_symlink() and Image.open(out / "target.png").size == (40, 40)


def test_styles_export_on_the_command_line_never_writes_through_a_link(planted, capsys):
    out, victim = planted
    with open_library() as library:
        library.add_style(png(), name="Exported")
    assert cli.main(["styles", "export", str(out / "pack.zip")]) == 0, capsys.readouterr().err
    assert victim.read_bytes() == VICTIM
    import zipfile

    with zipfile.ZipFile(out / "pack.zip") as archive:
        assert "pack.json" in archive.namelist()


def test_a_filter_run_on_the_command_line_never_writes_through_a_link(planted, tmp_path, capsys):
    out, victim = planted
    (tmp_path / "photo.png").write_bytes(png(96, 72, (40, 120, 200)))
    (tmp_path / "style.png").write_bytes(png(80, 80, (200, 180, 20)))
    code = cli.main(["run", "palette", "--content", str(tmp_path / "photo.png"), "--style", str(tmp_path / "style.png"),
                     "-o", str(out / "run.png"), "-q"])
    assert code == 0, capsys.readouterr().err
    assert victim.read_bytes() == VICTIM
    assert Image.open(out / "run.png").format == "PNG"


def test_a_failed_write_leaves_the_target_and_no_temporary_file(tmp_path):
    from nst.files import write_atomic

    target = tmp_path / "kept.bin"
    target.write_bytes(b"old")

    def half(handle):
        handle.write(b"new, half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, half)
    assert target.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["kept.bin"]


def test_a_file_with_a_name_of_255_bytes_can_be_written(tmp_path):
    from nst.files import write_atomic

    name = "é" * 125 + "x.png"  # 255 bytes in UTF-8, the longest name a file can have
    write_atomic(tmp_path / name, b"data")
    assert [p.name for p in tmp_path.iterdir()] == [name]


# --------------------------------------------------------------------------- private files


@pytest.fixture
def group_writable_umask():
    old = os.umask(0o002)
    try:
        yield
    finally:
        os.umask(old)


def _modes(folder: Path) -> dict[str, int]:
    """Every folder and file under ``folder`` (itself included), with its permission bits."""
    found = {".": stat.S_IMODE(folder.stat().st_mode)}
    for path in folder.rglob("*"):
        found[str(path.relative_to(folder))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def test_the_data_directory_and_its_files_are_private_under_a_group_writable_umask(tmp_path, monkeypatch,
                                                                                   group_writable_umask):
    from studio.queue import RenderQueue

    data = tmp_path / "fresh" / "data"
    monkeypatch.setenv("NST_DATA_DIR", str(data))
    with open_library() as library:
        queue = RenderQueue()
        try:
            style = library.add_style(png(), name="Private")
            render_id = library.create_render("palette", {}, png(80, 60), [(style.id, 1.0)]).id
            queue.enqueue(render_id)
            library.start_render(render_id, "host:1:w")
            assert queue.pending_ids() == {render_id}
            modes = _modes(data)  # with both databases open: their -wal and -shm files exist
        finally:
            queue.close()
    assert {"library.db", "library.db-wal", "library.db-shm", "queue.db"} <= set(modes), modes
    loose = {name: oct(mode) for name, mode in modes.items() if mode & 0o077}
    assert not loose, f"readable or writable by others: {loose}"
    assert modes["."] == 0o700


def test_an_existing_data_directory_is_made_private(tmp_path, monkeypatch):
    from nst import config

    data = tmp_path / "old-install"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)
    monkeypatch.setenv("NST_DATA_DIR", str(data))
    assert config.data_dir() == data and stat.S_IMODE(data.stat().st_mode) == 0o700


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="needs root to give a folder away")
@pytest.mark.parametrize("mode", [0o700, 0o777])
def test_a_data_directory_owned_by_another_user_is_refused_in_one_line(tmp_path, monkeypatch, capsys, mode):
    """It was taken as it was: its owner (nobody) could read every photo and plant the queue."""
    data = tmp_path / "squat"
    data.mkdir()
    os.chown(data, 65534, 65534)
    os.chmod(data, mode)
    monkeypatch.setenv("NST_DATA_DIR", str(data))
    assert cli.main(["styles", "list"]) == 2
    err = capsys.readouterr().err
    assert err == (f"error: The data directory {data} belongs to another user (uid 65534), who could read and "
                   f"replace its files; set NST_DATA_DIR to a folder of your own.\n")
    assert list(data.iterdir()) == [] and stat.S_IMODE(data.stat().st_mode) == mode


@pytest.mark.parametrize("name", ["library.db", "queue.db"])
def test_a_link_planted_at_a_database_of_the_data_directory_is_refused_not_followed(tmp_path, monkeypatch, name):
    """The library was created through the link, 0644, wherever it pointed."""
    from studio.queue import RenderQueue

    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    target = tmp_path / "elsewhere" / "victim.db"
    target.parent.mkdir()
    (data / name).symlink_to(target)
    monkeypatch.setenv("NST_DATA_DIR", str(data))
    with pytest.raises(NSTError, match=f"{data / name} is a link \\(to {target}\\); it is not followed"):
        if name == "library.db":
            open_library().close()
        else:
            RenderQueue().close()
    assert not target.exists()
    assert (data / name).is_symlink()


# --------------------------------------------------------------------------- ids


BAD_IDS = {"a superscript two": "²", "an Arabic-Indic three": "٣", "2**63": str(2 ** 63),
           "twenty nines": "9" * 20, "a minus sign": "-1"}


def test_a_style_id_that_is_no_id_is_one_line_on_the_command_line(capsys):
    with open_library() as library:
        library.add_style(png(), name="Existing")
        before = snapshot(library)
    for case, value in BAD_IDS.items():
        capsys.readouterr()
        code = cli.main(["styles", "show", value])
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("error: ") and err.count("\n") == 1 and "No style named" in err, (case, err)
    with open_library() as library:
        assert snapshot(library) == before


@pytest.mark.parametrize("value", [2 ** 63, 2 ** 64, 0, -5])
def test_a_style_id_out_of_range_is_not_found_on_either_database(library, value):
    from db import StyleNotFoundError

    with pytest.raises(StyleNotFoundError, match="No style with id"):
        library.get_style(value)


def test_the_id_parser_takes_ascii_digits_from_1_to_2_63_minus_1_only():
    from db.ids import MAX_ID, parse_id

    assert [parse_id(t) for t in ("1", " 42 ", str(MAX_ID), 7)] == [1, 42, MAX_ID, 7]
    assert [parse_id(t) for t in ("0", str(MAX_ID + 1), "²", "1_000", "+3", "", "1.0", None, True, 2 ** 63)] == [None] * 10


def test_a_link_to_a_style_that_is_no_id_shows_an_error_box(app):
    at = app().run()
    at.query_params["id"] = "abc"
    at.switch_page("ui/style.py").run()
    for value, message in [("abc", "is not a style number"), *((v, "is not a style number") for v in BAD_IDS.values()),
                           ("123456", "No style with id 123456")]:
        at.query_params["id"] = value
        at.run()
        assert not at.exception, (value, at.exception)
        assert any(message in e.value for e in at.error), (value, [e.value for e in at.error])


# --------------------------------------------------------------------------- a NaN loss


def test_a_render_whose_loss_was_nan_is_shown_in_the_history_with_its_delete_button_and_on_stylize(app):
    from ui import services

    at = app().run()
    library = services.library()
    style = library.add_style(png(), name="Unlucky")
    render = library.create_render("palette", {}, png(80, 60), [(style.id, 1.0)])
    library.start_render(render.id, "host:1:w")
    library.finish_render(render.id, png(64, 48), losses={"total": float("nan"), "style": float("inf")},
                          owner="host:1:w")
    assert library.get_render(render.id).losses["total"] is None  # stored as null
    at.switch_page("ui/history.py").run()
    assert not at.exception, at.exception
    assert any(b.key == f"delete:{render.id}" for b in at.button)
    at.session_state["stylize:jobs"] = [render.id]  # the Stylize page's panel of the renders it queued
    at.switch_page("ui/stylize.py").run()
    assert not at.exception, at.exception
    assert any(image.captions == ["Result"] for image in at.image if image.captions)


# --------------------------------------------------------------------------- a PNG of a million chunks


def _chunk(kind: bytes, body: bytes = b"") -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def million_chunk_png() -> bytes:
    """A 64x48 PNG with a million empty private chunks before its end (11 MiB; 2.4 s of CPU to decode)."""
    data = png()
    return data[:-12] + _chunk(b"prVt") * 1_000_000 + data[-12:]


def many_empty_idat_png(count: int = 200_000) -> bytes:
    """A 64x48 PNG whose pixels are preceded by ``count`` empty IDAT chunks (each a step for the decoder)."""
    data = png()
    start = data.index(b"IDAT") - 4
    return data[:start] + _chunk(b"IDAT") * count + data[start:]


def test_a_png_of_a_million_private_chunks_is_refused_on_the_command_line(tmp_path, capsys):
    (tmp_path / "chunks.png").write_bytes(million_chunk_png())
    with open_library() as library:
        library.add_style(png(), name="Existing")
        before = snapshot(library)
    capsys.readouterr()
    code = cli.main(["styles", "add", str(tmp_path / "chunks.png"), "--name", "Chunks"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert "more than 1,000 chunks" in err, err
    with open_library() as library:
        assert snapshot(library) == before


def test_a_png_of_many_empty_pixel_chunks_is_refused(library):
    before = snapshot(library)
    with pytest.raises(ImageError, match="chunks of pixel data"):
        library.add_style(many_empty_idat_png(), name="Chunks")
    assert snapshot(library) == before


def test_a_png_with_a_colour_profile_text_and_a_private_chunk_is_accepted(library):
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    info = PngImagePlugin.PngInfo()
    for i in range(50):
        info.add_text(f"Comment{i}", "x" * 2000)
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta/>" * 1000, zip=True)
    info.add(b"prVt", bytes(100_000))
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 200, 30)).save(buffer, "PNG", pnginfo=info, icc_profile=profile)
    style = library.add_style(buffer.getvalue(), name="Annotated")
    assert (style.width, style.height) == (64, 48)


# --------------------------------------------------------------------------- JPEG markers, GIF extensions


def _jpeg(**save) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (9, 99, 199)).save(buffer, "JPEG", **save)
    return buffer.getvalue()


def _gif() -> bytes:
    buffer = io.BytesIO()
    Image.new("P", (64, 64), 3).save(buffer, "GIF")
    return buffer.getvalue()


def _after_scan(data: bytes, padding: bytes) -> bytes:
    """``padding`` between a baseline JPEG's scan and its end (the last two bytes)."""
    return data[:-2] + padding + data[-2:]


def _gif_before_image(padding: bytes) -> bytes:
    data = _gif()
    first = data.index(b",")  # the first image descriptor (its palette has no 0x2C: colour 3 is black)
    return data[:first] + padding + data[first:]


HEAVY_FRAMES = {
    "a JPEG of a million empty comments (3.8 MiB; 1.3 s of CPU)":
        (lambda: _jpeg()[:2] + b"\xff\xfe\x00\x02" * 1_000_000 + _jpeg()[2:], "segments"),
    "a JPEG of a million empty APP5 segments":
        (lambda: _jpeg()[:2] + b"\xff\xe5\x00\x02" * 1_000_000 + _jpeg()[2:], "segments"),
    "a JPEG of a million empty comments after its scan":
        (lambda: _after_scan(_jpeg(), b"\xff\xfe\x00\x02" * 1_000_000), "segments"),
    "a JPEG of 4 MB of fill bytes before a marker (read one at a time)":
        (lambda: _jpeg()[:2] + b"\xff" * 4_000_000 + _jpeg()[2:], "padding"),
    "a JPEG of 17 MB of metadata in 270 full APP1 segments":
        (lambda: _jpeg()[:2] + (b"\xff\xe1\xff\xff" + bytes(65533)) * 270 + _jpeg()[2:], "MB of metadata"),
    "a GIF of a million empty comment extensions (2.9 MiB)":
        (lambda: _gif_before_image(b"\x21\xfe\x00" * 1_000_000), "extensions"),
    "a GIF of a comment in 1.5 million one-byte blocks":
        (lambda: _gif_before_image(b"\x21\xfe" + b"\x01x" * 1_500_000 + b"\x00"), "data blocks"),
}


@pytest.mark.parametrize("name", HEAVY_FRAMES)
def test_a_jpeg_or_gif_of_a_million_empty_blocks_is_refused_before_it_is_parsed(library, name):
    make, reason = HEAVY_FRAMES[name]
    before = snapshot(library)
    with pytest.raises(ImageError, match=reason):
        library.add_style(make(), name="Padded")
    assert snapshot(library) == before


def test_ordinary_jpegs_with_exif_a_profile_in_pieces_xmp_and_many_scans_are_accepted(library):
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotated
    exif[0x010F] = "Camera maker " * 200
    profile = bytes(range(256)) * 1200  # 300 KB: written in five APP2 segments
    xmp = b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>" + b"<rdf:Description/>" * 2000 + b"</x:xmpmeta>"
    plain = _jpeg(exif=exif.tobytes(), icc_profile=profile, xmp=xmp, comment=b"hello", progressive=True)
    assert plain.count(b"\xff\xe2") >= 5 and plain.count(b"\xff\xda") > 5
    gif = _gif_before_image(b"\x21\xfe\x05hello\x00" * 50)
    for data in (plain, _after_scan(plain, b"\xff\xfe\x00\x05abc" * 100), gif):
        image = images.load(data, "ordinary")
        assert image.size == (64, 64)
    assert library.add_style(plain, name="Camera").width == 64
