"""The render queue: huey carries "render N is ready to run", and nothing else.

The render record in the library is the one truth about a render (its
parameters, status, owner, progress, result); a queue message only says
which render to look at, so a message that is lost, or delivered twice,
costs nothing: a lost one is sent again by the warden
(:mod:`studio.worker`), a second delivery finds the render already taken.

``NST_QUEUE_URL`` chooses the queue:

* unset (the default): huey's ``SqliteHuey``, a file in the data directory;
  no server, and the app's own consumer takes the renders;
* ``redis://host:6379/0``: huey's ``PriorityRedisHuey``, for workers on
  several machines (with the library on PostgreSQL, ``NST_DATABASE_URL``);
* ``sqlite:///path/to/queue.db``: a SQLite queue file somewhere else.

``NST_QUEUE_NAME`` (default ``nst-renders``) lets several galleries share one server.

Both honour priorities: a quick preview is taken before queued finals.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from huey import PriorityRedisHuey, SqliteHuey
from huey.api import Huey

from nst import config, files
from nst.errors import NSTError

ENV_VAR = "NST_QUEUE_URL"
NAME_ENV = "NST_QUEUE_NAME"
#: The queue's name on its server (several galleries can share one Redis under different names).
DEFAULT_NAME = "nst-renders"
#: Priority of quick previews (as the filter declares them); everything else is 0. Higher runs first.
PREVIEW_PRIORITY = 10


class QueueError(NSTError):
    """The render queue cannot be reached or is misconfigured."""


def priority_of(preview: bool) -> int:
    return PREVIEW_PRIORITY if preview else 0


def queue_url(url: str | None = None) -> str:
    """The queue's URL: ``url``, else ``NST_QUEUE_URL``, else the SQLite file in the data directory."""
    url = url or os.environ.get(ENV_VAR) or ""
    return url.strip() or f"sqlite:///{config.data_dir() / 'queue.db'}"


def describe(url: str) -> str:
    """The URL without a password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        user = credentials.split(":", 1)[0]
        return f"{scheme}://{user + ':***@' if ':' in credentials else credentials + '@'}{host}"
    return url


def queue_name() -> str:
    name = os.environ.get(NAME_ENV, "").strip() or DEFAULT_NAME
    if not name.replace("-", "").replace("_", "").isalnum() or len(name) > 64:
        raise QueueError(f"{NAME_ENV} must be 1 to 64 letters, digits, - or _, not {name!r}.")
    return name


def _make_huey(url: str) -> Huey:
    name = queue_name()
    if url.startswith(("redis://", "rediss://", "unix://")):
        # blocking reads wake a worker as soon as a message arrives; read_timeout bounds a shutdown
        return PriorityRedisHuey(name, url=url, results=False, blocking=True, read_timeout=1)
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):]).expanduser()
        if not path.parent.is_dir():
            raise QueueError(f"Cannot create the render queue {path}: the folder {path.parent} does not exist.")
        return SqliteHuey(name, filename=str(files.private_file(path)), results=False, timeout=30)  # 0600
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

        def render(render_id: int) -> None:
            if self.handler is None:
                raise QueueError("This process takes no renders (it has no worker).")
            self.handler(render_id)

        self._task = self.huey.task(name="render")(render)

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
