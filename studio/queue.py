"""The render queue: huey carries "render N is ready to run", and nothing else.

The render record in the library is the one truth about a render (its
parameters, status, owner, progress, result); a queue message only says
which render to look at, so a message that is lost, or delivered twice,
costs nothing: a lost one is sent again by the stale-render sweeper
(:mod:`studio.worker`), a second delivery finds the render already taken.

``NST_QUEUE_URL`` chooses the queue:

* unset (the default): huey's ``SqliteHuey``, a file in the data directory;
  no server, and the app's own consumer takes the renders;
* ``redis://:password@host:6379/0``: huey's ``PriorityRedisHuey``, for workers on
  several machines (with the library on PostgreSQL, ``NST_DATABASE_URL``);
  ``rediss://`` for TLS. One on another machine without a password is warned about once;
* ``sqlite:///path/to/queue.db``: a SQLite queue file somewhere else.

``NST_QUEUE_NAME`` (default ``nst-renders``) lets several galleries share one server: ASCII letters,
digits, ``-`` and ``_``, each name its own queue (huey would drop the ``-`` from a Redis key, making
``gallery-1`` and ``gallery1`` one queue, so the name is given to it as it is).

Both honour priorities: a quick preview is taken before queued finals.

A message is data, never code: :class:`RenderMessages` writes a render
message as a few bytes of JSON and reads back exactly that and nothing else
(huey's own serializer is pickle, which runs whatever a message says). A
message that is not a render message, whoever put it there, is dropped with
one log line when a consumer takes it, and skipped when the queue is listed
(a pickled message left by an older version too: the stale-render sweeper sends its render again).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
import uuid
from pathlib import Path
from typing import Callable

from huey import PriorityRedisHuey, SqliteHuey
from huey.api import Huey
from huey.registry import Message
from huey.serializer import Serializer

from nst import config, files
from nst.errors import NSTError

ENV_VAR = "NST_QUEUE_URL"
NAME_ENV = "NST_QUEUE_NAME"
#: Priority of quick previews (as the filter declares them); everything else is 0. Higher runs first.
PREVIEW_PRIORITY = 10
#: The task's name in a message (huey registers it as ``studio.queue.render``).
TASK_NAME = "render"
#: A render message is about 100 bytes; anything longer is refused before it is parsed.
MAX_MESSAGE_BYTES = 256
#: Priorities a message may carry (higher runs first; the app sends 0 and ``PREVIEW_PRIORITY``).
MAX_PRIORITY = 1000

log = logging.getLogger(__name__)


class QueueError(NSTError):
    """The render queue cannot be reached or is misconfigured."""


class RefusedMessage(ValueError):
    """Queue data that is not a render message; it is never run."""


class RenderMessages(Serializer):
    """huey's serializer for the render queue: ``{"id": ..., "priority": ..., "render": N, "task": "render"}``
    as JSON, and nothing else. Everything else huey might store (results, locks, revocations, chains,
    retries, schedules) is refused both ways, so no data from the queue's server is ever unpickled."""

    def __init__(self, registered: str = f"{__name__}.{TASK_NAME}"):
        super().__init__()
        self.registered = registered  # the name huey's registry knows the render task by

    def serialize(self, data) -> bytes:
        if not (isinstance(data, Message) and data.name == self.registered and len(data.args or ()) == 1
                and not data.kwargs and not any(data[i] for i in _UNUSED_FIELDS)):
            raise RefusedMessage(f"the render queue carries render messages only, not {type(data).__name__}")
        return _encode(data.args[0], data.priority, data.id)

    def deserialize(self, data) -> Message:
        render_id, priority, message_id = _decode(data)
        return Message(message_id, self.registered, None, 0, 0, priority, (render_id,), {}, retry_backoff=0)


#: Message fields a render message leaves empty: eta, retries, retry_delay, on_complete, on_error, expires,
#: expires_resolved, timeout, chord_config, retry_backoff.
_UNUSED_FIELDS = tuple(Message._fields.index(f) for f in (
    "eta", "retries", "retry_delay", "on_complete", "on_error", "expires", "expires_resolved", "timeout",
    "chord_config", "retry_backoff"))


def _encode(render_id, priority, message_id) -> bytes:
    message = {"id": message_id, "priority": priority, "render": render_id, "task": TASK_NAME}
    _check(message)
    return json.dumps(message, sort_keys=True, separators=(",", ":")).encode("ascii")


