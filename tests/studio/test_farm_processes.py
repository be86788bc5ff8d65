"""The render farm across processes, on real servers: load, a killed worker, a restarted Redis, a second
app process, an app restart, a worker without weights, and cancel from another process.

Workers are ``python -m nst worker`` processes; clients and app processes are fresh interpreters too.
Every process of a test shares one library (SQLite, or PostgreSQL) and one queue (SQLite, or Redis).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from db import open_library
from nst.registry import Registry
from studio.farm import Farm
from studio.queue import RenderQueue
from tests.app.conftest import APP, png_bytes
from tests.factories import make_painting, make_photo
from tests.studio.farm_procs import Processes, ROOT, farm_env, port_answers, wait_until

pytestmark = [pytest.mark.farm, pytest.mark.slow]

CLIENT = """
import sys
from db import open_library
from nst.registry import Registry
from studio.farm import Farm
from studio.queue import RenderQueue
from tests.app.conftest import png_bytes
from tests.factories import make_photo

count, style, seed = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
library = open_library()
farm = Farm(library, Registry.discover(), RenderQueue())
for n in range(count):
    photo = png_bytes(make_photo(64, 48, seed=seed * 100 + n))
    print(farm.submit("palette", {"colors": 2 + n % 6, "size": 64}, photo, [(style, 1.0)]), flush=True)
"""

APP_PROCESS = """
import sys, time
from streamlit.testing.v1 import AppTest

at = AppTest.from_file(sys.argv[1], default_timeout=120).run()
assert not at.exception, at.exception
print("the app is up", flush=True)
time.sleep(float(sys.argv[2]))
"""


class Cluster:
    """One farm: the environment its processes share, the test's own handle on it, and the processes."""

    def __init__(self, tmp_path, monkeypatch, database_url: str, queue_url: str | None = None, **extra):
        self.env = farm_env(tmp_path / "data", database_url, queue_url, **extra)
        (tmp_path / "data").mkdir(exist_ok=True)
        for name in ("NST_DATA_DIR", "NST_DATABASE_URL", "NST_QUEUE_URL", "NST_QUEUE_NAME", "NST_PLUGIN_PATH"):
            monkeypatch.setenv(name, self.env[name])
        self.library = open_library()
        self.farm = Farm(self.library, Registry.discover(), RenderQueue())
        self.procs = Processes(tmp_path)

    def style(self) -> int:
        return self.library.add_style(png_bytes(make_painting()), name="Waves").id

    def submit_slow(self, steps: int, delay: float) -> int:
        return self.farm.submit("slow", {"steps": steps, "delay": delay}, png_bytes(make_photo(64, 48)), [])

    def wait(self, condition, timeout: float, what: str) -> None:
        wait_until(condition, timeout, what, self.procs.logs)

    def ended(self, ids) -> bool:
        return all(not self.library.get_render(i).active for i in ids)

    def close(self) -> None:
        self.procs.stop_all()
        self.farm.queue.close()
        self.library.close()


@pytest.fixture
def sqlite_farm(tmp_path, monkeypatch):
    cluster = Cluster(tmp_path, monkeypatch, f"sqlite:///{tmp_path / 'data' / 'library.db'}")
    yield cluster
    cluster.close()


@pytest.fixture
def server_farm(tmp_path, monkeypatch, postgres_url, redis_queue):
    cluster = Cluster(tmp_path, monkeypatch, postgres_url, redis_queue, NST_QUEUE_NAME=os.environ["NST_QUEUE_NAME"])
    yield cluster
    cluster.close()


def _load(cluster: Cluster) -> None:
    """3 clients x 20 renders against 2 workers: each render ends done exactly once, with its image."""
    style = cluster.style()
    clients = [cluster.procs.python(CLIENT, cluster.env, f"client{i}", "20", str(style), str(i)) for i in range(3)]
    for client in clients:
        assert client.wait(120) == 0, cluster.procs.logs()
    ids = [r.id for r in cluster.library.list_renders(limit=100)]
    assert len(ids) == 60
    cluster.wait(lambda: cluster.ended(ids), 240, "60 renders to end")
    records = [cluster.library.get_render(i) for i in ids]
    assert {r.status for r in records} == {"done"}, [(r.id, r.status, r.error) for r in records if r.status != "done"]
    assert all(r.result_image_id is not None for r in records)
    for r in records:
        names = [e["event"] for e in r.events]
        assert names == ["queued", "started", "done"] and r.attempts == 1, (r.id, r.events)
    owners = {r.events[1]["owner"].rsplit(":", 1)[0] for r in records}
    assert len(owners) == 2, f"both workers took renders: {owners}"


