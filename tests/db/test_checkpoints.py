"""A long render's image at the end of each finished scale: stored by its running worker only, read back
within bounds, refused with the reason when the row was written by other means."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import update

import db.checkpoints as checkpoints_module
from db.checkpoints import CheckpointError, Checkpoints
from db.models import RenderCheckpoint
from nst import images
from tests.app.conftest import png_bytes
from tests.factories import make_photo


@pytest.fixture
def running(library):
    """(library, checkpoints, render id) of a render running for ``owner-1``."""
    record = library.create_render("style_transfer", {"size": 64}, png_bytes(make_photo(64, 48)))
    library.start_render(record.id, "owner-1")
    return library, Checkpoints(library.unit_of_work), record.id


#: A render's canvas at each scale, coarse to fine (a checkpoint follows one before the last).
PLAN = ((20, 15), (40, 30), (57, 43), (80, 60))


def _image(width=40, height=30, seed=0):
    return np.random.default_rng(seed).random((height, width, 3)).astype(np.float32)


def test_the_running_worker_stores_each_scale_and_the_last_one_is_read_back(running):
    library, checkpoints, render_id = running
    assert checkpoints.latest(render_id) is None
    assert checkpoints.save(render_id, "owner-1", 0, _image(20, 15))
    assert checkpoints.save(render_id, "owner-1", 1, _image(40, 30, seed=1))
    found = checkpoints.latest(render_id)
    assert found.scale == 1 and found.image.shape == (30, 40, 3)
    assert np.abs(found.image - _image(40, 30, seed=1)).max() <= 0.5 / 255 + 1e-6  # 8 bits a channel
    checkpoints.drop(render_id)
    assert checkpoints.latest(render_id) is None


def test_only_the_renders_own_running_worker_stores_one(running):
    library, checkpoints, render_id = running
    assert not checkpoints.save(render_id, "someone-else", 0, _image())
    library.fail_render(render_id, "stopped", "owner-1")
    assert not checkpoints.save(render_id, "owner-1", 0, _image())
    assert checkpoints.latest(render_id) is None


def test_a_checkpoint_goes_with_its_render(running):
    library, checkpoints, render_id = running
    checkpoints.save(render_id, "owner-1", 0, _image())
    library.fail_render(render_id, "stopped", "owner-1")
    library.delete_render(render_id)
    with library.read_session() as s:
        assert s.get(RenderCheckpoint, render_id) is None


def _tamper(library, render_id, **values):
    with library.session() as s:
        s.execute(update(RenderCheckpoint).where(RenderCheckpoint.render_id == render_id).values(**values))


def _bomb() -> bytes:
    """A PNG whose header declares 100,000 x 100,000 pixels (its data is a few bytes)."""
    import struct
    import zlib

    header = b"IHDR" + struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    idat = b"IDAT" + zlib.compress(b"\0" * 1000)
    chunk = lambda body: struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))  # noqa: E731
    return b"\x89PNG\r\n\x1a\n" + chunk(header) + chunk(idat) + chunk(b"IEND")


TAMPERED = {
    "not an image": ({"data": b"\x89PNG\r\n\x1a\n" + b"\0" * 100}, "not an image this app reads"),
    "a JPEG": ({"data": images.encode(_image(), "JPEG")}, "is not a PNG"),
    "empty": ({"data": b""}, "is not a PNG"),
    "larger than its row says": ({"data": images.encode(_image(80, 60), "PNG")},
                                 "PNG header says 80x60, not the 40x30 its row declares; it was not decoded"),
    "a scale out of range": ({"scale": 10**6}, "names no scale from 0 to 63"),
    "a negative scale": ({"scale": -1}, "names no scale"),
    "a huge width": ({"width": 10**9}, "declares no whole width and height"),
    "a PNG bomb": ({"data": _bomb(), "width": 100_000, "height": 100_000}, "declares too many pixels"),
    "a PNG bomb its row does not declare": ({"data": _bomb()}, "header says 100000x100000, not the 40x30"),
}


@pytest.mark.parametrize("name", TAMPERED)
def test_a_tampered_checkpoint_is_refused_with_the_reason(running, name):
    library, checkpoints, render_id = running
    checkpoints.save(render_id, "owner-1", 2, _image())
    values, reason = TAMPERED[name]
    _tamper(library, render_id, **values)
    with pytest.raises(CheckpointError, match=reason):
        checkpoints.latest(render_id)


def test_an_oversized_checkpoint_is_refused_unread(running, monkeypatch):
    library, checkpoints, render_id = running
    checkpoints.save(render_id, "owner-1", 2, _image())
    monkeypatch.setattr(checkpoints_module, "MAX_FILE_BYTES", 100)
    with pytest.raises(CheckpointError, match="more than the 0 MiB a stored image may have; it was not read"):
        checkpoints.latest(render_id)


def test_a_bad_scale_is_refused_before_anything_is_stored(running):
    library, checkpoints, render_id = running
    for scale in (-1, 64, True, 1.5, "2"):
        with pytest.raises(CheckpointError, match="whole number from 0 to 63"):
            checkpoints.save(render_id, "owner-1", scale, _image())
    assert checkpoints.latest(render_id) is None


def test_a_worker_starts_over_from_a_checkpoint_it_cannot_use_and_drops_it(running):
    from studio.worker import RenderWorker

    library, checkpoints, render_id = running
    checkpoints.save(render_id, "owner-1", 1, _image())
    worker = RenderWorker(library, None, lambda: None, analysis_plan=())
    assert worker._resume_point(render_id, PLAN)[0] == 1
    _tamper(library, render_id, data=b"GIF89a not a png")
    assert worker._resume_point(render_id, PLAN) is None
    with library.read_session() as s:
        assert s.get(RenderCheckpoint, render_id) is None


def test_a_checkpoint_is_read_only_at_the_size_its_renders_plan_gives_its_scale(running):
    library, checkpoints, render_id = running
    checkpoints.save(render_id, "owner-1", 1, _image())
    assert checkpoints.latest(render_id, PLAN).image.shape == (30, 40, 3)
    with pytest.raises(CheckpointError, match="resumes only after one of its first 1 scales"):
        checkpoints.latest(render_id, PLAN[:2])  # scale 1 of a plan of two is its last: never checkpointed
    _tamper(library, render_id, scale=0)
    with pytest.raises(CheckpointError, match="declares 40x30, not the 20x15 of the render's scale 0; it was not decoded"):
        checkpoints.latest(render_id, PLAN)


def test_a_checkpoint_declaring_more_than_its_render_paints_is_refused_before_decoding(running, monkeypatch, caplog):
    """A row and a PNG that agree on a size many times the render's (here 2000x1500 for a 64 px render): its
    size alone refuses it, so the picture, which the 50-megapixel bound of every upload would let through,
    is never decoded; the worker starts the render over with one log line and drops the row."""
    from studio.worker import RenderWorker

    library, checkpoints, render_id = running
    checkpoints.save(render_id, "owner-1", 1, _image())
    big = images.encode(np.full((1500, 2000, 3), 0.5, np.float32), "PNG")
    _tamper(library, render_id, data=big, width=2000, height=1500)
    decoded = []
    monkeypatch.setattr(checkpoints_module.images, "load", lambda *a, **k: decoded.append(a) or 1 / 0)
    worker = RenderWorker(library, None, lambda: None, analysis_plan=())
    assert worker._resume_point(render_id, PLAN) is None
    assert decoded == []
    said = [r.getMessage() for r in caplog.records if "starts over" in r.getMessage()]
    assert len(said) == 1 and "declares 2000x1500, not the 40x30" in said[0], said
    with library.read_session() as s:
        assert s.get(RenderCheckpoint, render_id) is None


def test_a_render_without_scales_resumes_nothing(running):
    from studio.worker import RenderWorker

    library, checkpoints, render_id = running
    checkpoints.save(render_id, "owner-1", 1, _image())
    assert RenderWorker(library, None, lambda: None, analysis_plan=())._resume_point(render_id, None) is None
