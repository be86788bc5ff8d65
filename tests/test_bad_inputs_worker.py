"""Bad inputs at the worker's admission check: render rows and Gram cache rows written straight into the database.

Anyone who can write to the library's database can write a render row the app would have refused. A
worker takes every render through the same admission check as a new submission (the filter, bounds, types, lengths,
the count of styles and their weights, then the filter's own check), before it reads the render's images,
and a row that fails ends ``failed`` with a one-line reason. The stale-render sweep never reads a render's
parameters; a Gram cache entry is bounded before it is inflated.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import struct
import subprocess
import sys
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import insert, text, update

from db import GramStore, LibraryError
from db.models import GramEntry, Render, RenderStyle
from nst.errors import ParameterError
from nst.params import DEFAULT_MAX_LENGTH, Param
from nst.registry import Registry
from nst.targets import TargetKey
from tests.app.conftest import png_bytes
from tests.factories import make_painting, make_photo

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ROOT / "tests" / "studio" / "plugins"

#: Stated bound: a worker refusing tampered rows uses at most this much memory beyond a tiny render's.
WORKER_GROWTH_BOUND = 64 * 2 ** 20
#: Stated bound on the whole worker process (no TensorFlow imported) that refused them.
WORKER_PEAK_BOUND = 2 ** 30


@pytest.fixture(scope="module")
def registry():
    return Registry.discover([PLUGINS], entry_points=False, probe=False)


@pytest.fixture
def shop(library):
    """A library with one style, and a render recorded as the app records it (to be tampered with)."""
    style = library.add_style(png_bytes(make_painting(48, 48)), name="Waves")

    def render(**changes) -> int:
        record = library.create_render("palette", {"colors": 4, "size": 64}, png_bytes(make_photo(64, 48)),
                                       [(style.id, 1.0)])
        if changes:
            with library.session() as s:
                s.execute(update(Render).where(Render.id == record.id).values(**changes))
        return record.id

    return library, style, render


def worker_for(library, registry, decoded: list):
    from studio.worker import RenderWorker

    worker = RenderWorker(library, registry, lambda: None, analysis_plan=())
    photo = worker._photo

    def counted(record):
        decoded.append(record.id)
        return photo(record)

    worker._photo = counted  # the photo is the first image a render reads
    return worker


#: Rows tampered with, and the reason each ends with. Sizes that would take gigabytes if they ran are
#: tried in a process of their own (below), so that a regression cannot take this one down.
TAMPERED = {
    "size out of bounds": ({"params": {"size": 5000}}, "size must be between 32 and 4096; got 5000"),
    "size of the wrong type": ({"params": {"size": "big"}}, "size must be between 32 and 4096; got 'big'"),
    "steps a list": ({"filter_id": "slow", "params": {"steps": [1]}}, "steps must be between 1 and 100000; got [1]"),
    "a bool for a number": ({"params": {"colors": True}}, "colors must be between 2 and 64"),
    "a choice not offered": ({"filter_id": "style_transfer", "params": {"optimizer": "sgd" * 1000}},
                             "optimizer must be one of"),
    "text over its length": ({"filter_id": "style_transfer", "params": {"style_layers": "block1_conv1" + "," * 5000}},
                             f"style_layers must be text of at most {DEFAULT_MAX_LENGTH:,} characters"),
    "text of 10 MB": ({"filter_id": "style_transfer", "params": {"style_layers": "block1_conv1" + "," * 10_000_000}},
                      "stored parameters take 10,000,0"),
    "unknown filter": ({"filter_id": "no_such_filter"}, "No filter 'no_such_filter'"),
    "parameters not a mapping": ({"params": [1, 2, 3]}, "stored parameters are not named values"),
    "a preset that does not exist": ({"params": {"preset": "nope"}}, "palette has no preset 'nope'"),
    "a preset that is a list": ({"params": {"preset": [1]}}, "palette has no preset [1]"),
    "a layer name that is not a layer": ({"filter_id": "style_transfer", "params": {"style_layers": "block9_conv1"}},
                                         "'block9_conv1' is not one of them"),
}

#: Refused by the filter's own check, which needs the render's images (and so comes after them).
FILTERS_OWN_CHECK = {"a layer name that is not a layer"}


def one_line(text: str | None) -> bool:
    return bool(text) and "\n" not in text and len(text) < 400


def test_tampered_render_rows_end_failed_with_one_line_and_no_image_read(shop, registry):
    library, style, render = shop
    for case, (changes, reason) in TAMPERED.items():
        render_id = render(**changes)
        decoded: list[int] = []
        assert worker_for(library, registry, decoded).run(render_id) == "failed", case
        record = library.get_render(render_id)
        assert record.status == "failed" and reason in record.error, (case, record.error)
        assert one_line(record.error), (case, record.error)
        if case not in FILTERS_OWN_CHECK:
            assert decoded == [], f"{case}: the photo was read before the render's parameters were checked"
        assert record.result_image_id is None, case


STYLES_TAMPERED = [
    ([-1.0], "Style weights must be finite numbers of at least 0"),
    ([float("inf")], "Style weights must be finite numbers of at least 0"),
    ([0.0], "Style weights must not all be 0"),
    ([1.0, 1.0], "Palette takes 1 style image(s), got 2"),
    ([1.0] * 16, "Palette takes 1 style image(s), got 16"),
    ([1.0] * 500, "The render has 500 stored styles, more than the 16 a filter takes; they were not read."),
]


def test_render_rows_with_tampered_styles_end_failed_before_any_image_is_read(shop, registry):
    library, style, render = shop
    for weights, reason in STYLES_TAMPERED:
        render_id = render()
        with library.session() as s:
            s.execute(update(RenderStyle).where(RenderStyle.render_id == render_id).values(weight=weights[0]))
            for position, weight in enumerate(weights[1:], start=1):
                s.execute(insert(RenderStyle).values(render_id=render_id, position=position, style_id=style.id,
                                                     style_name="Waves", weight=weight))
        decoded: list[int] = []
        assert worker_for(library, registry, decoded).run(render_id) == "failed", weights[:3]
        record = library.get_render(render_id)
        assert record.status == "failed" and reason in record.error and one_line(record.error), record.error
        assert decoded == [], weights[:3]


def test_an_old_record_still_runs_as_documented(shop, registry, caplog):
    """A record is as old as its render: a preset name it holds is resolved, a parameter declared since
    takes its default, and one no longer declared is dropped with a log line."""
    library, style, render = shop
    render_id = render(params={"preset": "poster", "size": 64, "retired": 3})
    with caplog.at_level(logging.WARNING, logger="nst.registry"):
        assert worker_for(library, registry, []).run(render_id) == "done"
    assert "palette no longer declares 'retired'" in caplog.text
    assert library.get_render(render_id).timings["colors"] <= 4  # the poster preset's 4 colours


def test_the_sweeper_and_the_queue_bring_a_tampered_row_to_the_same_admission(tmp_path, shop, registry):
    """A row written straight into the database (never queued) is found by the stale-render sweeper,
    queued, taken by a worker and failed with the reason."""
    import time

    from studio.consumer import RenderThreads

    library, style, render = shop
    render_id = render(params={"size": 5000}, queued_at=None)
    render_threads = RenderThreads(library, registry, lambda: None, warm=False, analysis_plan=(),
                                   queue_url=f"sqlite:///{tmp_path / 'queue.db'}").start()
    try:
        deadline = time.monotonic() + 60
        while library.get_render(render_id).status in ("queued", "running"):
            assert time.monotonic() < deadline, "the tampered render was never taken"
            time.sleep(0.05)
    finally:
        render_threads.stop(timeout=10)
    record = library.get_render(render_id)
    assert record.status == "failed" and "size must be between 32 and 4096" in record.error


def test_the_stale_render_sweep_reads_no_parameters(shop):
    library, style, render = shop
    render_id = render(params={"style_layers": "block1_conv1" + "," * 10_000_000}, queued_at=None)
    tracemalloc.start()
    try:
        waiting = library.renders_to_enqueue(0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [w.id for w in waiting] == [render_id]
    assert peak < 2 * 2 ** 20, f"the sweep allocated {peak / 2 ** 20:.1f} MiB for a render's 10 MB parameters"


# --------------------------------------------------------------------------- values a row holds beyond parameters


def _dialect(library) -> str:
    with library.read_session() as s:
        return s.get_bind().dialect.name


def _store(library, render_id: int, column: str, value, table: str = "renders") -> None:
    """``value`` written into a column as it is (a JSON column as text the database takes for JSON)."""
    json_column = table == "renders" and column in ("params", "events", "progress", "losses", "timings")
    place = "CAST(:v AS json)" if json_column and _dialect(library) == "postgresql" else ":v"
    with library.session() as s:
        s.execute(text(f"UPDATE {table} SET {column} = {place} WHERE id = :i"), {"v": value, "i": render_id})


def _fill(library, render_id: int, column: str, size: int, table: str = "renders") -> None:
    """A value of ``size`` bytes built in the database (no copy in this process): a JSON list of spaces, or
    zero bytes for a blob column."""
    postgres = _dialect(library) == "postgresql"
    if column in ("preview", "data"):
        value = f"decode(repeat('00', {size}), 'hex')" if postgres else f"zeroblob({size})"
    elif column == "error":
        value = f"repeat('x', {size})" if postgres else f"printf('%.*c', {size}, 'x')"
    else:
        spaces = f"repeat(' ', {size - 2})" if postgres else f"printf('%.*c', {size - 2}, ' ')"
        value = f"CAST('[' || {spaces} || ']' AS json)" if postgres else f"'[' || {spaces} || ']'"
    with library.session() as s:
        s.execute(text(f"UPDATE {table} SET {column} = {value} WHERE id = :i"), {"i": render_id})


def _many_styles(library, render_id: int, style_id: int, count: int) -> None:
    series = ("SELECT generate_series(1, :n) AS x" if _dialect(library) == "postgresql" else
              "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < :n) SELECT x FROM n")
    with library.session() as s:
        s.execute(text(f"INSERT INTO render_styles (render_id, position, style_id, style_name, weight) "
                       f"SELECT :i, x, :s, 'Waves', 1.0 FROM ({series}) AS numbers"),
                  {"i": render_id, "s": style_id, "n": count})


#: JSON the library could not have written, under every size bound: (text, the reason's words).
UNDECODABLE = {
    "1500 levels deep": ("[" * 1500 + "]" * 1500, "nested more than 20 levels deep"),
    "an integer of 5001 digits": ('{"size": 1' + "0" * 5000 + "}", "an integer of 5,001 digits"),
}


@pytest.mark.parametrize("column", ["params", "events", "progress"])
@pytest.mark.parametrize("case", list(UNDECODABLE))
def test_a_render_row_whose_json_cannot_be_decoded_ends_failed_and_stays_listable(shop, registry, column, case,
                                                                                  caplog):
    library, style, render = shop
    value, words = UNDECODABLE[case]
    render_id = render()
    _store(library, render_id, column, value)
    listed = {r.id: r for r in library.list_renders()}  # the History page and `renders list` read these
    assert listed[render_id].damaged and words in listed[render_id].damaged
    assert library.queued_renders()[0].id == render_id and library.get_render(render_id).damaged
    with caplog.at_level(logging.INFO, logger="studio.worker"):
        assert worker_for(library, registry, []).run(render_id) == "failed"
    record = library.get_render(render_id)
    assert record.status == "failed" and record.attempts == 0, record
    assert words in record.error and one_line(record.error), record.error
    assert record.damaged is None, "the unreadable value is cleared when the render is failed"
    assert [e["event"] for e in record.events][-1] == "failed"
    if column != "events":
        assert [e["event"] for e in record.events] == ["queued", "failed"], "readable events are kept"
    lines = [r for r in caplog.records if r.name == "studio.worker"]
    assert len(lines) == 1 and lines[0].exc_info is None and words in lines[0].getMessage()
    assert worker_for(library, registry, []).run(render_id) is None  # a second message for it: nothing to do


def test_a_finished_render_with_damaged_values_is_listed_shown_and_deleted(shop):
    library, style, render = shop
    render_id = render(status="done")
    _store(library, render_id, "losses", UNDECODABLE["1500 levels deep"][0])
    _store(library, render_id, "events", '{"not": "a list"}')
    record = {r.id: r for r in library.list_renders(status="done")}[render_id]
    assert record.status == "done" and record.losses is None and record.events == ()
    assert "stored losses are not JSON" in record.damaged and "stored events are not a list" in record.damaged
    assert record.error == record.damaged  # what the History page and `renders show` print for it
    library.delete_render(render_id)
    assert render_id not in {r.id for r in library.list_renders()}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_parameters_bound_counts_bytes_past_a_nul(shop, registry):
    """SQLite's length() of a text stops at its first NUL: 200 kB of parameters measured as 25 characters."""
    library, style, render = shop
    render_id = render()
    _store(library, render_id, "params", '{"colors": 4, "size": 64}\x00' + " " * 200_000)
    assert worker_for(library, registry, []).run(render_id) == "failed"
    record = library.get_render(render_id)
    assert "stored parameters take 200,026 bytes, more than the 65,536" in record.error, record.error
    assert record.params == {}


