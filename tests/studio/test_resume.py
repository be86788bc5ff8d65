"""A long render survives its worker: a worker process killed after the third of five scales leaves the
render to a second worker process, which resumes after the last scale the first one stored."""

from __future__ import annotations

import os
import signal

import pytest

from db.checkpoints import Checkpoints
from tests.app.conftest import png_bytes
from tests.factories import make_photo
from tests.studio.test_farm_processes import sqlite_farm  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.farm, pytest.mark.slow]

#: Five scales (32, 45, 64, 91 and 128 px), each running its whole budget (20 steps at the last, 1.45 times
#: as many at each coarser one): a tiny render whose fourth scale lasts long enough to be interrupted.
PARAMS = {"size": 128, "start_size": 32, "steps": 20, "tolerance": 0.0, "seed": 1}


def test_a_worker_killed_after_the_third_scale_leaves_a_render_that_resumes_there(sqlite_farm):  # noqa: F811
    farm = sqlite_farm
    env = dict(farm.env, NST_STALE_SECONDS="3")  # the shortest allowed: three missed heartbeats
    for name in ("w1", "w2"):
        farm.procs.worker(env, name)
    style = farm.style()
    render_id = farm.farm.submit("style_transfer", PARAMS, png_bytes(make_photo(128, 96)), [(style, 1.0)])
    checkpoints = Checkpoints(farm.library.unit_of_work)

    def scale_stored():
        found = checkpoints.latest(render_id)
        return found is not None and found.scale >= 2

    farm.wait(scale_stored, 240, "the render's third scale to be stored")
    first = farm.library.get_render(render_id).owner
    os.kill(int(first.split(":")[1]), signal.SIGKILL)
    stored = checkpoints.latest(render_id)  # its worker is dead: this is the last scale it finished
    assert stored.scale in (2, 3) and stored.image.shape[:2] == [(48, 64), (68, 91)][stored.scale - 2]
    farm.wait(lambda: farm.ended([render_id]), 240, "another worker to finish it")
    record = farm.library.get_render(render_id)
    assert record.status == "done" and record.result_image_id is not None and record.attempts == 2, record.error
    names = [e["event"] for e in record.events]
    assert names == ["queued", "started", "retried", "started", "done"], record.events
    assert record.events[3]["owner"] != first
    finished = stored.scale + 1
    stopped = record.timings["stopped"]
    assert stopped[:finished] == ["resumed"] * finished and "resumed" not in stopped[finished:], stopped
    assert len(stopped) == 5 and record.timings["scales"][-1] == "128x96"
    assert checkpoints.latest(render_id) is None  # the render ended: nothing resumes it
