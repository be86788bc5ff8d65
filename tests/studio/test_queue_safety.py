"""Queue messages are data, never code: whatever is written into the queue by hand (a pickle that would run
code, junk, a message for another task), a consumer drops it with one log line, listing the queue skips it,
and renders go on. Also: a queue on another machine without a password is warned about, and a password and
TLS (``rediss://``) work against a real redis-server."""

import datetime
import json
import logging
import pickle
import shutil
import socket
import sqlite3
import struct
import subprocess
import time
from contextlib import closing
from pathlib import Path

import pytest

from db import open_library
from nst.registry import Registry
from studio import queue as queue_module
from studio.consumer import RenderThreads
from studio.farm import Farm
from studio.queue import MAX_MESSAGE_BYTES, QueueError, RefusedMessage, RenderMessages, RenderQueue
from tests.app.conftest import png_bytes
from tests.conftest import migrated_copy
from tests.factories import make_photo

PLUGINS = Path(__file__).resolve().parent / "plugins"
DROPPED = "Dropped a queue message that is not a render"
MESSAGE_ID = "4f5c7210-29b2-4770-8b00-f253dd7c3d0e"


class Exploit:
    """A pickle that creates ``marker`` when it is unpickled (a stand-in for ``os.system(...)``)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return Path.touch, (Path(self.marker),)


def wait_until(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture(params=["sqlite", "redis"])
def queue_url(request, tmp_path, monkeypatch):
    if request.param == "redis":
        return request.getfixturevalue("redis_queue")
    url = f"sqlite:///{tmp_path / 'queue.db'}"
    monkeypatch.setenv("NST_QUEUE_URL", url)
    return url


@pytest.fixture
def queue(queue_url):
    queue = RenderQueue()
    yield queue
    queue.close()


@pytest.fixture
def farm(queue, tmp_path, migrated_sqlite):
    url = f"sqlite:///{tmp_path / 'lib.db'}"
    migrated_copy(migrated_sqlite, url)
    library = open_library(url)
    yield Farm(library, Registry.discover([PLUGINS], entry_points=False), queue)
    library.close()


def put_by_hand(queue: RenderQueue, data: bytes, priority: int = 100) -> None:
    """Write ``data`` into the queue as a stranger with access would: an INSERT into huey's task table in the
    SQLite file, a ZADD into the Redis sorted set (8 bytes of time, then the message; the score is
    minus the priority)."""
    if queue.url.startswith("sqlite:///"):
        with closing(sqlite3.connect(queue.url[len("sqlite:///"):])) as db:
            db.execute("INSERT INTO task (queue, data, priority) VALUES (?, ?, ?)", (queue.huey.name, data, priority))
            db.commit()
    else:
        import redis

        client = redis.Redis.from_url(queue.url)
        key = f"huey.redis.{queue.huey.name}"
        assert key == queue.huey.storage.queue_key
        client.zadd(key, {struct.pack(">Q", time.time_ns() // 1000) + data: -priority})
        client.close()


def dropped_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if DROPPED in r.getMessage()]


def test_a_pickle_written_into_the_queue_runs_nothing_and_renders_go_on(farm, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    marker = tmp_path / "marker"
    exploit = pickle.dumps(Exploit(marker))
    render_threads = RenderThreads(farm.library, farm.registry, lambda: None, warm=False).start()
    try:
        huey = farm.queue.huey
        put_by_hand(farm.queue, exploit)
        # the same bytes where huey would look for a revocation of every render
        huey.storage.put_data(huey._task_key(farm.queue._task, "rt"), exploit)
        wait_until(lambda: huey.pending_count() == 0)
        render_id = farm.submit("slow", {"steps": 2, "delay": 0.0}, png_bytes(make_photo(64, 48)), [])
        assert render_threads.wait_idle(farm.library, 30)
    finally:
        render_threads.stop(timeout=5)
    assert not marker.exists()
    assert farm.library.get_render(render_id).status == "done"
    lines = dropped_lines(caplog)
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in lines)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_listing_the_queue_skips_what_is_not_a_render(queue, tmp_path, caplog):
    """The stale-render sweeper lists the queue every sweep: a bad entry is skipped, never run, and not reported there
    (the consumer that takes it says so, once)."""
    marker = tmp_path / "marker"
    queue.enqueue(7)
    put_by_hand(queue, pickle.dumps(Exploit(marker)))
    put_by_hand(queue, b'{"task": "render"}')
    queue.enqueue(9, priority=10)
    assert queue.pending_ids() == {7, 9}
    assert not marker.exists()
    assert dropped_lines(caplog) == []


def test_huey_itself_drops_what_is_not_a_render_with_one_line(queue, tmp_path, caplog):
    """huey's own reads (its worker's dequeue, its scheduler's read of the schedule) drop a bad message with
    one line too, for a consumer other than the app's."""
    marker = tmp_path / "marker"
    exploit = pickle.dumps(Exploit(marker))
    huey = queue.huey
    put_by_hand(queue, exploit)
    huey.storage.add_to_schedule(exploit, datetime.datetime(2000, 1, 1))
    queue.enqueue(7)
    assert huey.read_schedule() == []
    tasks = []
    wait_until(lambda: tasks.append(huey.dequeue()) or tasks[-1] is not None)  # Redis's read may wait a moment
    assert tasks[-1].args == (7,) and not marker.exists()
    lines = dropped_lines(caplog)
    assert len(lines) == 2 and all(r.exc_info is None for r in lines)


