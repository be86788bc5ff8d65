"""The farm in an incident: the time limit holds while the library refuses heartbeats, a queue outage is two
log lines (not a traceback every 0.1 s), a finished render is not called taken back, the client does not
say "queued" for a render that is not, and a worker process that dies has its render released by its
supervisor at once."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from db import LibraryError, open_library
from nst.registry import Registry
from studio.consumer import RenderThreads
from studio.farm import Farm
from studio.queue import RenderQueue
from tests.app.conftest import png_bytes
from tests.factories import make_painting, make_photo
from tests.studio.farm_procs import Processes, farm_env, port_answers, wait_until

PLUGINS = Path(__file__).resolve().parent / "plugins"



class Wrapped:
    """The library, with some of its methods replaced by a test (our own code, not a server's)."""

    def __init__(self, library, **methods):
        self._library = library
        self.__dict__.update(methods)

    def __getattr__(self, name):
        return getattr(self._library, name)


@pytest.fixture
def farm(tmp_path, monkeypatch):
    monkeypatch.setenv("NST_QUEUE_URL", f"sqlite:///{tmp_path / 'queue.db'}")
    library = open_library(f"sqlite:///{tmp_path / 'lib.db'}")
    registry = Registry.discover([PLUGINS], entry_points=False)
    made_threads = []

    def render_threads(on_library=None, **kwargs):
        made = RenderThreads(on_library or library, registry, lambda: None, warm=False, **kwargs)
        made_threads.append(made)
        return made.start()

    yield library, Farm(library, registry, RenderQueue()), render_threads
    for made in made_threads:
        made.stop(timeout=5)
    library.close()


def photo() -> bytes:
    return png_bytes(make_photo(64, 48))


def test_the_time_limit_holds_while_every_heartbeat_fails(farm, monkeypatch, caplog):
    """A filter that stops when asked is asked at its time limit even though the library refuses every
    heartbeat (it ran on past 198 s under a 5 s limit); the failing heartbeat is one log line."""
    library, the_farm, render_threads = farm
    monkeypatch.setenv("NST_RENDER_TIME_LIMIT", "1")

    def heartbeat(*args, **kwargs):
        raise LibraryError("The library is unavailable (the database server closed the connection).")

    render_id = the_farm.submit("slow", {"steps": 100000, "delay": 0.01}, photo(), [])
    caplog.set_level(logging.INFO)
    render_threads(Wrapped(library, heartbeat=heartbeat))
    wait_until(lambda: not library.get_render(render_id).active, 20, "the render to be stopped at its limit")
    record = library.get_render(render_id)
    assert record.status == "failed" and "time limit of 1 s" in record.error, record
    assert record.result_image_id is not None
    beats = [r for r in caplog.records if "heartbeat" in r.getMessage().lower()]
    assert len(beats) == 1 and beats[0].exc_info is None, [r.getMessage() for r in beats]


def test_a_render_its_worker_finished_is_not_called_taken_back(farm, monkeypatch, caplog):
    """The heartbeat stops before the result is stored, and a heartbeat that lands after the store anyway
    hears "ended", not "lost": no "taken back ... stopping it" for a render that ended well (6 of 8 such
    warnings on PostgreSQL were false)."""
    import studio.worker

    library, the_farm, render_threads = farm
    leases, beating_at_store, answers = [], [], []
    enter = studio.worker.Lease.__enter__
    monkeypatch.setattr(studio.worker.Lease, "__enter__", lambda lease: leases.append(lease) or enter(lease))

    def finish_render(render_id, *args, **kwargs):
        lease = leases[-1]
        beating_at_store.append(lease._thread.is_alive())
        stored = library.finish_render(render_id, *args, **kwargs)
        lease.beat_once()  # a heartbeat landing right after the result's write
        answers.append(library.heartbeat(render_id, lease.owner))
        return stored

    render_id = the_farm.submit("slow", {"steps": 3, "delay": 0.0}, photo(), [])
    caplog.set_level(logging.INFO)
    render_threads(Wrapped(library, finish_render=finish_render))
    wait_until(lambda: answers, 30, "the render to end and the late heartbeat to be answered")
    assert library.get_render(render_id).status == "done"
    assert beating_at_store == [False], "the heartbeat was still running when the result was stored"
    assert answers == ["ended"]
    assert not [r.getMessage() for r in caplog.records if "taken back" in r.getMessage()]
    assert library.heartbeat(render_id, "someone-else:1:w") == "lost"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_client_does_not_say_queued_when_the_queue_refused_the_render(tmp_path, monkeypatch, capsys, caplog):
    import studio.farm_cli
    from studio.cli import main

    monkeypatch.setenv("NST_QUEUE_URL", f"redis://127.0.0.1:{_free_port()}/0")  # nothing answers there
    monkeypatch.setenv("NST_DATABASE_URL", f"sqlite:///{tmp_path / 'lib.db'}")
    monkeypatch.setattr(studio.farm_cli, "watch", lambda farm, render_id, stream, quiet=False:
                        farm.library.get_render(render_id))  # no worker: do not wait for one
    photo_file, painting = tmp_path / "photo.png", tmp_path / "waves.png"
    make_photo(64, 48).save(photo_file)
    make_painting().save(painting)
    main(["transfer", str(photo_file), str(painting), "-o", str(tmp_path / "out.png"), "--queue", "--size", "64"])
    err = capsys.readouterr().err
    assert any("recorded but not queued yet" in r.getMessage() for r in caplog.records)
    assert "queued on" not in err and "not queued yet" in err, err


@pytest.fixture
def private_redis(tmp_path):
    """A redis-server of this test's own, on a free port: ``stop()`` and ``start()`` it at will."""
    exe = shutil.which("redis-server")
    if exe is None:
        if os.environ.get("NST_REQUIRE_REDIS") == "1":
            pytest.fail("redis-server is not installed (NST_REQUIRE_REDIS=1)", pytrace=False)
        pytest.skip("redis-server is not installed")

    class Server:
        port = _free_port()
        process: subprocess.Popen | None = None

        def start(self) -> None:
            self.process = subprocess.Popen([exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                             "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
            wait_until(lambda: port_answers(self.port), 10, "redis-server to start")

        def stop(self) -> None:
            if self.process is not None:
                self.process.kill()
                self.process.wait()
                self.process = None

    server = Server()
    server.start()
    yield server
    server.stop()



@pytest.mark.slow
def test_a_queue_outage_is_one_line_when_it_goes_and_one_when_it_is_back(tmp_path, monkeypatch, private_redis,
                                                                           caplog):
    """Redis stopped under a consuming process with two render threads and a stale-render sweeper: huey logged a
    traceback at every try of every thread (ten a second each, 51 and 82 in a 10 s outage); now the
    process says once that the queue is unavailable and once that it is back, and the render submitted
    meanwhile runs when it is."""
    monkeypatch.setenv("NST_QUEUE_URL", f"redis://127.0.0.1:{private_redis.port}/0")
    monkeypatch.setenv("NST_QUEUE_NAME", f"nst-test-{uuid.uuid4().hex[:12]}")
    library = open_library(f"sqlite:///{tmp_path / 'lib.db'}")
    registry = Registry.discover([PLUGINS], entry_points=False)
    the_farm = Farm(library, registry, RenderQueue())
    render_threads = RenderThreads(library, registry, lambda: None, warm=False, threads=2)
    render_threads.sweeper.orphan_after = 0.0  # a message that could not be sent is sent at the next sweep
    reads = []
    dequeue = render_threads.queue.huey.storage.dequeue

    def counted():
        reads.append(time.monotonic())
        return dequeue()

    render_threads.queue.huey.storage.dequeue = counted
    caplog.set_level(logging.DEBUG, logger="huey")
    caplog.set_level(logging.INFO)
    try:
        render_threads.start()
        first = the_farm.submit("slow", {"steps": 2, "delay": 0.0}, photo(), [])
        assert render_threads.wait_idle(library, 30) and library.get_render(first).status == "done"
        caplog.clear()
        private_redis.stop()
        stopped, before = time.monotonic(), len(reads)
        during = the_farm.submit("slow", {"steps": 2, "delay": 0.0}, photo(), [])  # recorded, not queued
        # every render thread tries the queue again and again, and the stale-render sweeper sweeps at least once
        wait_until(lambda: len(reads) - before >= 30 and time.monotonic() - stopped > 2.5, 30,
                   "the consumer to try the stopped queue")
        private_redis.start()
        wait_until(lambda: library.get_render(during).status == "done", 30, "the render submitted meanwhile")
    finally:
        render_threads.stop(timeout=5)
        the_farm.queue.close()
        library.close()
    # what the consuming process said (the submitting side's "recorded but not queued yet" is the client's;
    # huey's "Executing ..." lines are its renders)
    records = [r for r in caplog.records if r.name.startswith(("huey", "studio")) and r.name != "studio.farm"
               and (r.levelno >= logging.WARNING or r.name.startswith("studio"))]
    lines = [f"{r.name} {r.levelname} {r.getMessage()}" for r in records]
    assert not [r for r in records if r.exc_info], "a traceback: " + "\n".join(lines)
    gone = [r for r in records if "unavailable" in r.getMessage()]
    back = [r for r in records if "is back" in r.getMessage()]
    assert len(gone) == 1 and len(back) == 1, "\n".join(lines)
    assert len(records) == 2, "\n".join(lines)


@pytest.mark.farm
@pytest.mark.slow
def test_a_render_whose_worker_process_died_is_released_by_its_supervisor_at_once(tmp_path):
    """``kill -9`` of one of ``--workers 2``: the supervisor sees the exit within a second and queues the
    render again (an attempt, as a silent worker's); the stale limit (300 s here) plays no part."""
    (tmp_path / "data").mkdir()
    env = farm_env(tmp_path / "data", f"sqlite:///{tmp_path / 'data' / 'library.db'}", NST_STALE_SECONDS="300")
    procs = Processes(tmp_path)
    library = open_library(env["NST_DATABASE_URL"])
    queue = RenderQueue(env["NST_QUEUE_URL"])
    try:
        procs.worker(env, "pool", workers=2)
        registry = Registry.discover([PLUGINS], entry_points=False)
        the_farm = Farm(library, registry, queue)
        render_id = the_farm.submit("slow", {"steps": 60, "delay": 0.05}, photo(), [])
        wait_until(lambda: (library.get_render(render_id).progress or {}).get("step", 0) >= 2, 90,
                   "the render to run\n" + procs.logs())
        owner = library.get_render(render_id).owner
        os.kill(int(owner.split(":")[1]), signal.SIGKILL)
        wait_until(lambda: "retried" in [e["event"] for e in library.get_render(render_id).events], 30,
                   "the supervisor to release the render\n" + procs.logs())
        wait_until(lambda: not library.get_render(render_id).active, 60, "the render to end\n" + procs.logs())
        record = library.get_render(render_id)
        assert record.status == "done" and record.attempts == 2, record
        retried = next(e for e in record.events if e["event"] == "retried")
        assert owner in retried["detail"] and "exited with status -9" in retried["detail"], retried
    finally:
        procs.stop_all()
        queue.close()
        library.close()


def test_the_supervisor_sends_a_dead_worker_s_render_to_the_queue_itself_not_leaving_it_to_the_sweeper():
    """What the supervisor does on a child's exit, in this process: the render is queued again and its
    message sent and marked as sent at once, so no stale-render sweeper has to find it lost (one would, ORPHAN_SECONDS
    later: the process test above passes either way)."""
    from studio.consumer import release_renders_of

    library, queue = open_library(), RenderQueue()  # the data directory's, as the supervisor opens them
    try:
        render_id = library.create_render("slow", {"steps": 2}, None).id
        pid = 4_000_000  # no such process: only its owner prefix matters
        library.start_render(render_id, f"{socket.gethostname()}:{pid}:w1-1")
        assert render_id not in queue.pending_ids()
        assert release_renders_of(pid, "exited with status -9") == [render_id]
        assert library.get_render(render_id).status == "queued"
        assert render_id in queue.pending_ids(), "the supervisor did not send the render's message"
        assert library.renders_to_enqueue(3600) == [], "the message was sent but not marked as sent"
    finally:
        queue.close()
        library.close()


def test_renders_are_taken_back_by_their_owner_s_prefix(library):
    """The supervisor's way: the running renders of one process (``host:pid:``) only, retried once
    then failed, a cancelled one cancelled."""
    ids = [library.create_render("slow", {"steps": 2}, None).id for _ in range(4)]
    owners = ["a_b:12:w1-1", "a_b:123:w1-2", "axb:12:w1-3", "a_b:12:w1-4"]
    for render_id, owner in zip(ids, owners):
        library.start_render(render_id, owner)
    library.request_cancel(ids[3])
    taken = library.recover_owned_by("a_b:12:", "(process 12) exited with status -9")
    assert [(t.render_id, t.status) for t in taken] == [(ids[0], "queued"), (ids[3], "cancelled")]
    assert [library.get_render(i).status for i in ids[1:3]] == ["running", "running"]
    library.start_render(ids[0], "a_b:12:w1-5")
    assert [t.status for t in library.recover_owned_by("a_b:12:", "exited")] == ["failed"]
    record = library.get_render(ids[0])
    assert record.attempts == 2 and [e["event"] for e in record.events][-3:] == ["retried", "started", "failed"]