def _decode(data) -> tuple[int, int | None, str]:
    """(render id, priority, message id) of a render message; :class:`RefusedMessage` for anything else."""
    if isinstance(data, str):  # SQLite hands back text for a row written as text
        data = data[:MAX_MESSAGE_BYTES + 1].encode("utf-8", "replace")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise RefusedMessage(f"a {type(data).__name__}, not bytes")
    data = bytes(data[:MAX_MESSAGE_BYTES + 1])
    if len(data) > MAX_MESSAGE_BYTES:
        raise RefusedMessage(f"more than {MAX_MESSAGE_BYTES} bytes, starting {data[:8].hex(' ')}")
    try:
        message = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates,
                             parse_constant=_no_constant, parse_float=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise RefusedMessage(f"not a JSON render message ({len(data)} bytes, starting {data[:8].hex(' ')})") from None
    _check(message)
    return message["render"], message["priority"], message["id"]


def _check(message) -> None:
    if not isinstance(message, dict) or sorted(message) != ["id", "priority", "render", "task"]:
        raise RefusedMessage("not a render message (it must hold id, priority, render and task, nothing else)")
    render_id, priority, message_id = message["render"], message["priority"], message["id"]
    if message["task"] != TASK_NAME:
        raise RefusedMessage(f"a message for a task other than {TASK_NAME!r}")
    if type(render_id) is not int or not 0 < render_id < 2 ** 63:
        raise RefusedMessage("its render id is not a whole number from 1 to 2**63 - 1")
    if priority is not None and (type(priority) is not int or not -MAX_PRIORITY <= priority <= MAX_PRIORITY):
        raise RefusedMessage(f"its priority is not a whole number from -{MAX_PRIORITY} to {MAX_PRIORITY}")
    if not isinstance(message_id, str) or not _is_uuid(message_id):
        raise RefusedMessage("its message id is not a UUID")


def _is_uuid(text: str) -> bool:
    try:
        return len(text) == 36 and str(uuid.UUID(text)) == text
    except ValueError:
        return False


def _no_duplicates(pairs):
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("a key twice")
    return dict(pairs)


def _no_constant(text):
    raise ValueError(f"{text} is not a whole number")


class _RenderHuey:
    """What huey does with render messages here: one that is refused is dropped with one line, never run;
    listing the queue skips it; huey's revocations are not read (a render is cancelled in the library)."""

    def dequeue(self):
        try:
            return super().dequeue()  # the storage hands the data over once: a refused message is gone
        except RefusedMessage as exc:
            log.warning("Dropped a queue message that is not a render (%s)", exc)
            return None

    def _deserialize_all(self, messages):  # read_schedule: these messages left the schedule
        return _decoded(self, messages, taken=True)

    def pending(self, limit=None):
        return _decoded(self, self.storage.enqueued_items(limit), taken=False)

    def scheduled(self, limit=None):
        return _decoded(self, self.storage.scheduled_items(limit), taken=False)

    def is_revoked(self, task, timestamp=None, peek=True) -> bool:
        return False


def _decoded(huey, messages, taken: bool) -> list:
    tasks = []
    for data in messages:
        try:
            tasks.append(huey.deserialize_task(data))
        except RefusedMessage as exc:
            if taken:
                log.warning("Dropped a queue message that is not a render (%s)", exc)
    return tasks


class _SqliteRenderHuey(_RenderHuey, SqliteHuey):
    pass


class _RedisRenderHuey(_RenderHuey, PriorityRedisHuey):
    pass


def priority_of(preview: bool) -> int:
    return PREVIEW_PRIORITY if preview else 0


def queue_url(url: str | None = None) -> str:
    """The queue's URL: ``url``, else ``NST_QUEUE_URL``, else the SQLite file in the data directory."""
    url = url or config.value(ENV_VAR) or ""
    return url.strip() or f"sqlite:///{config.data_dir() / 'queue.db'}"


