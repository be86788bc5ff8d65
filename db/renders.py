"""Renders: the render queue's records, the one truth about each render.

A render is recorded with its filter, its checked parameters, its content
image and its styles (with their names at the time, so the history stays
readable after a style is deleted), then moves queued -> running -> done |
failed | cancelled, each move made by :func:`db.lifecycle.move` (its
statuses, the moves allowed and its story are :mod:`db.lifecycle`). The
farm's side of a running render (who runs it, its heartbeat, cancel
requests, taking back a silent worker's render) is :mod:`db.leases`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from sqlalchemy import bindparam, case, delete, func, select, tuple_, update
from PIL import Image as PILImage
from sqlalchemy.orm import Session

from nst import images, targets
from nst.errors import ParameterError
from nst.params import blend_weights

from . import records, stored, validation
from .lifecycle import (ACTIVE, CANCELLED, DONE, FAILED, QUEUED, RUNNING, RenderStatus, can_move,
                        event, move)
from .errors import LibraryError, RenderNotFoundError
from .images import Images
from .ingest import THUMBNAIL_SIDE, PreparedImage, Source, prepare_image
from .models import RENDER_STATUSES, Image, Render, RenderStyle, utcnow
from .records import ImageRecord, RenderRecord
from .styles import StyleRef, find_style
from .unit_of_work import UnitOfWork

MAX_ERROR_TEXT = 10_000
_ACTIVE = sorted(s.value for s in ACTIVE)


def result_image(result: bytes | PILImage.Image, label: str) -> PreparedImage:
    """A filter's result as the library stores it. A picture (what the filter returned) is encoded as PNG once
    and described from its own pixels, never decoded again; bytes (a PNG from elsewhere) are read and checked."""
    if not isinstance(result, PILImage.Image):
        return prepare_image(result, label, result=True)
    picture = result if result.mode == "RGB" else result.convert("RGB")
    if not picture.width or not picture.height:
        raise LibraryError(f"{label} has no pixels.")
    data = images.encode(picture, "PNG")
    return PreparedImage(data=data, sha256=hashlib.sha256(data).hexdigest(), pixel_digest=targets.image_digest(picture),
                         width=picture.width, height=picture.height, format="PNG",
                         thumbnail=images.encode(images.thumbnail(picture, THUMBNAIL_SIDE), "JPEG", quality=85),
                         picture=picture)


class Renders:
    """The renders repository (see the module's docstring); each public method is one transaction."""

    def __init__(self, unit_of_work: UnitOfWork, images: Images):
        self.unit_of_work = unit_of_work
        self.images = images

    def create(self, filter_id: str, params: dict, content: Source | PreparedImage | None,
               styles: Sequence[tuple[StyleRef, float]] = (), status: str = QUEUED,
               priority: int = 0) -> RenderRecord:
        """Record a new render (``queued``, or ``running`` if it starts right away); higher ``priority``
        runs first. ``content`` may be an image :func:`~db.ingest.prepare_image` has already read (then it
        is not read again)."""
        if not isinstance(filter_id, str) or not filter_id.strip() or len(filter_id) > 120:
            raise LibraryError(f"A render needs a filter id (text of 1 to 120 characters), not {filter_id!r}.")
        if RenderStatus.of(status) not in ACTIVE:
            raise LibraryError(f'A new render is "queued" or "running", not {status!r}.')
        status = RenderStatus(status)
        params = validation.bounded_json_object(params or {}, "A render's parameters", validation.MAX_PARAMS_JSON)
        pairs = []
        for entry in styles:
            if not isinstance(entry, (tuple, list)) or len(entry) != 2:
                raise LibraryError(f"Each style of a render is (style id or name, weight), not {entry!r}.")
            pairs.append(entry)
        try:
            weights = list(zip([ref for ref, _ in pairs], blend_weights([w for _, w in pairs])))
        except ParameterError as exc:
            raise LibraryError(str(exc)) from None
        prepared = (content if isinstance(content, PreparedImage) or content is None
                    else prepare_image(content, "the content image"))

        def work(s: Session) -> RenderRecord:
            now = utcnow()
            render = Render(status=status.value, filter_id=filter_id.strip(), params=params, created_at=now,
                            started_at=now if status is RUNNING else None, priority=int(priority),
                            queued_at=now if status is QUEUED else None,
                            attempts=0, cancel_requested=False, events=[event(status.value)])
            if prepared is not None:
                render.content_image_id = self.images.store(s, prepared).id
            for position, (ref, weight) in enumerate(weights):
                style = find_style(s, ref)
                render.styles.append(RenderStyle(position=position, style_id=style.id, style_name=style.name,
                                                 weight=weight))
            s.add(render)
            s.flush()
            return load_record(s, render.id)

        return self.unit_of_work.write(work)

    def refuse_oversized(self, render_id: int) -> str | None:
        """Fail a queued render whose row holds more than the library ever writes (a JSON column, its error
        or preview past its bound in bytes, more styles than a filter takes), without reading any of it
        (only a row written into the database by other means holds such); returns the reason, or None when
        all fit (the usual answer, from one statement reading their sizes)."""
        sizes = self.unit_of_work.read(lambda s: _row_sizes(s, render_id))
        reason = oversize_reason(sizes) if sizes is not None else None
        return reason if reason and self.fail_unreadable(render_id, reason) else None

    def fail_unreadable(self, render_id: int, reason: str) -> bool:
        """Fail a queued render whose row cannot be read (:meth:`refuse_oversized`, or a value that
        :func:`validation.load_json` refuses) with ``reason``, in plain SQL that decodes nothing but its
        events, within their bound (kept when they can be read). Its unreadable values are cleared: its
        parameters then read as none, and a queued render has no progress, metrics or preview yet. False if
        it is not queued."""
        text = " ".join(str(reason).split())[:MAX_ERROR_TEXT] or "The render's stored row cannot be read."

        def work(s: Session) -> bool:
            if s.scalar(select(Render.status).where(Render.id == render_id).with_for_update()) != QUEUED.value:
                return False
            sizes = _row_sizes(s, render_id)
            events = _readable(s, render_id, "events", sizes, list)
            if events is None:
                events = [event("damaged", "its stored events could not be read and were dropped")]
            params = _readable(s, render_id, "params", sizes, dict)
            values = dict(status=FAILED.value, finished_at=utcnow(), error=text, owner=None, preview=None, progress=None,
                          losses=None, timings=None, events=[*events, event(FAILED.value, text)])
            if params is None:
                values["params"] = {}
            result = s.execute(update(Render).where(Render.id == render_id, Render.status == QUEUED.value)
                               .values(**values))
            return result.rowcount > 0

        return self.unit_of_work.write(work)

    def update_progress(self, render_id: int, progress: dict) -> bool:
        """Store the latest progress of a queued or running render; False if it has already ended."""
        progress = validation.to_json_object(progress, "Progress", optional=False)

        def work(s: Session) -> bool:
            result = s.execute(update(Render).where(Render.id == render_id, Render.status.in_(_ACTIVE))
                               .values(progress=progress))
            if result.rowcount == 0 and s.get(Render, render_id) is None:
                raise RenderNotFoundError(f"No render with id {render_id}.")
            return result.rowcount > 0

        return self.unit_of_work.write(work)

    def finish(self, render_id: int, result_png: bytes | PILImage.Image, losses: dict | None = None,
               timings: dict | None = None, owner: str | None = None) -> RenderRecord:
        """End a render ``done`` with its image (the filter's picture, or PNG bytes). With ``owner``, only if that
        worker still runs it."""
        result = result_image(result_png, "the result image")
        return self._transition(render_id, DONE, result=result, owner=owner,
                                losses=validation.to_json_object(losses, "Losses"),
                                timings=validation.to_json_object(timings, "Timings"))

    def fail(self, render_id: int, error: str, owner: str | None = None,
             best_png: bytes | None = None) -> RenderRecord:
        """End a render ``failed`` with the reason (and, when it made one, its best image so far)."""
        text = str(error).strip()[:MAX_ERROR_TEXT] or "The render failed."
        result = result_image(best_png, "the best image so far") if best_png is not None else None
        return self._transition(render_id, FAILED, owner=owner,
                                result=result, error=text)

    def cancel(self, render_id: int, result_png: bytes | None = None, losses: dict | None = None,
               timings: dict | None = None, owner: str | None = None) -> RenderRecord:
        """End a render ``cancelled``, with its partial result when it has one."""
        result = result_image(result_png, "the partial result") if result_png is not None else None
        return self._transition(render_id, CANCELLED, result=result,
                                owner=owner, losses=validation.to_json_object(losses, "Losses"),
                                timings=validation.to_json_object(timings, "Timings"))

    def _transition(self, render_id: int, status: RenderStatus, *, result: PreparedImage | None = None,
                    owner: str | None = None, **changes) -> RenderRecord:
        def work(s: Session) -> RenderRecord:
            render = find_render(s, render_id, lock=True)
            if owner is not None and render.owner != owner and can_move(render.status, status):
                raise LibraryError(f"Render {render_id} was taken back from {owner}; its result is not stored.")
            move(render, status, event(status.value, changes.get("error"), owner=owner))
            if result is not None:
                render.result_image_id = self.images.store(s, result).id
            for field, value in changes.items():
                if value is not None:
                    setattr(render, field, value)
            s.flush()
            return load_record(s, render_id)

        return self.unit_of_work.write(work)

    def queued(self) -> list[RenderRecord]:
        """Queued renders in the order the queue takes them: higher priority first, then oldest first."""
        order = (Render.priority.desc(), Render.created_at, Render.id)
        return self.unit_of_work.read(lambda s: load_records(s, Render.status == QUEUED.value, order_by=order))

    def list(self, limit: int = 50, status: str | Iterable[str] | None = None,
             style_id: int | None = None) -> list[RenderRecord]:
        """Renders, newest first; ``status`` is one status or several; ``style_id``: only renders that used it."""
        where = []
        if style_id is not None:
            where.append(Render.id.in_(select(RenderStyle.render_id).where(RenderStyle.style_id == style_id)))
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            unknown = [s for s in wanted if s not in RENDER_STATUSES]
            if unknown:
                raise LibraryError(f"Unknown render status {unknown[0]!r}; use one of {', '.join(RENDER_STATUSES)}.")
            where.append(Render.status.in_(wanted))
        order = (Render.created_at.desc(), Render.id.desc())
        return self.unit_of_work.read(lambda s: load_records(s, *where, order_by=order, limit=max(0, int(limit))))

    def get(self, render_id: int) -> RenderRecord:
        return self.unit_of_work.read(lambda s: load_record(s, render_id))

    def delete(self, render_id: int) -> None:
        """Remove a finished render, and its images if nothing else uses them."""
        def work(s: Session) -> None:  # in plain SQL: a render whose stored values are damaged can be deleted
            row = s.execute(select(Render.status, Render.content_image_id, Render.result_image_id)
                            .where(Render.id == render_id).with_for_update()).first()
            if row is None:
                raise RenderNotFoundError(f"No render with id {render_id}.")
            if row.status == RUNNING.value:
                raise LibraryError(f"Render {render_id} is running; cancel it before deleting it.")
            image_ids = {row.content_image_id, row.result_image_id} - {None}
            s.execute(delete(RenderStyle).where(RenderStyle.render_id == render_id))
            s.execute(delete(Render).where(Render.id == render_id))
            for image_id in image_ids:
                self.images.delete_if_unused(s, image_id)

        self.unit_of_work.write(work)

    def recent_content_images(self, limit: int = 12) -> list[ImageRecord]:
        """The distinct content images of recent renders, newest first."""
        last_used = func.max(Render.created_at).label("last_used")
        recent = (select(Render.content_image_id.label("image_id"), last_used)
                  .where(Render.content_image_id.is_not(None))
                  .group_by(Render.content_image_id)
                  .order_by(last_used.desc(), Render.content_image_id.desc())
                  .limit(max(0, int(limit))).subquery())
        stmt = (select(Image).join(recent, recent.c.image_id == Image.id)
                .order_by(recent.c.last_used.desc(), Image.id.desc()))
        return self.unit_of_work.read(lambda s: [records.image_record(image) for image in s.scalars(stmt)])

    def live(self, render_id: int) -> LiveRender:
        """What a live view of one render shows, in one statement whatever the queue's length: its
        status and progress (not its parameters or story), its preview only while it runs, and its
        place in the queue while it waits (a count of the queued renders ahead of it)."""
        row = self.unit_of_work.read(lambda s: s.execute(_LIVE, {"render_id": render_id}).one_or_none())
        if row is None:
            raise RenderNotFoundError(f"No render with id {render_id}.")
        (status, filter_id, progress, timings, losses, result_image_id, error, owner, attempts, cancel,
         preview, position) = row
        return LiveRender(render_id, RenderStatus.of(status) or status, filter_id, progress, timings, losses, result_image_id, error, owner,
                          attempts or 0, bool(cancel), bytes(preview) if preview is not None else None,
                          int(position) if position is not None else None)

    def active_ids(self, render_ids: Sequence[int]) -> set[int]:
        """Which of ``render_ids`` are queued or running: one read of their statuses, nothing else."""
        ids = [int(i) for i in render_ids]
        if not ids:
            return set()
        stmt = select(Render.id).where(Render.id.in_(ids), Render.status.in_(_ACTIVE))
        return self.unit_of_work.read(lambda s: set(s.scalars(stmt)))

    def now(self, running_limit: int = 50, queued_limit: int = 10) -> tuple[list[int], list[int], int]:
        """The ids of the running renders (the newest first, at most ``running_limit``), of the first
        ``queued_limit`` queued ones in the queue's order, and how many are queued in all: three reads of
        the index, each as long as what it returns (the count excepted), whatever the queue's length."""
        running = (select(Render.id).where(Render.status == RUNNING.value)
                   .order_by(Render.created_at.desc(), Render.id.desc()).limit(max(0, int(running_limit))))
        queued = (select(Render.id).where(Render.status == QUEUED.value)
                  .order_by(Render.priority.desc(), Render.created_at, Render.id).limit(max(0, int(queued_limit))))
        waiting = select(func.count()).select_from(Render).where(Render.status == QUEUED.value)
        return self.unit_of_work.read(lambda s: (list(s.scalars(running)), list(s.scalars(queued)),
                                                 s.scalar(waiting) or 0))


@dataclass(frozen=True)
class LiveRender:
    """One render as a live view reads it (:meth:`Renders.live`); JSON fields are fresh from the row."""

    id: int
    status: RenderStatus  # (the stored text, when it is none of them)
    filter_id: str
    progress: dict[str, Any] | None
    timings: dict[str, Any] | None
    losses: dict[str, Any] | None
    result_image_id: int | None
    error: str | None
    owner: str | None
    attempts: int
    cancel_requested: bool
    preview: bytes | None  # the latest preview JPEG, while it runs
    queue_position: int | None  # 1 for the next to run, while it is queued


def _live_statement():
    """:meth:`Renders.live`'s statement, built once (building it costs more than running it)."""
    me = Render.__table__
    ahead = me.alias("ahead")

    def queued_where(*conditions):
        return (select(func.count()).select_from(ahead).where(ahead.c.status == QUEUED.value, *conditions)
                .correlate(me).scalar_subquery())

    # The queue's order (:meth:`Renders.queued`): higher priority first, then the oldest, then the lowest id.
    # Two counts, each a range of the index ix_renders_queue_order (status, priority DESC, created_at, id), read
    # without the table's rows; one OR of the three made both databases read every queued row instead.
    ahead_count = (queued_where(ahead.c.priority > me.c.priority)
                   + queued_where(ahead.c.priority == me.c.priority,
                                  tuple_(ahead.c.created_at, ahead.c.id) < tuple_(me.c.created_at, me.c.id)))
    return select(me.c.status, me.c.filter_id, me.c.progress, me.c.timings, me.c.losses, me.c.result_image_id,
                  me.c.error, me.c.owner, me.c.attempts, me.c.cancel_requested,
                  case((me.c.status == RUNNING.value, me.c.preview), else_=None),
                  case((me.c.status == QUEUED.value, ahead_count + 1), else_=None),
                  ).where(me.c.id == bindparam("render_id"))


_LIVE = _live_statement()


def _bounded(column, limit: int):
    """(the column's raw value, or NULL when it is longer than ``limit`` bytes; its length in bytes)."""
    size = stored.byte_length(column)
    return case((size <= limit, stored.raw(column)), else_=None).label(column.key), size.label(f"{column.key}_bytes")


def _style_count(me):
    return (select(func.count()).select_from(RenderStyle.__table__)
            .where(RenderStyle.__table__.c.render_id == me.c.id).correlate(me).scalar_subquery())


def _records_statement():
    """A render's columns as :func:`records.render_record` reads them: each JSON column and the error raw and
    bounded in the database, with their sizes, and the count of its styles."""
    me = Render.__table__
    columns = [me.c.id, me.c.status, me.c.filter_id, me.c.content_image_id, me.c.result_image_id, me.c.created_at,
               me.c.started_at, me.c.finished_at, me.c.priority, me.c.owner, me.c.heartbeat_at, me.c.attempts,
               me.c.cancel_requested]
    for name, (_, limit, _) in records.RENDER_JSON.items():
        columns += _bounded(me.c[name], limit)
    columns += [*_bounded(me.c.error, validation.MAX_ERROR_BYTES), _style_count(me).label("style_count")]
    return select(*columns)


_RECORDS = _records_statement()


def load_records(session: Session, *where, order_by=(), limit: int | None = None,
                 lock: bool = False) -> list[RenderRecord]:
    """Renders as records, every stored value read within its bound (a row written by other means than the
    library is a record whose ``damaged`` says why, never an exception or gigabytes read)."""
    stmt = _RECORDS.where(*where).order_by(*order_by)
    if limit is not None:
        stmt = stmt.limit(limit)
    if lock:
        stmt = stmt.with_for_update()
    rows = session.execute(stmt).all()
    styles: dict[int, list] = {row.id: [] for row in rows if row.style_count <= validation.MAX_RENDER_STYLES}
    if styles:
        for rs in session.execute(select(RenderStyle.render_id, RenderStyle.position, RenderStyle.style_id,
                                         RenderStyle.style_name, RenderStyle.weight)
                                  .where(RenderStyle.render_id.in_(list(styles)))
                                  .order_by(RenderStyle.render_id, RenderStyle.position)):
            styles[rs.render_id].append(records.RenderStyleRecord(rs.position, rs.style_id, rs.style_name, rs.weight))
    return [records.render_record(row, styles.get(row.id)) for row in rows]


#: What a worker reads of a render's row besides its JSON columns, with its bound in bytes and its name.
_OTHER_BOUNDS = {"error": (validation.MAX_ERROR_BYTES, "error"), "preview": (validation.MAX_PREVIEW_BYTES, "preview")}


def _sizes_statement():
    """:meth:`Renders.refuse_oversized`'s statement: the size in bytes of each value a worker reads of a
    render's row, and the count of its styles, none of them read."""
    me = Render.__table__
    sizes = [stored.byte_length(me.c[name]).label(name) for name in (*records.RENDER_JSON, *_OTHER_BOUNDS)]
    return select(*sizes, _style_count(me).label("styles")).where(me.c.id == bindparam("render_id"))


_SIZES = _sizes_statement()


def oversize_reason(sizes) -> str | None:
    """Why a render's row (the sizes :data:`_SIZES` reads) is not read, or None when it all fits."""
    for name, (what, limit, _) in records.RENDER_JSON.items():
        if (sizes[name] or 0) > limit:
            return f"{what} take {sizes[name]:,} bytes, more than the {limit:,} the library writes; they were not read."
    for name, (limit, what) in _OTHER_BOUNDS.items():
        if (sizes[name] or 0) > limit:
            return (f"The render's stored {what} takes {sizes[name]:,} bytes, more than the {limit:,} the library "
                    f"writes; it was not read.")
    if (sizes["styles"] or 0) > validation.MAX_RENDER_STYLES:
        return (f"The render has {sizes['styles']:,} stored styles, more than the {validation.MAX_RENDER_STYLES} a "
                f"filter takes; they were not read.")
    return None


def _row_sizes(session: Session, render_id: int) -> dict[str, int | None] | None:
    """The sizes :data:`_SIZES` reads (on SQLite, measured without reading a text: :mod:`db.stored`)."""
    if session.get_bind().dialect.name != "sqlite":
        row = session.execute(_SIZES, {"render_id": render_id}).mappings().first()
        return None if row is None else dict(row)
    sizes = stored.sqlite_lengths(session, Render.__table__, (*records.RENDER_JSON, *_OTHER_BOUNDS), render_id)
    if sizes is not None:
        sizes["styles"] = session.scalar(select(func.count()).select_from(RenderStyle)
                                         .where(RenderStyle.render_id == render_id))
    return sizes


def _readable(session: Session, render_id: int, name: str, sizes, kind):
    """A render's JSON column decoded, if it is within its bound (not read otherwise) and one of ``kind``;
    else None."""
    what, limit, _ = records.RENDER_JSON[name]
    if not sizes or sizes[name] is None or sizes[name] > limit:
        return None
    value = session.scalar(select(stored.raw(Render.__table__.c[name])).where(Render.id == render_id))
    try:
        decoded = validation.load_json(value, what, limit)
    except validation.DamagedRecordError:
        return None
    return decoded if isinstance(decoded, kind) else None


def load_record(session: Session, render_id: int, lock: bool = False) -> RenderRecord:
    """One render as a record (see :func:`load_records`), or :class:`RenderNotFoundError`."""
    found = load_records(session, Render.id == render_id, lock=lock)
    if not found:
        raise RenderNotFoundError(f"No render with id {render_id}.")
    return found[0]


def find_render(session: Session, render_id: int, lock: bool = False) -> Render:
    """The render with this id (locked for update with ``lock``), or :class:`RenderNotFoundError`."""
    stmt = select(Render).where(Render.id == render_id)
    if lock:
        stmt = stmt.with_for_update()
    render = session.scalar(stmt)
    if render is None:
        raise RenderNotFoundError(f"No render with id {render_id}.")
    return render