#: Values past the bounds the library states for what a worker reads: (column, bytes, the reason's words).
OVERSIZED = {
    "events": ("events", 1_000_001, "stored events take 1,000,001 bytes, more than the 1,000,000"),
    "progress": ("progress", 65_537, "stored progress take 65,537 bytes, more than the 65,536"),
    "losses": ("losses", 65_537, "stored losses take 65,537 bytes"),
    "timings": ("timings", 65_537, "stored timings take 65,537 bytes"),
    "error": ("error", 65_537, "stored error takes 65,537 bytes, more than the 65,536"),
    "preview": ("preview", 8 * 2 ** 20 + 1, "stored preview takes 8,388,609 bytes, more than the 8,388,608"),
    "styles": ("styles", 17, "The render has 17 stored styles, more than the 16 a filter takes"),
}


def test_a_render_row_holding_more_than_the_library_writes_ends_failed_unread(shop, registry):
    library, style, render = shop
    for case, (column, size, words) in OVERSIZED.items():
        render_id = render()
        if column == "styles":
            _many_styles(library, render_id, style.id, size - 1)
        else:
            _fill(library, render_id, column, size)
        decoded: list[int] = []
        assert worker_for(library, registry, decoded).run(render_id) == "failed", case
        record = library.get_render(render_id)
        assert record.status == "failed" and words in record.error and one_line(record.error), (case, record.error)
        assert decoded == [] and record.attempts == 0, case