def message(**changes) -> bytes:
    fields = {"id": MESSAGE_ID, "priority": None, "render": 5, "task": "render", **changes}
    return json.dumps({k: v for k, v in fields.items() if v is not ...}).encode()


REFUSED = {
    "a pickle": pickle.dumps(("render", 5)),
    "nothing": b"",
    "null": b"null",
    "a list": b"[5]",
    "a number": b"5",
    "another task": message(task="os.system"),
    "an extra key": message(args=[1]),
    "a missing key": message(id=...),
    "render 0": message(render=0),
    "a negative render": message(render=-1),
    "render 2**63": message(render=2 ** 63),
    "a render that is true": message(render=True),
    "a render that is a float": message(render=5.0),
    "a render that is text": message(render="5"),
    "a huge priority": message(priority=10 ** 6),
    "a float priority": message(priority=1.5),
    "an id that is not a UUID": message(id="x" * 36),
    "an id that is a number": message(id=5),
    "a key twice": b'{"id":"%s","priority":null,"render":5,"render":6,"task":"render"}' % MESSAGE_ID.encode(),
    "NaN": b'{"id":"%s","priority":NaN,"render":5,"task":"render"}' % MESSAGE_ID.encode(),
    "too long": message()[:-1] + b" " * MAX_MESSAGE_BYTES + b"}",
    "deep": b"[" * 200 + b"]" * 200,
    "UTF-16": message().decode().encode("utf-16"),
    "not UTF-8": b"\xff\xfe" + message(),
}


@pytest.mark.parametrize("data", REFUSED.values(), ids=REFUSED.keys())
def test_only_a_render_message_is_read(data):
    with pytest.raises(RefusedMessage):
        RenderMessages().deserialize(data)


