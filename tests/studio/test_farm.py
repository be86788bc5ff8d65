"""The background worker: order, cancellation, failures, restarts; the queue lives in the history."""

import textwrap
import threading
import time

import pytest

from db import open_library
from nst.errors import ParameterError
from nst.jobs import Worker
from nst.registry import Registry
from tests.app.conftest import png_bytes
from tests.factories import make_painting, make_photo

SLOW = """
    import time
    from nst.plugin import Filter, FilterResult, Needs
    from nst.progress import Progress

    class Slow(Filter):
        id = "slow"
        name = "Slow"
        needs = Needs(content=True, min_styles=0, max_styles=1)
        def run(self, inputs, params, progress):
            for step in range(1, 200):
                if inputs.cancelled:
                    return FilterResult(inputs.content, metrics={"steps": step}, cancelled=True)
                progress(Progress(step=step, total=200, elapsed=0.01 * step))
                time.sleep(0.01)
            return FilterResult(inputs.content, metrics={"steps": 200})

    class Exits(Filter):
        id = "exits"
        name = "Exits"
        needs = Needs(content=True, min_styles=0, max_styles=1)
        def run(self, inputs, params, progress):
            raise SystemExit(3)

    FILTERS = [Slow(), Exits()]
"""


@pytest.fixture
def setup(tmp_path):
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "slow.py").write_text(textwrap.dedent(SLOW))
    library = open_library(f"sqlite:///{tmp_path / 'lib.db'}")
    registry = Registry.discover([tmp_path / "plugins"], entry_points=False)
    style = library.add_style(png_bytes(make_painting()), name="Waves")
    workers = []

    def make(**kwargs):
        worker = Worker(library, registry, lambda: None, poll_seconds=0.05, warm=False, **kwargs)
        workers.append(worker)
        return worker

    yield library, make, style
    for worker in workers:
        worker.stop()
    library.close()


def photo():
    return png_bytes(make_photo(96, 72))


def test_renders_run_in_order_and_land_in_the_history(setup):
    library, make, style = setup
    worker = make()
    ids = [worker.submit("palette", {"colors": n, "size": 64}, photo(), [(style.id, 1.0)]) for n in (2, 3)]
    assert worker.wait_idle(30)
    renders = [library.get_render(i) for i in ids]
    assert [r.status for r in renders] == ["done", "done"]
    assert renders[0].finished_at <= renders[1].started_at
    assert renders[1].params["colors"] == 3 and renders[0].timings["seconds"] >= 0


def test_bad_parameters_are_refused_before_anything_is_queued(setup):
    library, make, style = setup
    worker = make()
    with pytest.raises(ParameterError, match="colors must be between 2 and 64"):
        worker.submit("palette", {"colors": 500}, photo(), [(style.id, 1.0)])
    assert library.list_renders() == []


def test_cancel_a_running_render_keeps_its_image(setup):
    library, make, style = setup
    worker = make()
    render_id = worker.submit("slow", {}, photo(), [])
    deadline = time.monotonic() + 10
    while worker.view(render_id).step < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    worker.cancel(render_id)
    assert worker.wait_idle(10)
    record = library.get_render(render_id)
    assert record.status == "cancelled" and record.result_image_id is not None
    assert 3 <= record.timings["steps"] < 200


def test_cancel_a_queued_render_drops_it(setup):
    library, make, style = setup
    worker = make(start=False)  # nothing runs: everything stays queued
    first = worker.submit("slow", {}, photo(), [])
    second = worker.submit("slow", {}, photo(), [])
    assert worker.view(second).queue_position == 2
    worker.cancel(first)
    assert library.get_render(first).status == "cancelled"
    assert worker.view(second).queue_position == 1


def test_a_plugin_that_exits_fails_its_render_and_the_worker_goes_on(setup):
    library, make, style = setup
    worker = make()
    bad = worker.submit("exits", {}, photo(), [])
    good = worker.submit("palette", {"size": 64}, photo(), [(style.id, 1.0)])
    assert worker.wait_idle(30)
    assert library.get_render(bad).status == "failed"
    assert "SystemExit" in library.get_render(bad).error
    assert library.get_render(good).status == "done"


def test_a_restart_marks_the_running_render_interrupted_and_runs_the_queued_ones(setup):
    library, make, style = setup
    idle = make(start=False)
    running = idle.submit("slow", {}, photo(), [])
    queued = idle.submit("palette", {"size": 64}, photo(), [(style.id, 1.0)])
    library.start_render(running)  # as if a process died while running it
    worker = make()  # the app starts again
    assert worker.interrupted == 1
    assert worker.wait_idle(30)
    assert library.get_render(running).status == "interrupted"
    assert library.get_render(queued).status == "done"


def test_rerun_queues_the_same_settings(setup):
    library, make, style = setup
    worker = make()
    first = worker.submit("palette", {"colors": 5, "size": 64}, photo(), [(style.id, 1.0)])
    assert worker.wait_idle(30)
    again = worker.resubmit(first)
    assert worker.wait_idle(30)
    old, new = library.get_render(first), library.get_render(again)
    assert new.status == "done" and new.params == old.params
    assert [s.style_id for s in new.styles] == [style.id]