def test_an_image_stored_with_more_bytes_than_a_file_may_have_is_not_read(shop, registry, monkeypatch):
    """With the file limit made 1 MiB here (the worker's memory test below stores 210 MB against 200 MiB)."""
    import db.images

    monkeypatch.setattr(db.images, "MAX_FILE_BYTES", 2 ** 20)
    library, style, render = shop
    render_id = render()
    image_id = library.get_render(render_id).content_image_id
    _fill(library, image_id, "data", 2 ** 20 + 1, table="images")
    with pytest.raises(LibraryError, match=f"Image {image_id} is stored with 1,048,577 bytes, more than the 1 "
                                           "MiB a file may have; it was not read."):
        library.image_bytes(image_id)
    assert worker_for(library, registry, []).run(render_id) == "failed"
    assert "more than the 1 MiB a file may have" in library.get_render(render_id).error


def test_render_threads_fail_an_undecodable_row_once_with_one_line(tmp_path, shop, registry, caplog):
    """Through the stale-render sweeper and the queue: the row is failed once, no traceback, and a sound
    render goes on."""
    import time

    from studio.consumer import RenderThreads

    library, style, render = shop
    bad = render(queued_at=None)
    _store(library, bad, "events", UNDECODABLE["1500 levels deep"][0])
    good = render(queued_at=None)
    with caplog.at_level(logging.INFO):
        render_threads = RenderThreads(library, registry, lambda: None, warm=False, analysis_plan=(),
                                       queue_url=f"sqlite:///{tmp_path / 'queue.db'}").start()
        try:
            deadline = time.monotonic() + 60
            while {library.get_render(i).status for i in (bad, good)} & {"queued", "running"}:
                assert time.monotonic() < deadline, "the renders were not taken"
                time.sleep(0.05)
        finally:
            render_threads.stop(timeout=10)
    assert library.get_render(bad).status == "failed" and library.get_render(good).status == "done"
    assert "nested more than 20 levels deep" in library.get_render(bad).error
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    assert len([r for r in caplog.records if f"Render {bad} " in r.getMessage()]) == 1