def test_a_render_message_is_a_few_bytes_of_json_both_ways(tmp_path):
    queue = RenderQueue(f"sqlite:///{tmp_path / 'queue.db'}")
    task = queue._task.s(2 ** 63 - 1, priority=10)
    data = queue.huey.serialize_task(task)
    assert json.loads(data) == {"id": task.id, "priority": 10, "render": 2 ** 63 - 1, "task": "render"}
    assert len(data) <= MAX_MESSAGE_BYTES
    back = queue.huey.deserialize_task(data)
    assert (back.id, back.args, back.kwargs, back.priority) == (task.id, (2 ** 63 - 1,), {}, 10)
    assert queue.huey.deserialize_task(message()).args == (5,)
    for other in (queue._task.s(5, eta=datetime.datetime(2000, 1, 1)), queue._task.s(5, retries=2),
                  queue._task.s(5).then(queue._task, 6)):
        with pytest.raises(RefusedMessage):
            queue.huey.serialize_task(other)
    with pytest.raises(RefusedMessage):  # huey's results, locks and revocations have no place here
        queue.huey.put("key", {"value": 1})
    queue.close()


# --------------------------------------------------------------------------- a queue on the network


@pytest.mark.parametrize("url, open_", [
    ("redis://10.0.0.5:6379/0", True),
    ("redis://queue.example:6379/0", True),
    ("rediss://10.0.0.5:6379/0", True),
    ("redis://user@10.0.0.5:6379/0", True),
    ("redis://:secret@10.0.0.5:6379/0", False),
    ("rediss://user:secret@10.0.0.5:6379/0", False),
    ("redis://10.0.0.5:6379/0?password=secret", False),
    ("redis://127.0.0.1:6379/0", False),
    ("redis://127.3.2.1:6379/0", False),
    ("redis://localhost:6379/0", False),
    ("redis://[::1]:6379/0", False),
    ("unix:///run/redis.sock", False),
    ("sqlite:///tmp/queue.db", False),
])
def test_a_queue_on_another_machine_without_a_password_is_open(url, open_):
    assert queue_module.open_to_the_network(url) is open_


def test_an_open_queue_is_warned_about_once_per_process(monkeypatch, caplog):
    monkeypatch.setattr(queue_module, "_warned", [])
    RenderQueue("redis://127.0.0.1:6379/0").close()
    RenderQueue("redis://:secret@10.0.0.5:6379/0").close()
    assert caplog.records == []
    RenderQueue("redis://10.0.0.5:6379/0").close()
    RenderQueue("redis://10.0.0.6:6379/0").close()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "redis://10.0.0.5:6379/0 has no password" in warnings[0]


def _free_port() -> int:
    with closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory):
    """A redis-server of this module's own with a password, on a plain port and a TLS port:
    (port, tls port, CA file)."""
    if not shutil.which("redis-server") or not shutil.which("openssl"):
        pytest.skip("redis-server and openssl are needed")
    folder = tmp_path_factory.mktemp("private-redis")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    port, tls_port = _free_port(), _free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--tls-port", str(tls_port), "--tls-cert-file", str(cert),
         "--tls-key-file", str(key), "--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no",
         "--requirepass", "secret", "--save", "", "--appendonly", "no", "--daemonize", "no",
         "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import redis

        def answers() -> bool:
            assert server.poll() is None, "redis-server exited"
            try:
                return redis.Redis(port=port, password="secret", socket_connect_timeout=1).ping()
            except redis.ConnectionError:
                return False

        wait_until(answers, timeout=20)
        yield port, tls_port, cert
    finally:
        server.terminate()
        server.wait(10)


def test_a_queue_with_a_password_and_tls(private_redis, monkeypatch, caplog):
    port, tls_port, ca = private_redis
    monkeypatch.setenv("NST_QUEUE_NAME", "nst-private")
    with pytest.raises(QueueError, match="unavailable"):
        RenderQueue(f"redis://127.0.0.1:{port}/0").check()  # no password: refused by the server
    for url in (f"redis://:secret@127.0.0.1:{port}/0", f"rediss://:secret@localhost:{tls_port}/0?ssl_ca_certs={ca}"):
        queue = RenderQueue(url)
        assert "secret" not in queue.description
        queue.enqueue(5, priority=10)
        assert queue.pending_ids() == {5}
        assert queue.huey.dequeue().args == (5,)
        queue.close()
    assert caplog.records == []