def test_load_on_sqlite_with_two_worker_processes(sqlite_farm):
    sqlite_farm.procs.worker(sqlite_farm.env, "pool", workers=2)  # one command, two worker processes
    _load(sqlite_farm)


def test_load_on_redis_and_postgresql_with_two_workers(server_farm):
    server_farm.procs.worker(server_farm.env, "w1")
    server_farm.procs.worker(server_farm.env, "w2")
    _load(server_farm)


def test_a_killed_worker_s_render_is_finished_by_another(sqlite_farm):
    env = dict(sqlite_farm.env, NST_STALE_SECONDS="3")  # the shortest allowed: three missed heartbeats
    for name in ("w1", "w2"):
        sqlite_farm.procs.worker(env, name)
    render_id = sqlite_farm.submit_slow(steps=40, delay=0.1)
    sqlite_farm.wait(lambda: (sqlite_farm.library.get_render(render_id).progress or {}).get("step", 0) >= 5, 60,
                     "the render to run")
    first = sqlite_farm.library.get_render(render_id).owner
    os.kill(int(first.split(":")[1]), signal.SIGKILL)
    killed = time.monotonic()
    sqlite_farm.wait(lambda: sqlite_farm.ended([render_id]), 60, "another worker to finish it")
    record = sqlite_farm.library.get_render(render_id)
    assert record.status == "done" and record.result_image_id is not None and record.attempts == 2
    names = [e["event"] for e in record.events]
    assert names == ["queued", "started", "retried", "started", "done"], record.events
    assert first in record.events[2]["detail"] and record.events[3]["owner"] != first
    print(f"killed worker's render finished by another {time.monotonic() - killed:.1f} s after the kill")


def test_a_second_app_process_leaves_a_running_render_alone(sqlite_farm):
    sqlite_farm.procs.worker(sqlite_farm.env, "w1")
    render_id = sqlite_farm.submit_slow(steps=60, delay=0.1)
    sqlite_farm.wait(lambda: sqlite_farm.library.get_render(render_id).status == "running", 60, "the render to run")
    app = sqlite_farm.procs.python(APP_PROCESS, dict(sqlite_farm.env, NST_APP_WORKERS="1"), "app", APP, "2")
    assert app.wait(120) == 0, sqlite_farm.procs.logs()
    sqlite_farm.wait(lambda: sqlite_farm.ended([render_id]), 60, "the render to end")
    record = sqlite_farm.library.get_render(render_id)
    assert record.status == "done" and record.result_image_id is not None and record.attempts == 1


def test_renders_queued_before_an_app_restart_still_run(sqlite_farm):
    style = sqlite_farm.style()
    photo = png_bytes(make_photo(64, 48))
    ids = [sqlite_farm.farm.submit("palette", {"size": 64}, photo, [(style, 1.0)]) for _ in range(3)]
    sqlite_farm.farm.queue.close()  # the process that queued them is gone; nothing runs them meanwhile
    sqlite_farm.procs.python(APP_PROCESS, dict(sqlite_farm.env, NST_APP_WORKERS="1"), "app", APP, "120")
    sqlite_farm.wait(lambda: sqlite_farm.ended(ids), 90, "the restarted app to run the queued renders")
    assert {sqlite_farm.library.get_render(i).status for i in ids} == {"done"}


def test_a_worker_without_weights_fails_its_renders_with_the_reason(sqlite_farm, tmp_path):
    env = dict(sqlite_farm.env, NST_VGG19_WEIGHTS=str(tmp_path / "missing.h5"))
    sqlite_farm.procs.worker(env, "w1")
    style = sqlite_farm.style()
    render_id = sqlite_farm.farm.submit("style_transfer", {"size": 64, "steps": 2, "start_size": 64},
                                        png_bytes(make_photo(64, 48)), [(style, 1.0)])
    sqlite_farm.wait(lambda: sqlite_farm.ended([render_id]), 120, "the render to fail")
    record = sqlite_farm.library.get_render(render_id)
    assert record.status == "failed" and "missing.h5, which does not exist" in record.error