_CHILD = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))  # an unchecked render fails here, not the machine
from db import open_library
from nst.registry import Registry
from studio.worker import RenderWorker

def peak():
    with open("/proc/self/status") as status:
        return 1024 * int(next(line for line in status if line.startswith("VmHWM")).split()[1])

library = open_library(sys.argv[1])
worker = RenderWorker(library, Registry.discover([], entry_points=False), lambda: None, analysis_plan=())
normal, *tampered = json.loads(sys.argv[2])
ended = [worker.run(normal)]
after_normal = peak()
ended += [worker.run(render_id) for render_id in tampered]
print(json.dumps({"ended": ended, "normal": after_normal, "peak": peak(),
                  "tensorflow": "tensorflow" in sys.modules}))
"""


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_worker_refusing_tampered_rows_stays_within_its_memory_bound(shop, db_url, capsys):
    """Measured in a worker process of its own (VmHWM): a tiny render, then rows asking for 16000 px (about
    2.4 GB if it ran), 60000 px, a 10 MB text and a wrong type; rows holding 40 MB of events, 30 MB of error
    text, a 50 MB preview, 200,000 styles, 1500-deep parameters, and a photo stored with 210 MB (a worker
    read each in full, 0.8 to 1.6 GB at its peak), each measured in the database, none of them read."""
    library, style, render = shop
    ids = [render(), render(params={"size": 16000}), render(params={"size": 60000}),
           render(filter_id="style_transfer", params={"style_layers": "block1_conv1" + "," * 10_000_000}),
           render(params={"size": "big", "colors": [1]})]
    for column, size in (("events", 40_000_000), ("error", 30_000_000), ("preview", 50_000_000)):
        ids.append(render())
        _fill(library, ids[-1], column, size)
    ids.append(render())
    _many_styles(library, ids[-1], style.id, 200_000)
    ids.append(render())
    _store(library, ids[-1], "params", UNDECODABLE["1500 levels deep"][0])
    ids.append(library.create_render("palette", {"colors": 4, "size": 64}, png_bytes(make_photo(64, 40)),
                                     [(style.id, 1.0)]).id)  # a photo of its own (images are stored once)
    _fill(library, library.get_render(ids[-1]).content_image_id, "data", 210_000_000, table="images")
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "NST_PLUGIN_PATH": "", "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-c", _CHILD, db_url, json.dumps(ids)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    with capsys.disabled():
        print(f"\nworker peak RSS: {measured['normal'] / 2 ** 20:.0f} MiB after a tiny render, "
              f"{measured['peak'] / 2 ** 20:.0f} MiB after refusing {len(ids) - 1} tampered rows")
    assert measured["ended"] == ["done"] + ["failed"] * (len(ids) - 1)
    assert [library.get_render(i).status for i in ids] == ["done"] + ["failed"] * (len(ids) - 1)
    assert not measured["tensorflow"]
    assert measured["peak"] < WORKER_PEAK_BOUND
    assert measured["peak"] - measured["normal"] < WORKER_GROWTH_BOUND


# --------------------------------------------------------------------------- on the way in


def test_a_text_parameter_has_a_length_bound_its_filter_may_change():
    plain = Param("note", "text", "")
    assert plain.coerce("x" * DEFAULT_MAX_LENGTH) == "x" * DEFAULT_MAX_LENGTH
    with pytest.raises(ParameterError, match="note must be text of at most 1,000 characters; got 'xxx") as refused:
        plain.coerce("x" * 10_000_000)
    assert len(str(refused.value)) < 200
    longer = Param("note", "text", "", max_length=5000)
    assert len(longer.coerce("x" * 5000)) == 5000
    with pytest.raises(ParameterError, match="at most 5,000 characters"):
        longer.coerce("x" * 5001)
    for wrong in (0, -1, 2.5, True):
        with pytest.raises(ParameterError, match="max_length"):
            Param("note", "text", "", max_length=wrong)
    with pytest.raises(ParameterError, match="max_length"):
        Param("count", "int", 1, max_length=10)


def test_admission_refuses_a_long_style_layers_value(registry):
    from nst.plugin import RunInputs
    from nst.targets import StyleInput

    inputs = RunInputs(content=make_photo(), styles=[StyleInput.of(make_painting())], style_weights=[1.0])
    with pytest.raises(ParameterError, match="style_layers must be text of at most 1,000 characters"):
        registry.admit("style_transfer", inputs, {"style_layers": "block1_conv1" + "," * 100_000})


def test_the_library_refuses_oversized_parameters(library):
    with pytest.raises(LibraryError, match="A render's parameters take 200,0.. characters; at most 65,536"):
        library.create_render("palette", {"note": "x" * 200_000}, None, [])
    assert library.list_renders() == []


# --------------------------------------------------------------------------- the Gram cache

BOMB_SIDE = 16384  # a 16384 x 16384 float32 matrix: 1 GiB of zeros, deflated into about 1 MiB


def _npy_header(shape: tuple[int, int]) -> bytes:
    text = f"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}"
    text += " " * (-(len(text) + 11) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin1")


def _zip_of(name: str, compressed: bytes, size: int, crc: int) -> bytes:
    """A zip archive of one deflated member whose data and sizes are given as they are."""
    filename = name.encode()
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(compressed), size, len(filename), 0)
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(compressed), size,
                          len(filename), 0, 0, 0, 0, 0, 0)
    offset = len(local) + len(filename) + len(compressed)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central) + len(filename), offset, 0)
    return local + filename + compressed + central + filename + end


@pytest.fixture(scope="module")
def bomb() -> tuple[bytes, int, int]:
    """(deflated stream, inflated size, crc) of a .npy of a 16384 x 16384 float32 matrix of zeros. Deflate
    restarts at a full flush, so the stream is one compressed MiB of zeros repeated, built in a moment."""
    header = _npy_header((BOMB_SIDE, BOMB_SIDE))
    chunk = bytes(2 ** 20)
    squeeze = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = squeeze.compress(header) + squeeze.flush(zlib.Z_FULL_FLUSH)
    zeros = squeeze.compress(chunk) + squeeze.flush(zlib.Z_FULL_FLUSH)
    count = BOMB_SIDE * BOMB_SIDE * 4 // len(chunk)
    crc = zlib.crc32(header)
    for _ in range(count):
        crc = zlib.crc32(chunk, crc)
    return head + zeros * count + squeeze.flush(), len(header) + count * len(chunk), crc


def _stored(library, key: TargetKey, payload: bytes) -> None:
    with library.session() as s:
        s.execute(insert(GramEntry).values(key=str(key), pixel_digest=key.pixel_digest, payload=payload,
                                           checksum=hashlib.sha256(payload).hexdigest(), size_bytes=len(payload)))


def _key(*layers: str) -> TargetKey:
    return TargetKey(pixel_digest="c" * 64, width=64, height=64, layers=layers, extractor_id="vgg19-test-float32")


@pytest.mark.parametrize("lie", ["as it is", "a small declared size"])
def test_a_gram_entry_that_is_a_zip_bomb_is_refused_without_inflating_it(library, bomb, lie, caplog):
    stream, size, crc = bomb
    declared = size if lie == "as it is" else 600_000
    payload = _zip_of("block5_conv1.npy", stream, declared, crc)
    assert len(payload) < 1.1 * 2 ** 20
    key = _key("block5_conv1")
    _stored(library, key, payload)
    store = GramStore(library)
    tracemalloc.start()
    try:
        with caplog.at_level(logging.WARNING, logger="db.gram_store"):
            assert store.get(key) is None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2 ** 20, f"reading a 1 MiB entry allocated {peak / 2 ** 20:.0f} MiB"
    assert store.discarded == 1 and "discarded" in caplog.text
    with library.read_session() as s:
        assert s.get(GramEntry, str(key)) is None, "the bad entry is deleted, to be recomputed"
    grams = {"block5_conv1": np.ones((512, 512), np.float32)}
    store.put(key, grams)
    assert np.array_equal(store.get(key)["block5_conv1"], grams["block5_conv1"])


def test_a_gram_entry_longer_than_its_key_allows_is_not_read(library, caplog):
    key = _key("block1_conv1")  # one 64 x 64 matrix: at most some 34 KB
    buffer = io.BytesIO()
    np.savez(buffer, block1_conv1=np.zeros((1024, 1024), np.float32))
    _stored(library, key, buffer.getvalue())
    store = GramStore(library)
    with caplog.at_level(logging.WARNING, logger="db.gram_store"):
        assert store.get(key) is None
    assert "more than its 1 matrices can take" in caplog.text


def test_a_gram_entry_declaring_a_huge_shape_allocates_nothing(library):
    """A stored (uncompressed) member whose header claims a 2 GiB matrix is refused on its header."""
    key = _key("block5_conv1")
    header = _npy_header((2 ** 15, 2 ** 14))
    member = header + bytes(64)
    buffer = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("block5_conv1.npy", member)
    _stored(library, key, buffer.getvalue())
    tracemalloc.start()
    try:
        assert GramStore(library).get(key) is None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2 ** 20


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("kind, value", [("text", "é" * 100), ("integer", 5), ("real", 1.5)])
def test_a_gram_entry_stored_as_another_type_than_bytes_is_a_damaged_entry(library, kind, value, caplog):
    """SQLite keeps whatever type a row was given: a payload of text or a number is a miss, deleted."""
    key = _key("block1_conv1")
    with library.session() as s:
        s.execute(text(f"INSERT INTO gram_entries (key, pixel_digest, payload, checksum, size_bytes, created_at, "
                       f"last_used_at) VALUES (:k, :p, CAST(:v AS {kind}), 'x', 1, '2020-01-01', '2020-01-01')"),
                  {"k": str(key), "p": key.pixel_digest, "v": value})
    store = GramStore(library)
    with caplog.at_level(logging.WARNING, logger="db.gram_store"):
        assert store.get(key) is None
    assert store.discarded == 1 and f"it is not bytes but {type(value).__name__}" in caplog.text
    with library.read_session() as s:
        assert s.get(GramEntry, str(key)) is None, "the damaged entry is deleted, to be recomputed"
