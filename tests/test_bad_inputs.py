"""A corpus of bad inputs, each from a user, a pack, a plugin or the environment: every one gets a clear
answer (the CLI prints one line and exits 2, the library raises its own error type, the app shows an
error box) and leaves the library exactly as it was (the same rows, the same bytes).

The reproductions of the hardening review are here, and so are the attacks that already failed, so
that they keep failing.
"""

from __future__ import annotations

import functools
import io
import json
import zipfile
import zlib
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import MetaData, select

from db import DuplicateStyleError, LibraryError, PackError, StyleNotFoundError, open_library
from db.packs import import_pack
from nst.errors import ImageError
from studio import cli
from tests.app.conftest import app, components_scanned_once, first_start, fresh_app  # noqa: F401 - the app's fixtures

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- inputs


def png(width: int = 64, height: int = 48, color=(200, 80, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "PNG")
    return buffer.getvalue()


def eps() -> bytes:
    """An EPS file (Pillow would hand it to Ghostscript)."""
    return (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 64 64\n%%EndComments\n"
            b"newpath 0 0 moveto 64 64 lineto stroke\nshowpage\n%%EOF\n")


def ico() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(buffer, "ICO", sizes=[(64, 64)])
    return buffer.getvalue()


def many_scans_jpeg(scans: int) -> bytes:
    """A JPEG whose comment holds ``scans`` start-of-scan markers (each real one costs a pass over every pixel)."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (5, 6, 7)).save(buffer, "JPEG")
    data = buffer.getvalue()
    comment = b"\xff\xda" * scans
    return data[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + data[2:]


def bomb_png() -> bytes:
    """A PNG header that declares 30,000 x 30,000 pixels."""
    from tests.db.db_images import png_header_only

    return png_header_only(30_000, 30_000)


def pack(styles: list[dict], files: dict[str, bytes] | None = None, manifest: bytes | None = None,
         compress: int = zipfile.ZIP_STORED) -> bytes:
    files = files or {}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        body = manifest if manifest is not None else json.dumps(
            {"format": "nst-style-pack", "version": 1, "styles": styles}).encode()
        archive.writestr("pack.json", body)
        for name, data in files.items():
            archive.writestr(name, data, compress_type=compress)
    return buffer.getvalue()


def entry(name: str, member: str, data: bytes, **extra) -> dict:
    import hashlib

    return {"name": name, "image": member, "sha256": hashlib.sha256(data).hexdigest(), **extra}


def nested(depth: int):
    value: dict = {}
    for _ in range(depth):
        value = {"a": value}
    return value


# --------------------------------------------------------------------------- the library is unchanged


def snapshot(library) -> dict:
    """Every row of every table, blobs included."""
    metadata = MetaData()
    metadata.reflect(library.engine)
    with library.engine.connect() as connection:
        return {name: sorted(map(repr, connection.execute(select(table)).all()))
                for name, table in metadata.tables.items()}


def _seed(library):
    style = library.add_style(png(), name="Existing", artist="Someone", tags=["kept"])
    render = library.create_render("palette", {"size": 64}, png(80, 60, (10, 20, 30)), [(style.id, 1.0)])
    library.start_render(render.id, "host:1:w")
    library.finish_render(render.id, png(64, 48, (90, 90, 90)), owner="host:1:w")
    return library


@pytest.fixture
def seeded(library):
    """A library with a style and a finished render in it, on SQLite and on PostgreSQL."""
    return _seed(library)


@pytest.fixture
def seeded_sqlite(sqlite_url):
    """The same on SQLite only: a pack is checked whole before anything is written, on any database
    (tests/db/test_packs.py imports packs on both)."""
    with open_library(sqlite_url) as library:
        yield _seed(library)


# --------------------------------------------------------------------------- the library's API

LIBRARY_CASES = {
    # format whitelist (EPS went to Ghostscript; an ICO named .png was decoded at full size)
    "eps named png": (lambda lib: lib.add_style(eps(), name="Evil"), ImageError, "not an image this app reads"),
    "ico named png": (lambda lib: lib.add_style(ico(), name="Evil"), ImageError, "not an image this app reads"),
    "text file": (lambda lib: lib.add_style(b"hello, not an image", name="Evil"), ImageError, "not an image"),
    "truncated png": (lambda lib: lib.add_style(png(300, 300)[:200], name="Evil"), ImageError,
                      "damaged or truncated|cannot be read"),
    "declared 900 megapixels": (lambda lib: lib.add_style(bomb_png(), name="Evil"), ImageError, "too many pixels|limit"),
    "1x1 image": (lambda lib: lib.add_style(png(1, 1), name="Evil"), ImageError, "at least 32 pixels"),
    "10000x50 photo": (lambda lib: lib.add_style(png(10_000, 50), name="Evil"), ImageError, "more than 16 times"),
    "32x1000 style": (lambda lib: lib.add_style(png(32, 1000), name="Evil"), ImageError, "more than 16 times"),
    "empty bytes": (lambda lib: lib.add_style(b"", name="Evil"), ImageError, "empty"),
    # names, artists, tags, JSON
    "control characters in a name": (lambda lib: lib.add_style(png(), name="a\x00b"), LibraryError, "control"),
    "empty name": (lambda lib: lib.add_style(png(), name="   "), LibraryError, "must not be empty"),
    "101-character name": (lambda lib: lib.add_style(png(), name="x" * 101), LibraryError, "at most 100"),
    "artist folding to 216 characters": (lambda lib: lib.add_style(png(), name="Wide", artist="\ufdfa" * 12),
                                         LibraryError, "once case is folded"),
    "31 tags": (lambda lib: lib.add_style(png(), name="Tagged", tags=[f"t{i}" for i in range(31)]), LibraryError,
                "at most 30 tags"),
    "a tag with a comma": (lambda lib: lib.add_style(png(), name="Tagged", tags=["a,b"]), LibraryError, "comma"),
    "parameters nested 100 deep": (lambda lib: lib.add_style(png(), name="Deep", suggested_params=nested(100)),
                                   LibraryError, "nested more than"),
    "parameters that are not JSON": (lambda lib: lib.add_style(png(), name="Set", suggested_params={"a": {1, 2}}),
                                     LibraryError, "must be JSON data"),
    "a name taken ignoring case": (lambda lib: lib.add_style(png(), name="EXISTING"), DuplicateStyleError,
                                   "already exists"),
    "a name with an unpaired surrogate": (lambda lib: lib.add_style(png(), name="a\udcff"), LibraryError,
                                          "not valid text"),
    "a description with an unpaired surrogate": (lambda lib: lib.add_style(png(), name="S", description="\ud800"),
                                                 LibraryError, "not valid text"),
    "a parameter key with an unpaired surrogate": (lambda lib: lib.add_style(png(), name="S",
                                                                           suggested_params={"\udfff": 1}),
                                                   LibraryError, "not valid text"),
    "a 4000-digit number in parameters": (lambda lib: lib.add_style(png(), name="S",
                                                                    suggested_params={"a": 10 ** 4000}),
                                          LibraryError, "too large"),
    "a JPEG of 101 scans": (lambda lib: lib.add_style(many_scans_jpeg(101), name="S"), ImageError, r"JPEG of \d+ scans"),
    "a render with a NaN weight": (lambda lib: lib.create_render("palette", {}, png(), [("Existing", float("nan"))]),
                                   LibraryError, "finite number"),
    "a render with an unknown style": (lambda lib: lib.create_render("palette", {}, png(), [("Nope", 1.0)]),
                                       StyleNotFoundError, "No style named"),
    "cancel a finished render": (lambda lib: lib.request_cancel(lib.list_renders()[0].id), LibraryError,
                                 "nothing to cancel"),
    "a result that is not an image": (
        lambda lib: lib.finish_render(lib.create_render("palette", {}, png(), [("Existing", 1.0)]).id,
                                      b"\x89PNG broken"), ImageError, "not an image"),
}


@pytest.mark.parametrize("case", LIBRARY_CASES)
def test_the_library_refuses_with_its_own_error_and_changes_nothing(seeded, case):
    action, error, message = LIBRARY_CASES[case]
    if case == "a result that is not an image":
        before = None  # the render it creates is the setup; what must not change is that render
    else:
        before = snapshot(seeded)
    with pytest.raises(error, match=message):
        action(seeded)
    if before is not None:
        assert snapshot(seeded) == before
    else:
        assert {r.status for r in seeded.list_renders()} == {"done", "queued"}


# --------------------------------------------------------------------------- style packs

GOOD = png(64, 48, (1, 2, 3))
PACK_CASES = {
    "not a zip": (lambda: b"PK this is not a zip", "not a valid zip"),
    "zip-slip name": (lambda: pack([entry("A", "../evil.png", GOOD)], {"../evil.png": GOOD}), "unsafe file name"),
    "absolute name": (lambda: pack([entry("A", "/etc/evil.png", GOOD)], {"/etc/evil.png": GOOD}), "unsafe file name"),
    "no manifest": (lambda: _zip({"images/a.png": GOOD}), "has no pack.json"),
    "manifest not JSON": (lambda: pack([], {}, manifest=b"{not json"), "not valid JSON"),
    "manifest nested 100,000 deep": (lambda: pack([], {}, manifest=b"[" * 100_000 + b"]" * 100_000),
                                     "nested too deeply|not a style pack manifest"),
    "suggested_params nested 100 deep": (
        lambda: pack([entry("A", "a.png", GOOD, suggested_params=nested(100))], {"a.png": GOOD}), "nested more than"),
    "a newer pack version": (lambda: pack([], {}, manifest=json.dumps(
        {"format": "nst-style-pack", "version": 99, "styles": [{}]}).encode()), "version 99"),
    "a damaged image (sha256)": (lambda: pack([entry("A", "a.png", GOOD)], {"a.png": png(64, 48, (9, 9, 9))}),
                                 "does not match its sha256"),
    "a missing image": (lambda: pack([entry("A", "a.png", GOOD)], {}), "missing from the pack"),
    "an EPS image": (lambda: pack([entry("A", "a.png", eps())], {"a.png": eps()}), "not an image this app reads"),
    "two styles of one name": (lambda: pack([entry("A", "a.png", GOOD), entry("a", "a.png", GOOD)],
                                            {"a.png": GOOD}), "two styles named"),
    "a style that is not an object": (lambda: pack(["A"], {}), "expected an object"),
    "tags that are not a list": (lambda: pack([entry("A", "a.png", GOOD, tags="x")], {"a.png": GOOD}),
                                 "tags must be a list"),
    "a parameter key with an unpaired surrogate": (
        lambda: pack([], manifest=b'{"format": "nst-style-pack", "version": 1, "styles": [{"name": "A", '
                                      b'"image": "a.png", "sha256": "' + sha(GOOD).encode() + b'", '
                                      b'"suggested_params": {"\\udfff": 1}}]}', files={"a.png": GOOD}),
        "not valid text"),
    "3,000 small images carrying 1 MiB each (a 3 GB database)": (
        lambda: pack([entry(f"S{i}", f"{i}.png", private_chunk_png(i)) for i in range(40)],
                     {f"{i}.png": private_chunk_png(i) for i in range(40)}, compress=zipfile.ZIP_DEFLATED),
        "times its packed size"),
    "a file list that lies about its count": (lambda: lying_directory(4 * 1024 * 1024), "file list of"),
    "40 members that unpack 22x each, under the member limit (the pack 22x in all)": (
        lambda: pack([], {f"m{i}.bin": sparse_bytes(i) for i in range(40)}, compress=zipfile.ZIP_DEFLATED),
        "10 times its packed size"),
    "25,000 empty entries": (lambda: _zip({f"e{i}": b"" for i in range(25_000)}), "at most 20,001"),
    "a member that unpacks 1000x (PNG + 20 MiB of zeros)": (
        lambda: pack([entry("A", "a.png", GOOD + bytes(20 << 20))], {"a.png": GOOD + bytes(20 << 20)},
                     compress=zipfile.ZIP_DEFLATED), "100 times its packed size"),
    "a style of an extreme aspect": (lambda: pack([entry("A", "a.png", png(2000, 40))], {"a.png": png(2000, 40)}),
                                     "more than 16 times"),
}


def sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def private_chunk_png(seed: int) -> bytes:
    """A 64x64 PNG with a private chunk of 1 MiB of zeros (it compresses to almost nothing in a zip)."""
    import struct

    data = png(64, 64, (seed % 256, 1, 2))
    body = bytes(1 << 20)
    chunk = struct.pack(">I", len(body)) + b"prVt" + body + struct.pack(">I", zlib.crc32(b"prVt" + body))
    return data[:-12] + chunk + data[-12:]  # before IEND


def sparse_bytes(seed: int) -> bytes:
    """1 MiB that deflates about 22 times: 40 random bytes in every KiB, the rest zeros."""
    import random

    rng = random.Random(seed)
    return b"".join(rng.randbytes(40) + bytes(984) for _ in range(1024))


def lying_directory(size: int) -> bytes:
    """An end-of-zip record that says one file, in a file list of ``size`` bytes."""
    import struct

    return bytes(size) + b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 1, 1, size, 0, 0)


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@functools.lru_cache(maxsize=None)
def pack_bytes(case: str) -> bytes:
    """Each bad pack is built once (both databases see the same bytes)."""
    return PACK_CASES[case][0]()


@pytest.mark.parametrize("case", PACK_CASES)
def test_a_bad_pack_is_one_error_and_changes_nothing(seeded_sqlite, tmp_path, case):
    message = PACK_CASES[case][1]
    path = tmp_path / "pack.zip"
    path.write_bytes(pack_bytes(case))
    before = snapshot(seeded_sqlite)
    with pytest.raises(PackError, match=message) as info:
        import_pack(seeded_sqlite, path)
    assert "\n" not in str(info.value)
    assert snapshot(seeded_sqlite) == before


def test_the_distinct_pixels_of_a_pack_are_capped_before_decoding(seeded_sqlite, tmp_path, monkeypatch):
    import db.packs

    monkeypatch.setattr(db.packs, "MAX_PACK_PIXELS", 3 * 64 * 48)  # three small images' worth
    images = {f"{i}.png": png(64, 48, (i, i, i)) for i in range(4)}
    path = tmp_path / "pack.zip"
    path.write_bytes(pack([entry(f"S{i}", f"{i}.png", data) for i, (_, data) in enumerate(images.items())], images))
    before = snapshot(seeded_sqlite)
    with pytest.raises(PackError, match="pixels in all"):
        import_pack(seeded_sqlite, path)
    assert snapshot(seeded_sqlite) == before


def test_one_image_under_many_names_is_decoded_once_and_stored_without_its_trailing_bytes(seeded_sqlite, tmp_path,
                                                                                        monkeypatch):
    import db.ingest

    decodes = []
    real = db.ingest.images.normalize
    monkeypatch.setattr(db.ingest.images, "normalize", lambda *a, **k: decodes.append(1) or real(*a, **k))
    tailed = GOOD + b"\0" * (1 << 20)  # a valid PNG followed by a payload
    files = {f"copy{i}.png": tailed for i in range(3)}
    path = tmp_path / "pack.zip"
    path.write_bytes(pack([entry(f"Copy {i}", f"copy{i}.png", tailed) for i in range(3)], files))
    import_pack(seeded_sqlite, path)
    assert len(decodes) == 1
    stored = seeded_sqlite.image_bytes(seeded_sqlite.get_style("Copy 0").image_id)
    assert stored == GOOD and len(stored) < 1000


def test_a_pack_import_can_be_cancelled_with_nothing_added(seeded_sqlite, tmp_path):
    import threading

    images = {f"{i}.png": png(64, 48, (i, 0, 0)) for i in range(5)}
    path = tmp_path / "pack.zip"
    path.write_bytes(pack([entry(f"S{i}", f"{i}.png", data) for i, (_, data) in enumerate(images.items())], images))
    cancel, seen = threading.Event(), []

    def progress(done, total):
        seen.append((done, total))
        if done == 2:
            cancel.set()

    before = snapshot(seeded_sqlite)
    with pytest.raises(PackError, match="cancelled; nothing was added"):
        import_pack(seeded_sqlite, path, progress=progress, cancel=cancel)
    assert seen[:3] == [(0, 5), (1, 5), (2, 5)]
    assert snapshot(seeded_sqlite) == before


# --------------------------------------------------------------------------- the command line


@pytest.fixture
def files(tmp_path):
    photo, style = tmp_path / "photo.png", tmp_path / "style.png"
    photo.write_bytes(png(96, 72, (40, 120, 200)))
    style.write_bytes(png(80, 80, (200, 180, 20)))
    (tmp_path / "evil.png").write_bytes(eps())
    (tmp_path / "wide.png").write_bytes(png(4000, 64))
    (tmp_path / "bomb.zip").write_bytes(pack_bytes("a member that unpacks 1000x (PNG + 20 MiB of zeros)"))
    (tmp_path / "outdir").mkdir()
    return tmp_path


CLI_CASES = {
    "reading /dev/zero": (lambda t: ["transfer", "/dev/zero", t / "style.png", "-o", t / "o.png"],
                          "not a regular file"),
    "--style-weights nan": (lambda t: ["transfer", t / "photo.png", t / "style.png", "-o", t / "o.png",
                                       "--style-weights", "nan"], "finite numbers"),
    "--style-weights -3": (lambda t: ["transfer", t / "photo.png", t / "style.png", "-o", t / "o.png",
                                      "--style-weights", "-3"], "at least 0"),
    "--style-weights 0,0": (lambda t: ["transfer", t / "photo.png", t / "style.png", t / "style.png", "-o",
                                       t / "o.png", "--style-weights", "0,0"], "must not all be 0"),
    "-o a folder/": (lambda t: ["transfer", t / "photo.png", t / "style.png", "-o", f"{t / 'outdir'}/"],
                     "it is a folder"),
    "-o an existing folder": (lambda t: ["transfer", t / "photo.png", t / "style.png", "-o", t / "outdir"],
                              "it is a folder"),
    "an extreme photo with --size 2048": (lambda t: ["transfer", t / "wide.png", t / "style.png", "-o", t / "o.png",
                                                     "--size", "2048"], "more than 16 times"),
    "styles add an EPS": (lambda t: ["styles", "add", t / "evil.png", "--name", "Evil"],
                          "not an image this app reads"),
    "styles import a zip bomb": (lambda t: ["styles", "import", t / "bomb.zip"], "100 times its packed size"),
    "renders show a missing render": (lambda t: ["renders", "show", "999"], "No render with id 999"),
    "renders cancel a finished render": (lambda t: ["renders", "cancel", "1"], "nothing to cancel"),
    "a style name with an unpaired surrogate": (lambda t: ["styles", "add", t / "style.png", "--name", "\udcff"],
                                                "not valid text"),
    "looking up a name with an unpaired surrogate": (lambda t: ["styles", "show", "\udcff"], "not valid text"),
    "--snapshot-every 0": (lambda t: ["transfer", t / "photo.png", t / "style.png", "-o", t / "o.png",
                                      "--snapshots", t / "outdir", "--snapshot-every", "0"], "at least 1"),
    "--snapshots a file": (lambda t: ["transfer", t / "photo.png", t / "style.png", "-o", t / "o.png",
                                      "--snapshots", t / "photo.png"], "it is a file"),
    "a run with an unknown filter": (lambda t: ["run", "nope", "-o", t / "o.png"], "No filter 'nope'"),
}


@pytest.mark.parametrize("case", CLI_CASES)
def test_the_cli_prints_one_line_exits_2_and_changes_nothing(files, case, capsys):
    with open_library() as library:  # the default library, in this test's data directory
        style = library.add_style(png(), name="Existing")
        render = library.create_render("palette", {}, png(), [(style.id, 1.0)])
        library.cancel_render(render.id)
        before = snapshot(library)
    capsys.readouterr()
    code = cli.main([str(a) for a in CLI_CASES[case][0](files)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1 and CLI_CASES[case][1] in err, err
    with open_library() as library:
        assert snapshot(library) == before


def _cli_on(url_or_dir: dict, *argv):
    import subprocess
    import sys

    import os

    env = dict(os.environ, **url_or_dir)
    return subprocess.run([sys.executable, "-m", "nst", *argv], capture_output=True, text=True, env=env,
                          timeout=120, cwd=ROOT)


def test_a_damaged_library_file_is_one_line_and_left_as_it_is(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    damaged = b"SQLite format 3\x00" + bytes(range(256)) * 64
    (data / "library.db").write_bytes(damaged)
    done = _cli_on({"NST_DATA_DIR": str(data)}, "styles", "list")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert "style library" in done.stderr
    assert (data / "library.db").read_bytes() == damaged


def test_a_library_from_a_newer_release_is_one_line_that_says_update(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    with open_library(f"sqlite:///{data / 'library.db'}") as library:
        library.add_style(png(), name="Kept")
        with library.engine.begin() as connection:
            connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0999'")
    before = _raw_rows(data / "library.db")
    done = _cli_on({"NST_DATA_DIR": str(data)}, "styles", "list")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "update the app" in done.stderr, done.stderr
    assert _raw_rows(data / "library.db") == before


def _raw_rows(path: Path) -> dict:
    """Every row, read with sqlite3 itself (the library refuses to open this file)."""
    import sqlite3

    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {table: sorted(map(repr, connection.execute(f'SELECT * FROM "{table}"'))) for table in tables}
    finally:
        connection.close()


# --------------------------------------------------------------------------- the app


def test_the_app_shows_an_error_box_for_a_damaged_library(app, tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    (data / "library.db").write_bytes(b"SQLite format 3\x00" + bytes(4096))
    monkeypatch.setenv("NST_DATA_DIR", str(data))
    at = app().run()
    assert not at.exception
    assert any("cannot start" in e.value for e in at.error)


def test_the_app_shows_an_error_box_for_an_eps_upload(app):
    from ui import services

    at = app().run()
    before = snapshot(services.library())
    at.switch_page("ui/add_style.py").run()
    at.file_uploader(key="add:files").set_value(("evil.png", eps(), "image/png")).run()
    next(b for b in at.button if b.label.startswith("Add ")).click().run()
    assert not at.exception
    assert any("not an image this app reads" in e.value.replace("\\", "") for e in at.error)
    assert snapshot(services.library()) == before


@pytest.mark.parametrize("variable, value, message", [
    ("NST_QUEUE_URL", "redis://127.0.0.1:abc/0", "not a usable render queue URL"),
    ("NST_QUEUE_URL", "ftp://example/queue", "not a render queue URL"),
    ("NST_QUEUE_NAME", "a/../b", "NST_QUEUE_NAME must be"),
])
def test_a_bad_queue_setting_is_one_line(monkeypatch, capsys, variable, value, message):
    monkeypatch.setenv(variable, value)
    code = cli.main(["renders", "list"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1 and message in err, err


def test_a_data_directory_that_is_a_file_is_one_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("NST_DATA_DIR", str(tmp_path / "file"))
    code = cli.main(["styles", "list"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "is a file, not a folder" in err, err


def test_a_worker_whose_queue_does_not_answer_says_so_and_exits_2(tmp_path):
    done = _cli_on({"NST_DATA_DIR": str(tmp_path), "NST_QUEUE_URL": "redis://127.0.0.1:1/0"}, "worker",
                   "--no-warm-up")
    assert done.returncode == 2 and "render queue at redis://127.0.0.1:1/0 is unavailable" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("message", [10 ** 30, [1], "abc", None, 1.5, -1, True])
def test_a_queue_message_that_names_no_render_is_ignored(sqlite_url, message):
    from studio.worker import RenderWorker

    with open_library(sqlite_url) as library:
        worker = RenderWorker(library, registry=None, engine_provider=lambda: None)
        assert worker.run(message) is None
        assert library.list_renders() == []


def test_a_huge_render_number_is_refused_by_the_command_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["renders", "show", "99999999999999999999999"])
    assert exit_info.value.code == 2 and "not a render number" in capsys.readouterr().err


def test_a_16_bit_image_is_normalised_without_float64_copies():
    import tracemalloc

    import numpy as np

    from nst import images

    grey = Image.fromarray(np.linspace(0, 65535, 2000 * 2000).reshape(2000, 2000).astype(np.uint16))
    assert grey.mode.startswith("I;16")
    tracemalloc.start()
    try:
        rgb = images.normalize(grey)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert rgb.mode == "RGB" and rgb.size == (2000, 2000)
    assert peak < 2000 * 2000 * 8, f"{peak / 2**20:.0f} MB: a float64 copy of 4 megapixels is 31 MB"


def test_a_gif_or_tiff_carrying_a_payload_is_stored_without_it(seeded):
    for fmt in ("GIF", "TIFF"):
        buffer = io.BytesIO()
        Image.new("RGB", (64, 64), (3, 4, 5)).save(buffer, fmt)
        record = seeded.add_style(buffer.getvalue() + bytes(300 * 1024), name=f"Carrier {fmt}")
        assert len(seeded.image_bytes(record.image_id)) < 64 * 1024