def describe(url: str) -> str:
    """The URL without a password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        user = credentials.split(":", 1)[0]
        return f"{scheme}://{user + ':***@' if ':' in credentials else credentials + '@'}{host}"
    return url


def open_to_the_network(url: str) -> bool:
    """Whether ``url`` is a Redis queue on another machine with no password: whoever reaches the server can
    queue renders and fill or empty the queue. A socket (``unix://``) and a SQLite file are local."""
    if not url.startswith(("redis://", "rediss://")):
        return False
    from redis.connection import parse_url

    try:
        settings = parse_url(url)
    except ValueError:
        return False  # not a usable URL: the queue says so itself
    if settings.get("password"):
        return False
    host = str(settings.get("host") or "localhost").strip("[]").rstrip(".").lower()
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name: it is not looked up, so it counts as another machine
        return True


_warned_lock = threading.Lock()
_warned: list[str] = []


def _warn_if_open(url: str) -> None:
    """One warning per process about a queue with no password on another machine."""
    if not open_to_the_network(url):
        return
    with _warned_lock:
        if _warned:
            return
        _warned.append(url)
    log.warning("The render queue at %s has no password: whoever reaches it can queue renders and empty the "
                "queue. Start redis-server with --requirepass and use redis://:PASSWORD@host:6379/0 (rediss:// "
                "for TLS); see docs/farm.md, Several machines.", describe(url))


_NAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def queue_name() -> str:
    name = config.value(NAME_ENV)
    if not _NAME_CHARACTERS.issuperset(name) or len(name) > 64:
        raise QueueError(f"{NAME_ENV} must be 1 to 64 letters, digits, - or _, not {name!r}.")
    return name


def _make_huey(url: str) -> Huey:
    name = queue_name()
    if url.startswith(("redis://", "rediss://", "unix://")):
        # blocking reads wake a worker as soon as a message arrives; read_timeout bounds a shutdown;
        # clean_name=False: the keys hold the name as it is (huey would drop its "-": two galleries, one queue)
        return _RedisRenderHuey(name, url=url, results=False, blocking=True, read_timeout=1,
                                serializer=RenderMessages(), clean_name=False)
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):]).expanduser()
        if not path.parent.is_dir():
            raise QueueError(f"Cannot create the render queue {path}: the folder {path.parent} does not exist.")
        return _SqliteRenderHuey(name, filename=str(files.private_file(path)), results=False, timeout=30,  # 0600
                                 serializer=RenderMessages())
    raise QueueError(f"{describe(url)!r} is not a render queue URL (use redis://host:6379/0 or sqlite:///path).")


class RenderQueue:
    """One process's handle on the queue; ``handler(render_id)`` runs a render when this process consumes."""

    def __init__(self, url: str | None = None, handler: Callable[[int], None] | None = None):
        self.url = queue_url(url)
        try:
            self.huey = _make_huey(self.url)
        except QueueError:
            raise
        except Exception as exc:  # noqa: BLE001 - redis-py's URL parser raises ValueError, TypeError...
            raise QueueError(f"{describe(self.url)!r} is not a usable render queue URL ({_reason(exc)}).") from None
        self.handler = handler
        _warn_if_open(self.url)

        def render(render_id: int) -> None:
            if self.handler is None:
                raise QueueError("This process takes no renders (it has no worker).")
            self.handler(render_id)

        self._task = self.huey.task(name=TASK_NAME)(render)
        self.huey.serializer.registered = self.huey._registry.task_to_string(self._task.task_class)

    def __repr__(self) -> str:
        return f"RenderQueue({describe(self.url)!r})"

    @property
    def description(self) -> str:
        return describe(self.url)

    def enqueue(self, render_id: int, priority: int = 0) -> None:
        """Say "render N is ready"; raises :class:`QueueError` when the queue cannot be reached."""
        try:
            self.huey.enqueue(self._task.s(int(render_id), priority=priority or None))
        except Exception as exc:  # noqa: BLE001 - redis, sqlite3: all mean the same to the caller
            raise QueueError(f"The render queue at {self.description} is unavailable ({_reason(exc)}).") from None

    def check(self) -> None:
        """Reach the queue once; raises :class:`QueueError` with the reason when it cannot."""
        try:
            self.huey.pending_count()
        except Exception as exc:  # noqa: BLE001
            raise QueueError(f"The render queue at {self.description} is unavailable ({_reason(exc)}).") from None

    def pending_ids(self) -> set[int]:
        """The renders whose messages wait in the queue."""
        try:
            return {int(task.args[0]) for task in self.huey.pending() if task.args}
        except Exception as exc:  # noqa: BLE001
            raise QueueError(f"The render queue at {self.description} is unavailable ({_reason(exc)}).") from None

    def close(self) -> None:
        try:
            self.huey.storage.close()
        except Exception:  # noqa: BLE001 - closing is best effort
            pass


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