def test_cancel_from_another_process_stops_the_render_and_keeps_its_best_image(sqlite_farm):
    sqlite_farm.procs.worker(sqlite_farm.env, "w1")
    render_id = sqlite_farm.submit_slow(steps=600, delay=0.05)
    sqlite_farm.wait(lambda: (sqlite_farm.library.get_render(render_id).progress or {}).get("step", 0) >= 5, 60,
                     "the render to run")
    asked = time.monotonic()
    sqlite_farm.farm.cancel(render_id)
    sqlite_farm.wait(lambda: sqlite_farm.ended([render_id]), 30, "the render to stop")
    print(f"cancel reached the worker and the render ended {time.monotonic() - asked:.2f} s after Cancel")
    record = sqlite_farm.library.get_render(render_id)
    assert record.status == "cancelled" and record.result_image_id is not None
    assert 5 <= record.timings["steps"] < 600


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_queue_drains_after_redis_restarts(tmp_path, monkeypatch):
    exe = shutil.which("redis-server")
    if exe is None:
        if os.environ.get("NST_REQUIRE_REDIS") == "1":
            pytest.fail("redis-server is not installed (NST_REQUIRE_REDIS=1)", pytrace=False)
        pytest.skip("redis-server is not installed")
    port = _free_port()

    def start_redis() -> subprocess.Popen:
        server = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                                   "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
        wait_until(lambda: port_answers(port), 10, "redis-server to start")
        return server

    server = start_redis()
    cluster = Cluster(tmp_path, monkeypatch, f"sqlite:///{tmp_path / 'data' / 'library.db'}",
                      f"redis://127.0.0.1:{port}/0")
    try:
        cluster.procs.worker(cluster.env, "w1")
        busy = cluster.submit_slow(steps=40, delay=0.1)
        cluster.wait(lambda: cluster.library.get_render(busy).status == "running", 60, "the first render to run")
        style = cluster.style()
        photo = png_bytes(make_photo(64, 48))
        waiting = [cluster.farm.submit("palette", {"size": 64}, photo, [(style, 1.0)]) for _ in range(4)]
        assert cluster.library.get_render(busy).status == "running"  # so the four are still in the queue
        server.kill()  # the queue, with the four messages, is gone
        server.wait()
        server = start_redis()
        cluster.wait(lambda: cluster.ended([busy, *waiting]), 90, "the queue to drain")
        assert {cluster.library.get_render(i).status for i in [busy, *waiting]} == {"done"}
    finally:
        cluster.close()
        server.kill()
        server.wait()



def _nst(env, *args, timeout=180):
    return subprocess.run([sys.executable, "-m", "nst", *map(str, args)], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def test_the_command_line_submits_follows_lists_shows_and_cancels(sqlite_farm, tmp_path):
    photo, painting = tmp_path / "photo.png", tmp_path / "waves.png"
    make_photo(64, 48).save(photo)
    make_painting().save(painting)
    env = sqlite_farm.env
    early = sqlite_farm.submit_slow(steps=5, delay=0.0)  # no worker yet: it waits in the queue
    dropped = _nst(env, "renders", "cancel", early)
    assert dropped.returncode == 0 and dropped.stdout.strip() == f"Render {early} was still queued: cancelled."
    sqlite_farm.procs.worker(env, "w1")
    done = _nst(env, "transfer", photo, painting, "-o", tmp_path / "out.png", "--queue", "--size", "64",
                "--steps", "2", "--start-size", "64")
    assert done.returncode == 0, done.stderr + sqlite_farm.procs.logs()
    assert 'added waves.png to the style library as "waves"' in done.stderr
    assert "Wrote" in done.stdout and "render 2 done" in done.stdout
    from PIL import Image

    assert Image.open(tmp_path / "out.png").size == (64, 48)
    listing = _nst(env, "renders", "list")
    assert listing.returncode == 0 and "done" in listing.stdout and "style_transfer" in listing.stdout
    assert "cancelled" in listing.stdout
    shown = _nst(env, "renders", "show", "2")
    assert shown.returncode == 0 and "started (" in shown.stdout and "attempts 1" in shown.stdout
    again = _nst(env, "renders", "cancel", "2")
    assert again.returncode == 2 and again.stderr.strip() == "error: Render 2 is done; there is nothing to cancel."
    missing = _nst(env, "renders", "show", "99")
    assert missing.returncode == 2 and "No render with id 99" in missing.stderr
