"""A render's life: its statuses, the moves between them, and its story, in one place.

A render is recorded ``queued`` (or ``running`` when it starts at once), a
worker claims it (``running``), and it ends ``done``, ``failed`` or
``cancelled``; a running render whose worker stops answering (or shuts down)
is queued again, once, then failed. ``interrupted`` is a status older
versions recorded when their app stopped; nothing moves a render there now.

:class:`RenderStatus` is the one status type: the render record
(:class:`db.records.RenderRecord`), the farm's live view
(:class:`studio.farm.JobView`) and the app's panel read it. :func:`move` is
the one place a render loaded as a row changes status, checked against
:data:`NEXT`; the repositories (:class:`db.renders.Renders` for the record and
its result, :class:`db.leases.RenderLeases` for the farm's side) call it, and
their few plain-SQL updates (a claim, a damaged row failed unread) name their
statuses from here. Every move adds an entry to the render's ``events``.
"""

from __future__ import annotations

import enum
from typing import Any

from . import models
from .errors import LibraryError
from .models import Render, utcnow

#: A render is started at most this many times (the first run and one retry).
MAX_ATTEMPTS = 2


class RenderStatus(str, enum.Enum):
    """Where a render is in its life. Being a ``str``, it compares equal to the text stored in the row."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    @property
    def active(self) -> bool:
        """Still to end: queued or running."""
        return self in ACTIVE

    @property
    def ended(self) -> bool:
        return not self.active

    @property
    def text(self) -> str:
        """What the app says of a render in this status."""
        return _STATUS_TEXT[self]

    def __str__(self) -> str:
        return self.value

    @classmethod
    def of(cls, value: Any) -> "RenderStatus | None":
        """The status stored as ``value``, or None when it is none of them (a row written by other means)."""
        try:
            return cls(value)
        except ValueError:
            return None


QUEUED, RUNNING, DONE, FAILED, CANCELLED = (RenderStatus.QUEUED, RenderStatus.RUNNING, RenderStatus.DONE,
                                            RenderStatus.FAILED, RenderStatus.CANCELLED)
ACTIVE = frozenset({QUEUED, RUNNING})
ENDED = frozenset(RenderStatus) - ACTIVE
#: The moves a render may make: from each status, the statuses it may go to.
NEXT: dict[RenderStatus, frozenset[RenderStatus]] = {
    QUEUED: frozenset({RUNNING, DONE, FAILED, CANCELLED}),  # DONE: a filter run at once by its submitter
    RUNNING: frozenset({QUEUED, DONE, FAILED, CANCELLED}),  # QUEUED: taken back, or released at shutdown
    DONE: frozenset(), FAILED: frozenset(), CANCELLED: frozenset(), RenderStatus.INTERRUPTED: frozenset(),
}
#: The verb a refused move names ("Render 3 is done; it cannot be cancelled").
_VERBS = {QUEUED: "queued again", RUNNING: "started", DONE: "finished", FAILED: "marked as failed",
          CANCELLED: "cancelled"}
_STATUS_TEXT = {
    QUEUED: "Waiting in the queue", RUNNING: "Painting", DONE: "Done", FAILED: "Failed",
    CANCELLED: "Stopped: best image so far", RenderStatus.INTERRUPTED: "Interrupted (the app was restarted)",
}
assert tuple(s.value for s in RenderStatus) == models.RENDER_STATUSES  # the table's check allows exactly these


def event(name: str, detail: str | None = None, **extra: Any) -> dict[str, Any]:
    """One entry of a render's story."""
    entry = {"at": utcnow().isoformat(timespec="milliseconds"), "event": name}
    if detail:
        entry["detail"] = detail
    entry.update({k: v for k, v in extra.items() if v is not None})
    return entry


def add_event(render: Render, entry: dict[str, Any]) -> None:
    render.events = [*(render.events or []), entry]  # a new list: SQLAlchemy sees the change


def can_move(current: Any, to: RenderStatus) -> bool:
    known = RenderStatus.of(current)
    return known is not None and to in NEXT[known]


def move(render: Render, to: RenderStatus, entry: dict[str, Any] | None = None) -> None:
    """Move a render (a row loaded for update) to ``to``, or raise :class:`LibraryError` when its status does not
    allow it; ``entry`` (default: an event named after the status) goes into its story. An ended render has
    its end time and no owner or preview; a render queued again has no owner, heartbeat, preview or progress,
    and waits to be sent to the queue."""
    if not can_move(render.status, to):
        raise LibraryError(f"Render {render.id} is {render.status}; it cannot be {_VERBS.get(to, to.value)}.")
    render.status = to.value
    if to in ENDED:
        render.finished_at = utcnow()
        render.owner, render.preview = None, None
    elif to is QUEUED:
        render.owner, render.heartbeat_at, render.preview, render.progress = None, None, None, None
        render.queued_at = None  # sent to the queue by the caller (or by the next sweep)
    add_event(render, entry or event(to.value))


def take_back(render: Render, why: str, max_attempts: int = MAX_ATTEMPTS) -> RenderStatus:
    """A running render whose worker is gone: cancelled if Cancel was pressed, else queued again while it has
    attempts left, else failed with ``why``; returns where it went."""
    if render.cancel_requested:
        move(render, CANCELLED, event("cancelled", why))
    elif (render.attempts or 0) < max_attempts:
        move(render, QUEUED, event("retried", why))
    else:
        render.error = (f"The render was started {render.attempts} times and each time its worker "
                        f"stopped answering (last: {why}).")
        move(render, FAILED, event("failed", why))
    return RenderStatus(render.status)
