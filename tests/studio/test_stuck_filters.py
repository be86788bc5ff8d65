"""Filters that ignore their time limit: each holds a thread for ever (Python cannot end one), so a process
lets at most ``MAX_STUCK_THREADS`` be held. Past that a worker process exits for its supervisor to start a
fresh one, and the app takes no more renders and says why. Before, every stuck filter left one more spinning
thread behind, with no cap."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

import studio.worker
from db import open_library
from nst.registry import Registry
from studio.consumer import EXIT_STUCK, RenderThreads
from studio.farm import Farm
from studio.queue import RenderQueue
from tests.app.conftest import png_bytes
from tests.factories import make_painting, make_photo
from tests.studio.farm_procs import Processes, farm_env, wait_until

PLUGINS = Path(__file__).resolve().parent / "plugins"



@pytest.fixture
def registry():
    return Registry.discover([PLUGINS], entry_points=False)


@pytest.fixture
def release(registry):
    """The stubborn filter's release: set when the test ends, so the threads it holds end too."""
    event = next(m.RELEASE for name, m in sys.modules.items() if name.endswith(".slow") and hasattr(m, "RELEASE"))
    event.clear()
    yield event
    event.set()


def _submit(the_farm: Farm, style_id: int) -> tuple[list[int], int]:
    photo = png_bytes(make_photo(64, 48))
    stuck = [the_farm.submit("stubborn", {}, photo, []) for _ in range(2)]
    waiting = the_farm.submit("palette", {"size": 64}, photo, [(style_id, 1.0)])
    return stuck, waiting


def test_the_app_takes_no_more_renders_once_two_filters_hold_its_threads_and_says_why(tmp_path, monkeypatch,
                                                                                    caplog, registry, release):
    monkeypatch.setenv("NST_QUEUE_URL", f"sqlite:///{tmp_path / 'queue.db'}")
    monkeypatch.setenv("NST_RENDER_TIME_LIMIT", "1")
    monkeypatch.setattr(studio.worker, "STOP_GRACE_SECONDS", 0.2)
    library = open_library(f"sqlite:///{tmp_path / 'lib.db'}")
    render_threads = RenderThreads(library, registry, lambda: None, warm=False, threads=1)
    try:
        style = library.add_style(png_bytes(make_painting()), name="Waves")
        stuck, waiting = _submit(Farm(library, registry, RenderQueue()), style.id)
        caplog.set_level(logging.WARNING, logger="studio.consumer")
        render_threads.start()
        wait_until(lambda: render_threads.halted is not None, 30, "the render threads to stop taking renders")
        assert [library.get_render(i).status for i in stuck] == ["failed", "failed"]
        assert render_threads.consumer.stop_flag.is_set(), "its threads take no more renders"
        assert len(render_threads.consumer.worker_threads) == 2, \
            "one thread added after the first, none after the second"
        assert library.get_render(waiting).status == "queued"
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR and r.name == "studio.consumer"]
        assert errors == [render_threads.halted] and "takes no more renders until it is restarted" in errors[0], errors
    finally:
        release.set()
        render_threads.stop(timeout=5)
        library.close()


@pytest.mark.farm
def test_a_worker_process_whose_threads_are_held_exits_for_its_supervisor_to_restart_it(tmp_path, monkeypatch,
                                                                                       registry, release):
    (tmp_path / "data").mkdir()
    env = farm_env(tmp_path / "data", f"sqlite:///{tmp_path / 'data' / 'library.db'}", NST_RENDER_TIME_LIMIT="1")
    for name in ("NST_QUEUE_URL", "NST_QUEUE_NAME"):
        monkeypatch.setenv(name, env[name])
    library = open_library(env["NST_DATABASE_URL"])
    procs = Processes(tmp_path)
    try:
        style = library.add_style(png_bytes(make_painting()), name="Waves")
        stuck, waiting = _submit(Farm(library, registry, RenderQueue()), style.id)
        worker = procs.python("""
            import sys
            import studio.worker
            studio.worker.STOP_GRACE_SECONDS = 0.2  # the default 30 s, shortened for the test
            from studio.consumer import run_one
            sys.exit(run_one("w1", warm=False, analyse=False))
        """, env, "w1")
        wait_until(lambda: worker.poll() is not None, 90, "the worker to exit\n" + procs.logs())
        assert worker.returncode == EXIT_STUCK, procs.logs()
        log = procs.logs()
        assert "worker w1: 2 filters did not stop at their time limit" in log
        assert f"Exiting (status {EXIT_STUCK}) for a fresh process to take its place" in log
        assert [library.get_render(i).status for i in stuck] == ["failed", "failed"]
        assert library.get_render(waiting).status == "queued", "left for the fresh process"
    finally:
        procs.stop_all()
        library.close()
