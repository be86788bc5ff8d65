"""Renders on a farm: who runs a render, its heartbeat, cancel requests and taking back a dead worker's render.

The render record is the one truth about a render; the queue only carries
"render N is ready". A worker *claims* a queued render (one transaction, so
two workers never both run it), then proves it is alive with a heartbeat
about once a second, which also stores the latest progress and preview and
tells it whether Cancel was pressed. A render whose owner has been silent
longer than the stale limit is taken back by whoever notices: queued again
once (the render's events say so), then failed with the reason; a worker
process's supervisor that saw it exit takes its renders back the same way at
once (:meth:`RenderLeases.recover_owned_by`). A render whose owner is alive
is never touched. Heartbeats and the stale limit are
measured on the database server's clock when it has one (PostgreSQL), so
workers whose clocks disagree do not take each other's renders.

:class:`RenderLeases` is a repository over the library's unit of work, beside
:class:`db.renders.Renders`; every method is one transaction. Every change of
status goes through :func:`db.lifecycle.move` (taking back:
:func:`db.lifecycle.take_back`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from . import records, validation
from .errors import LibraryError
from .lifecycle import (CANCELLED, ENDED, MAX_ATTEMPTS, QUEUED, RUNNING, RenderStatus, add_event, can_move, event,
                        move, take_back)
from .models import Render, utcnow
from .renders import find_render, load_record
from .unit_of_work import UnitOfWork

@dataclass(frozen=True)
class Recovered:
    """A render taken back from a silent worker."""

    render_id: int
    status: RenderStatus  # queued (to be retried), failed or cancelled
    priority: int


@dataclass(frozen=True)
class Waiting:
    """A queued render whose message is to be sent (again)."""

    id: int
    priority: int


def db_now(session: Session):
    """Now, on the database server's clock (PostgreSQL) or this machine's (SQLite: one machine)."""
    if session.get_bind().dialect.name == "postgresql":
        return session.scalar(select(func.now()))
    return utcnow()


class RenderLeases:
    """The farm's side of the render history (see the module's docstring)."""

    def __init__(self, unit_of_work: UnitOfWork):
        self.unit_of_work = unit_of_work

    def start_render(self, render_id: int, owner: str | None = None) -> records.RenderRecord:
        """Claim a queued render for ``owner``; raises :class:`LibraryError` if it is not queued any more, and
        :class:`~db.validation.DamagedRecordError` (with the reason) if a value stored in its row cannot be
        read: its row is read within its bounds (:func:`db.renders.load_record`), never by the ORM."""
        def work(s: Session) -> records.RenderRecord:
            record = load_record(s, render_id, lock=True)
            if not can_move(record.status, RUNNING) or record.status != QUEUED:
                raise LibraryError(f"Render {render_id} is {record.status}; it cannot be started.")
            if record.damaged:
                raise validation.DamagedRecordError(record.damaged)
            now = db_now(s)
            attempts = record.attempts + 1
            events = [*record.events, event("started", owner=owner, attempt=attempts)]
            s.execute(update(Render).where(Render.id == render_id).values(
                status=RUNNING.value, owner=owner, started_at=now, heartbeat_at=now, attempts=attempts, events=events))
            return replace(record, status=RUNNING, owner=owner, started_at=now, heartbeat_at=now,
                           attempts=attempts, events=tuple(events))

        return self.unit_of_work.write(work)

    def heartbeat(self, render_id: int, owner: str, progress: dict | None = None,
                  preview: bytes | None = None) -> str:
        """The owner is alive: store its latest progress and preview.

        Returns ``"cancel"`` when Cancel was pressed, ``"ended"`` when this owner ended the render
        already (its result was stored), ``"lost"`` when the render is no longer this owner's (taken
        back, or ended by someone else), else ``"ok"``.
        """
        values: dict[str, Any] = {}
        if progress is not None:
            values["progress"] = validation.to_json_object(progress, "Progress", optional=False)
        if preview is not None:
            values["preview"] = preview

        def work(s: Session) -> str:
            values["heartbeat_at"] = db_now(s)
            result = s.execute(update(Render).where(Render.id == render_id, Render.owner == owner,
                                                    Render.status == RUNNING.value).values(**values))
            if result.rowcount == 0:
                return "ended" if _ended_by(s, render_id, owner) else "lost"
            return "cancel" if s.scalar(select(Render.cancel_requested).where(Render.id == render_id)) else "ok"

        return self.unit_of_work.write(work)

    def request_cancel(self, render_id: int) -> records.RenderRecord:
        """Cancel: a queued render ends now; a running one is told at its worker's next heartbeat."""
        def work(s: Session) -> records.RenderRecord:
            render = find_render(s, render_id, lock=True)
            if render.status == QUEUED:
                move(render, CANCELLED, event(CANCELLED.value, "before it started"))
            elif render.status == RUNNING:
                if not render.cancel_requested:
                    render.cancel_requested = True
                    add_event(render, event("cancel requested"))
            else:
                raise LibraryError(f"Render {render_id} is {render.status}; there is nothing to cancel.")
            s.flush()
            return load_record(s, render_id)

        return self.unit_of_work.write(work)

    def release_render(self, render_id: int, owner: str, reason: str) -> bool:
        """The owner stops without finishing (its worker is shutting down): queue the render again,
        without counting this as an attempt. False if it was not this owner's any more."""
        def work(s: Session) -> bool:
            render = find_render(s, render_id, lock=True)
            if render.status != RUNNING or render.owner != owner:
                return False
            move(render, QUEUED, event("released", reason, owner=owner))
            render.attempts = max(0, (render.attempts or 1) - 1)
            return True

        return self.unit_of_work.write(work)

    def recover_stale(self, stale_seconds: float, max_attempts: int = MAX_ATTEMPTS) -> list[Recovered]:
        """Take back running renders whose owner has been silent for ``stale_seconds``."""
        def any_stale(s: Session) -> bool:
            cutoff = db_now(s) - timedelta(seconds=stale_seconds)
            return s.scalar(select(Render.id).where(Render.status == RUNNING.value, Render.heartbeat_at < cutoff)
                            .limit(1)) is not None

        if not self.unit_of_work.read(any_stale):  # the usual answer, without taking the write lock
            return []

        def work(s: Session) -> list[Recovered]:
            now = db_now(s)
            cutoff = now - timedelta(seconds=stale_seconds)
            stmt = (select(Render).where(Render.status == RUNNING.value, Render.heartbeat_at < cutoff)
                    .order_by(Render.id).with_for_update(skip_locked=True))
            taken = []
            for render in s.scalars(stmt):
                if render.heartbeat_at is None:  # a stored heartbeat that was not a date (db.models.UTCDateTime)
                    why = f"its worker {render.owner or '(unknown)'} left no readable heartbeat"
                else:
                    silent = (now - render.heartbeat_at).total_seconds()
                    why = f"its worker {render.owner or '(unknown)'} was silent for {silent:.0f} s"
                taken.append(_take_back(render, why, max_attempts))
            s.flush()
            return taken

        return self.unit_of_work.write(work)

    def recover_owned_by(self, prefix: str, reason: str, max_attempts: int = MAX_ATTEMPTS) -> list[Recovered]:
        """Take back the running renders whose owner starts with ``prefix`` (``host:pid:`` of a worker
        process its supervisor saw exit), at once and as :meth:`recover_stale` does: retried once, then
        failed; ``reason`` goes into their events."""
        if not prefix:
            raise LibraryError("Taking back renders needs the owner's prefix.")

        def work(s: Session) -> list[Recovered]:
            stmt = (select(Render).where(Render.status == RUNNING.value,
                                         Render.owner.startswith(prefix, autoescape=True))
                    .order_by(Render.id).with_for_update(skip_locked=True))
            taken = [_take_back(render, f"its worker {render.owner} {reason}", max_attempts)
                     for render in s.scalars(stmt)]
            s.flush()
            return taken

        return self.unit_of_work.write(work)

    def renders_to_enqueue(self, older_than_seconds: float) -> list[Waiting]:
        """Queued renders last handed to the queue more than ``older_than_seconds`` ago: their ids and
        priorities only (a sweep never reads parameters, which a worker checks when it takes a render)."""
        cutoff = utcnow() - timedelta(seconds=older_than_seconds)
        stmt = (select(Render.id, Render.priority).where(Render.status == QUEUED.value,
                                                         or_(Render.queued_at.is_(None), Render.queued_at < cutoff))
                .order_by(Render.priority.desc(), Render.created_at, Render.id))
        return self.unit_of_work.read(lambda s: [Waiting(i, p or 0) for i, p in s.execute(stmt)])

    def mark_enqueued(self, render_ids: list[int]) -> None:
        if render_ids:
            self.unit_of_work.write(lambda s: s.execute(update(Render).where(Render.id.in_(render_ids))
                                            .values(queued_at=utcnow())))

    def render_preview(self, render_id: int) -> bytes | None:
        """The JPEG of a running render's latest preview, if it has one."""
        value = self.unit_of_work.read(lambda s: s.scalar(select(Render.preview).where(Render.id == render_id)))
        return bytes(value) if value is not None else None


def _take_back(render: Render, why: str, max_attempts: int) -> Recovered:
    """A running render whose worker is gone (:func:`db.lifecycle.take_back`)."""
    return Recovered(render.id, take_back(render, why, max_attempts), render.priority or 0)


def _ended_by(s: Session, render_id: int, owner: str) -> bool:
    """Whether ``owner`` itself ended the render (its last event is an ending that names ``owner``)."""
    row = s.execute(select(Render.status, Render.events).where(Render.id == render_id)).first()
    if row is None or RenderStatus.of(row.status) not in ENDED or not row.events:
        return False
    last = row.events[-1]
    return isinstance(last, dict) and last.get("event") == row.status and last.get("owner") == owner
