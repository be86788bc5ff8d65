"""The style library: the one repository API used by the CLI, the plugins and the app.

Every public method is one transaction: it either does all it says or, on any
error, leaves the library exactly as it was. Images are validated and
normalised (:mod:`db.ingest`, through :mod:`nst.images`) before a transaction
starts, so nothing half-read is ever stored. Methods return frozen records
(:mod:`db.records`), never live ORM objects, and a :class:`Library` may be
shared between threads.

Styles are named uniquely ignoring case. A style can be referred to by its id
(an ``int``) or its name (a ``str``; a string of digits that names no style is
tried as an id).

Plugin styles (:meth:`Library.ensure_plugin_style`): a plugin may call it at
every start. A style of that name from the same plugin is reused (its image,
artist, tags and suggested parameters are refreshed when the image bytes
changed; otherwise the user's edits stay); a style from the same plugin with
the same bytes but renamed by the user is reused as it is; if the name belongs
to a user's upload or another plugin, the user's style is left alone and
``None`` is returned.
"""

from __future__ import annotations

import logging
import math
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence, TypeVar

from PIL import Image as PILImage
from sqlalchemy import URL, Engine, delete, exists, func, or_, select, update
from sqlalchemy.exc import DatabaseError, DataError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from nst import images, targets
from nst.errors import ImageError

from . import records, validation
from .database import (alembic_config, create_db_engine, database_url, describe, read_only_url, session_factories,
                       upgrade)
from .errors import DuplicateStyleError, LibraryError, RenderNotFoundError, StyleNotFoundError
from .ingest import PreparedImage, Source, prepare_image
from .leases import RenderLeases, add_event, event
from .models import (
    RENDER_STATUSES,
    GramEntry,
    Image,
    Render,
    RenderStyle,
    Style,
    Tag,
    style_tags,
    utcnow,
)
from .records import ImageRecord, LibraryStats, RenderRecord, StyleRecord, StyleUsage

log = logging.getLogger(__name__)

T = TypeVar("T")
StyleRef = int | str
_UNSET: Any = object()
MAX_ERROR_TEXT = 10_000


class Library(RenderLeases):
    """The style library on one database (see :func:`open_library`)."""

    def __init__(self, engine: Engine, read_only: bool = False):
        self.engine = engine
        #: Opened for browsing only (the file cannot be written here); every change is refused.
        self.read_only = read_only
        self._write_sessions, self._read_sessions = session_factories(engine)

    def __repr__(self) -> str:
        return f"Library({describe(self.engine.url)!r})"

    @property
    def url(self) -> str:
        return describe(self.engine.url)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Library":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ transactions

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One read-write transaction: commits at the end of the block, rolls back on an error."""
        with self._write_sessions.begin() as session:
            yield session

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A read-only transaction (on SQLite it does not take the write lock)."""
        with self._read_sessions.begin() as session:
            yield session

    def _write(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in one transaction; retried once after a conflict with another writer."""
        if self.read_only:
            raise LibraryError(f"The style library {self.url} is open read-only (it cannot be written here): "
                               f"it can be browsed, not changed.")
        for attempt in (1, 2):
            try:
                with self.session() as session:
                    return work(session)
            except IntegrityError:
                if attempt == 2:
                    raise LibraryError("The library was changed by someone else at the same time; try again.") from None
            except DatabaseError as exc:
                raise _unavailable(exc) from None
        raise AssertionError("unreachable")

    def _read(self, work: Callable[[Session], T]) -> T:
        try:
            with self.read_session() as session:
                return work(session)
        except DatabaseError as exc:
            raise _unavailable(exc) from None

    def _after_image_stored(self, session: Session) -> None:
        """Test seam: called inside add_style's transaction once the image row is flushed."""

    # ------------------------------------------------------------------ styles

    def add_style(self, source: Source, *, name: str, artist: str | None = None, description: str | None = None,
                  tags: Iterable[str] | str = (), source_label: str = "upload",
                  suggested_params: dict | None = None, year: str | int | None = None,
                  credit: str | None = None) -> StyleRecord:
        """Validate an image (path, bytes or binary stream) and store it as a new style."""
        name = validation.clean_name(name)
        fields = dict(
            artist=validation.clean_artist(artist),
            description=validation.clean_description(description),
            tags=validation.clean_tags(tags),
            source=validation.clean_source(source_label),
            suggested_params=validation.to_json_object(suggested_params, "suggested_params"),
            year=validation.clean_year(year), credit=validation.clean_credit(credit),
        )
        prepared = prepare_image(source)
        return self._write(lambda s: records.style_record(self._insert_style(s, prepared, name, **fields)))

    def _insert_style(self, session: Session, prepared: PreparedImage, name: str, *, artist, description, tags,
                      source, suggested_params, year=None, credit=None) -> Style:
        key = validation.fold(name)
        _refuse_taken(session, key, name)
        image = self._image_for(session, prepared)
        self._after_image_stored(session)
        now = utcnow()
        style = Style(
            name=name, name_key=key, artist=artist, artist_key=validation.fold(artist) if artist else None,
            description=description, source=source, suggested_params=suggested_params, image=image, year=year,
            credit=credit,
            tags=self._tags(session, tags), created_at=now, updated_at=now,
        )
        session.flush()  # the image and new tags, before the savepoint (begin_nested flushes pending rows)
        try:
            with session.begin_nested():  # a name taken meanwhile by another process: report it, below
                session.add(style)
                session.flush()
        except IntegrityError:
            _refuse_taken(session, key, name)
            raise
        return style

    def list_styles(self, query: str | None = None, tag: str | None = None,
                    artist: str | None = None, sort: str = "name") -> list[StyleRecord]:
        """Styles sorted by ``sort`` (see :data:`STYLE_ORDERS`); every word of ``query`` must match the name,
        the artist or a tag (case-insensitive, any part of it)."""
        if sort not in STYLE_ORDERS:
            raise LibraryError(f"Styles can be sorted by {', '.join(STYLE_ORDERS)}, not {sort!r}.")
        stmt = select(Style).order_by(*_style_order(sort))
        for word in validation.fold(query or "").split():
            tagged = select(style_tags.c.style_id).join(Tag, Tag.id == style_tags.c.tag_id).where(
                Tag.name.contains(word, autoescape=True))
            stmt = stmt.where(or_(
                Style.name_key.contains(word, autoescape=True),
                Style.artist_key.contains(word, autoescape=True),
                Style.id.in_(tagged),
            ))
        if tag and tag.strip():
            stmt = stmt.where(Style.tags.any(Tag.name == validation.clean_tag(tag)))
        if artist and artist.strip():
            stmt = stmt.where(Style.artist_key == validation.fold(artist))
        return self._read(lambda s: [records.style_record(style) for style in s.scalars(stmt)])

    def get_style(self, id_or_name: StyleRef) -> StyleRecord:
        return self._read(lambda s: records.style_record(_find_style(s, id_or_name)))

    def rename_style(self, id_or_name: StyleRef, new_name: str) -> StyleRecord:
        new_name = validation.clean_name(new_name)
        key = validation.fold(new_name)

        def work(s: Session) -> StyleRecord:
            style = _find_style(s, id_or_name)
            if key != style.name_key:
                _refuse_taken(s, key, new_name)
            style.name, style.name_key, style.updated_at = new_name, key, utcnow()
            s.flush()
            return records.style_record(style)

        return self._write(work)

    def set_tags(self, id_or_name: StyleRef, tags: Iterable[str] | str) -> StyleRecord:
        """Replace a style's tags (a string is split on commas)."""
        names = validation.clean_tags(tags)

        def work(s: Session) -> StyleRecord:
            style = _find_style(s, id_or_name)
            style.tags = self._tags(s, names)
            style.updated_at = utcnow()
            s.flush()
            return records.style_record(style)

        return self._write(work)

    def update_style(self, id_or_name: StyleRef, *, artist: str | None = _UNSET, description: str | None = _UNSET,
                     suggested_params: dict | None = _UNSET, year: str | int | None = _UNSET,
                     credit: str | None = _UNSET) -> StyleRecord:
        """Change the given fields (pass ``None`` to clear one)."""
        changes: dict[str, Any] = {}
        if year is not _UNSET:
            changes["year"] = validation.clean_year(year)
        if credit is not _UNSET:
            changes["credit"] = validation.clean_credit(credit)
        if artist is not _UNSET:
            changes["artist"] = validation.clean_artist(artist)
            changes["artist_key"] = validation.fold(changes["artist"]) if changes["artist"] else None
        if description is not _UNSET:
            changes["description"] = validation.clean_description(description)
        if suggested_params is not _UNSET:
            changes["suggested_params"] = validation.to_json_object(suggested_params, "suggested_params")

        def work(s: Session) -> StyleRecord:
            style = _find_style(s, id_or_name)
            for field, value in changes.items():
                setattr(style, field, value)
            style.updated_at = utcnow()
            s.flush()
            return records.style_record(style)

        return self._write(work)

    def delete_style(self, id_or_name: StyleRef) -> StyleRecord:
        """Remove a style, its cached Gram matrices and (if nothing else uses it) its image.

        Renders that used it keep its name. Returns the removed style.
        """
        before = self.get_style(id_or_name)
        digest = self._pixel_digest(before.image_id)

        def work(s: Session) -> StyleRecord:
            style = _find_style(s, before.id)
            record = records.style_record(style)
            image = style.image
            s.execute(update(RenderStyle).where(RenderStyle.style_id == style.id).values(style_id=None))
            s.delete(style)
            s.flush()
            self._forget_grams(s, {image.pixel_sha256, digest} - {None})
            self._delete_image_if_unused(s, image.id)
            if record.sample_image_id is not None:
                self._delete_image_if_unused(s, record.sample_image_id)
            return record

        return self._write(work)

    def style_image(self, id_or_name: StyleRef) -> PILImage.Image:
        """The style's image, normalised (upright 8-bit RGB), ready for the engine."""
        style = self.get_style(id_or_name)
        return images.load(self.image_bytes(style.image_id), f'the image of style "{style.name}"')

    def tags(self) -> list[str]:
        """Every tag in use, sorted."""
        stmt = select(Tag.name).where(exists().where(style_tags.c.tag_id == Tag.id)).order_by(Tag.name)
        return self._read(lambda s: list(s.scalars(stmt)))

    def ensure_plugin_style(self, plugin_id: str, *, name: str, data: bytes, artist: str | None = None,
                            tags: Iterable[str] | str = (), suggested_params: dict | None = None,
                            description: str | None = None, year: str | int | None = None,
                            credit: str | None = None, sample: bytes | None = None) -> StyleRecord | None:
        """Make sure a plugin's bundled style is in the library; safe to call at every start.

        ``sample`` is a result made with the style, shown on its card until the user makes one.
        Returns the style, or ``None`` when the name belongs to a user's style (which is left alone).
        """
        source = validation.plugin_source(plugin_id)
        name = validation.clean_name(name)
        fields = dict(
            artist=validation.clean_artist(artist), description=validation.clean_description(description),
            tags=validation.clean_tags(tags), source=source,
            suggested_params=validation.to_json_object(suggested_params, "suggested_params"),
            year=validation.clean_year(year), credit=validation.clean_credit(credit),
        )
        what = f'the image of the style "{name}" from plugin {plugin_id}'
        prepared = prepare_image(data, what)
        prepared_sample = prepare_image(sample, f"the sample of {what}") if sample is not None else None

        def work(s: Session) -> StyleRecord | None:
            style = s.scalar(select(Style).where(Style.name_key == validation.fold(name)))
            if style is None:
                style = s.scalar(select(Style).join(Style.image).where(
                    Style.source == source, Image.sha256 == prepared.sha256).order_by(Style.id).limit(1))
                if style is not None:  # the user renamed it: leave it as it is
                    return records.style_record(style)
                style = self._insert_style(s, prepared, name, **fields)
            elif style.source != source:
                log.info('Plugin %s: the style name "%s" is taken by another style; left as it is.', plugin_id, name)
                return None
            elif style.image.sha256 != prepared.sha256:
                old = style.image
                style.image = self._image_for(s, prepared)
                style.artist = fields["artist"]
                style.artist_key = validation.fold(fields["artist"]) if fields["artist"] else None
                style.tags = self._tags(s, fields["tags"])
                style.suggested_params = fields["suggested_params"]
                if fields["description"] is not None:
                    style.description = fields["description"]
                style.updated_at = utcnow()
                s.flush()
                if old.pixel_sha256 != prepared.pixel_sha256:
                    self._forget_grams(s, {old.pixel_sha256})
                self._delete_image_if_unused(s, old.id)
            if (style.year, style.credit) != (fields["year"], fields["credit"]):  # the plugin's own metadata
                style.year, style.credit = fields["year"], fields["credit"]
            self._set_sample(s, style, prepared_sample)
            s.flush()
            return records.style_record(style)

        return self._write(work)

    def _set_sample(self, session: Session, style: Style, prepared: PreparedImage | None) -> None:
        old_id = style.sample_image_id
        if prepared is None:
            style.sample_image_id = None
        elif old_id is None or session.get(Image, old_id).sha256 != prepared.sha256:
            style.sample_image_id = self._image_for(session, prepared).id
        if old_id is not None and old_id != style.sample_image_id:
            session.flush()
            self._delete_image_if_unused(session, old_id)

    def style_usage(self) -> dict[int, StyleUsage]:
        """For each style used by a render: when it was last used, and its latest finished result."""
        def work(s: Session) -> dict[int, StyleUsage]:
            used: dict[int, StyleUsage] = {}
            last = s.execute(
                select(RenderStyle.style_id, func.max(Render.created_at)).join(Render, Render.id == RenderStyle.render_id)
                .where(RenderStyle.style_id.is_not(None)).group_by(RenderStyle.style_id))
            for style_id, when in last:
                used[style_id] = StyleUsage(last_used_at=when, result_image_id=None)
            latest = s.execute(
                select(RenderStyle.style_id, Render.result_image_id).join(Render, Render.id == RenderStyle.render_id)
                .where(RenderStyle.style_id.is_not(None), Render.status == "done",
                       Render.result_image_id.is_not(None))
                .order_by(RenderStyle.style_id, Render.id.desc()))
            for style_id, image_id in latest:
                usage = used.get(style_id)
                if usage is not None and usage.result_image_id is None:
                    used[style_id] = StyleUsage(usage.last_used_at, image_id)
            return used

        return self._read(work)

    # ------------------------------------------------------------------ renders

    def create_render(self, filter_id: str, params: dict, content: Source | PreparedImage | None,
                      styles: Sequence[tuple[StyleRef, float]] = (), status: str = "queued",
                      priority: int = 0) -> RenderRecord:
        """Record a new render (``queued``, or ``running`` if it starts right away); higher ``priority``
        runs first. ``content`` may be an image :func:`~db.ingest.prepare_image` has already read (then it
        is not read again)."""
        if not isinstance(filter_id, str) or not filter_id.strip() or len(filter_id) > 120:
            raise LibraryError(f"A render needs a filter id (text of 1 to 120 characters), not {filter_id!r}.")
        if status not in ("queued", "running"):
            raise LibraryError(f'A new render is "queued" or "running", not {status!r}.')
        params = validation.to_json_object(params or {}, "A render's parameters", optional=False)
        weights = []
        for entry in styles:
            try:
                ref, weight = entry
                weight = float(weight)
            except (TypeError, ValueError):
                raise LibraryError(f"Each style of a render is (style id or name, weight), not {entry!r}.") from None
            if not math.isfinite(weight) or weight < 0:
                raise LibraryError(f"A style weight must be a finite number >= 0, got {weight}.")
            weights.append((ref, weight))
        prepared = (content if isinstance(content, PreparedImage) or content is None
                    else prepare_image(content, "the content image"))

        def work(s: Session) -> RenderRecord:
            now = utcnow()
            render = Render(status=status, filter_id=filter_id.strip(), params=params, created_at=now,
                            started_at=now if status == "running" else None, priority=int(priority),
                            queued_at=now if status == "queued" else None,
                            attempts=0, cancel_requested=False, events=[event(status)])
            if prepared is not None:
                render.content_image_id = self._image_for(s, prepared).id
            for position, (ref, weight) in enumerate(weights):
                style = _find_style(s, ref)
                render.styles.append(RenderStyle(position=position, style_id=style.id, style_name=style.name,
                                                 weight=weight))
            s.add(render)
            s.flush()
            return records.render_record(render)

        return self._write(work)

    def update_render_progress(self, render_id: int, progress: dict) -> bool:
        """Store the latest progress of a queued or running render; False if it has already ended."""
        progress = validation.to_json_object(progress, "Progress", optional=False)

        def work(s: Session) -> bool:
            result = s.execute(update(Render).where(Render.id == render_id, Render.status.in_(("queued", "running")))
                               .values(progress=progress))
            if result.rowcount == 0 and s.get(Render, render_id) is None:
                raise RenderNotFoundError(f"No render with id {render_id}.")
            return result.rowcount > 0

        return self._write(work)

    def finish_render(self, render_id: int, result_png: bytes, losses: dict | None = None,
                      timings: dict | None = None, owner: str | None = None) -> RenderRecord:
        """End a render ``done`` with its image. With ``owner``, only if that worker still runs it."""
        result = prepare_image(result_png, "the result image", result=True)
        return self._transition(render_id, ("queued", "running"), "done", "finished", result=result, owner=owner,
                                losses=validation.to_json_object(losses, "Losses"),
                                timings=validation.to_json_object(timings, "Timings"))

    def fail_render(self, render_id: int, error: str, owner: str | None = None,
                    best_png: bytes | None = None) -> RenderRecord:
        """End a render ``failed`` with the reason (and, when it made one, its best image so far)."""
        text = str(error).strip()[:MAX_ERROR_TEXT] or "The render failed."
        result = prepare_image(best_png, "the best image so far", result=True) if best_png is not None else None
        return self._transition(render_id, ("queued", "running"), "failed", "marked as failed", owner=owner,
                                result=result, error=text)

    def cancel_render(self, render_id: int, result_png: bytes | None = None, losses: dict | None = None,
                      timings: dict | None = None, owner: str | None = None) -> RenderRecord:
        result = prepare_image(result_png, "the partial result", result=True) if result_png is not None else None
        return self._transition(render_id, ("queued", "running"), "cancelled", "cancelled", result=result,
                                owner=owner, losses=validation.to_json_object(losses, "Losses"),
                                timings=validation.to_json_object(timings, "Timings"))

    def _transition(self, render_id: int, allowed: tuple[str, ...], status: str, verb: str, *,
                    result: PreparedImage | None = None, owner: str | None = None, **changes) -> RenderRecord:
        def work(s: Session) -> RenderRecord:
            render = _find_render(s, render_id, lock=True)
            if render.status not in allowed:
                raise LibraryError(f"Render {render_id} is {render.status}; it cannot be {verb}.")
            if owner is not None and render.owner != owner:
                raise LibraryError(f"Render {render_id} was taken back from {owner}; its result is not stored.")
            render.status = status
            render.finished_at = utcnow()
            render.owner, render.preview = None, None
            add_event(render, event(status, changes.get("error"), owner=owner))
            if result is not None:
                render.result_image_id = self._image_for(s, result).id
            for field, value in changes.items():
                if value is not None:
                    setattr(render, field, value)
            s.flush()
            return records.render_record(render)

        return self._write(work)

    def queued_renders(self) -> list[RenderRecord]:
        """Queued renders in the order the queue takes them: higher priority first, then oldest first."""
        stmt = (select(Render).where(Render.status == "queued")
                .order_by(Render.priority.desc(), Render.created_at, Render.id))
        return self._read(lambda s: [records.render_record(r) for r in s.scalars(stmt)])

    def list_renders(self, limit: int = 50, status: str | Iterable[str] | None = None,
                     style_id: int | None = None) -> list[RenderRecord]:
        """Renders, newest first; ``status`` is one status or several; ``style_id``: only renders that used it."""
        stmt = select(Render).order_by(Render.created_at.desc(), Render.id.desc()).limit(max(0, int(limit)))
        if style_id is not None:
            stmt = stmt.where(Render.id.in_(select(RenderStyle.render_id).where(RenderStyle.style_id == style_id)))
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            unknown = [s for s in wanted if s not in RENDER_STATUSES]
            if unknown:
                raise LibraryError(f"Unknown render status {unknown[0]!r}; use one of {', '.join(RENDER_STATUSES)}.")
            stmt = stmt.where(Render.status.in_(wanted))
        return self._read(lambda s: [records.render_record(r) for r in s.scalars(stmt)])

    def get_render(self, render_id: int) -> RenderRecord:
        return self._read(lambda s: records.render_record(_find_render(s, render_id)))

    def delete_render(self, render_id: int) -> None:
        """Remove a finished render, and its images if nothing else uses them."""
        def work(s: Session) -> None:
            render = _find_render(s, render_id, lock=True)
            if render.status == "running":
                raise LibraryError(f"Render {render_id} is running; cancel it before deleting it.")
            image_ids = {render.content_image_id, render.result_image_id} - {None}
            s.delete(render)
            s.flush()
            for image_id in image_ids:
                self._delete_image_if_unused(s, image_id)

        self._write(work)

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
        return self._read(lambda s: [records.image_record(image) for image in s.scalars(stmt)])

    # ------------------------------------------------------------------ images

    def get_image(self, image_id: int) -> ImageRecord:
        return self._read(lambda s: records.image_record(_find_image(s, image_id)))

    def image_bytes(self, image_id: int) -> bytes:
        """An image's original bytes, as uploaded."""
        return self._image_column(image_id, Image.data)

    def thumbnail_bytes(self, image_id: int) -> bytes:
        """An image's JPEG thumbnail (at most 320 px on the long side)."""
        return self._image_column(image_id, Image.thumbnail)

    def _image_column(self, image_id: int, column) -> bytes:
        def work(s: Session) -> bytes:
            value = s.scalar(select(column).where(Image.id == image_id))
            if value is None:
                raise LibraryError(f"No image with id {image_id}.")
            return bytes(value)

        return self._read(work)

    def stats(self) -> LibraryStats:
        def work(s: Session) -> LibraryStats:
            count = lambda model: s.scalar(select(func.count()).select_from(model))  # noqa: E731
            return LibraryStats(
                styles=count(Style), images=count(Image),
                image_bytes=int(s.scalar(select(func.coalesce(func.sum(Image.size_bytes), 0)))),
                renders=count(Render), gram_entries=count(GramEntry),
                gram_bytes=int(s.scalar(select(func.coalesce(func.sum(GramEntry.size_bytes), 0)))),
            )

        return self._read(work)

    # ------------------------------------------------------------------ helpers (inside a transaction)

    def _image_for(self, session: Session, prepared: PreparedImage) -> Image:
        """The image row with these bytes, created if needed (content-addressed)."""
        image = session.scalar(select(Image).where(Image.sha256 == prepared.sha256))
        if image is None:
            image = Image(
                sha256=prepared.sha256, pixel_sha256=prepared.pixel_sha256, data=prepared.data,
                width=prepared.width, height=prepared.height, format=prepared.format,
                thumbnail=prepared.thumbnail, size_bytes=len(prepared.data), created_at=utcnow(),
            )
            session.add(image)
            session.flush()
        return image

    @staticmethod
    def _tags(session: Session, names: list[str]) -> list[Tag]:
        if not names:
            return []
        existing = {tag.name: tag for tag in session.scalars(select(Tag).where(Tag.name.in_(names)))}
        result = []
        for name in names:
            tag = existing.get(name)
            if tag is None:
                tag = existing[name] = Tag(name=name)
                session.add(tag)
            result.append(tag)
        return result

    @staticmethod
    def _forget_grams(session: Session, digests: set[str]) -> None:
        """Delete cached Gram matrices of these pixel digests, unless another style still has those pixels."""
        still_used = set(session.scalars(
            select(Image.pixel_sha256).join(Style, Style.image_id == Image.id).where(Image.pixel_sha256.in_(digests))))
        gone = digests - still_used
        if gone:
            session.execute(delete(GramEntry).where(GramEntry.image_sha256.in_(gone)))

    @staticmethod
    def _delete_image_if_unused(session: Session, image_id: int) -> None:
        used = session.scalar(select(
            exists().where(Style.image_id == image_id)
            | exists().where(Style.sample_image_id == image_id)
            | exists().where(Render.content_image_id == image_id)
            | exists().where(Render.result_image_id == image_id)
        ))
        if used:
            return
        try:
            with session.begin_nested():  # someone may have started using it meanwhile: then keep it
                session.execute(delete(Image).where(Image.id == image_id))
        except IntegrityError:
            pass

    def _pixel_digest(self, image_id: int) -> str | None:
        """The engine's digest of a stored image, recomputed from its bytes (None if it cannot be decoded)."""
        try:
            return targets.image_digest(images.load(self.image_bytes(image_id)))
        except (ImageError, LibraryError):
            return None


#: How styles can be listed: by name, newest first, most recently used first (never used last), by artist.
STYLE_ORDERS = ("name", "added", "used", "artist")


def _style_order(sort: str) -> list:
    if sort == "added":
        return [Style.created_at.desc(), Style.id.desc()]
    if sort == "artist":
        return [Style.artist_key.is_(None), Style.artist_key, Style.name_key]
    if sort == "used":
        last_used = (select(func.max(Render.created_at)).join(RenderStyle, RenderStyle.render_id == Render.id)
                     .where(RenderStyle.style_id == Style.id).scalar_subquery())
        return [last_used.is_(None), last_used.desc(), Style.created_at.desc(), Style.id.desc()]
    return [Style.name_key]


def _find_style(session: Session, id_or_name: StyleRef) -> Style:
    if isinstance(id_or_name, bool) or not isinstance(id_or_name, (int, str)):
        raise StyleNotFoundError(f"{id_or_name!r} is not a style id or name.")
    if isinstance(id_or_name, int):
        style = session.get(Style, id_or_name)
        if style is None:
            raise StyleNotFoundError(f"No style with id {id_or_name}.")
        return style
    style = session.scalar(select(Style).where(Style.name_key == validation.fold(id_or_name)))
    if style is None and id_or_name.strip().isdigit():
        style = session.get(Style, int(id_or_name.strip()))
    if style is None:
        raise StyleNotFoundError(f'No style named "{" ".join(id_or_name.split())}".')
    return style


def _refuse_taken(session: Session, key: str, name: str) -> None:
    existing = session.scalar(select(Style.name).where(Style.name_key == key))
    if existing is not None:
        raise DuplicateStyleError(f'A style named "{existing}" already exists.')


def _find_render(session: Session, render_id: int, lock: bool = False) -> Render:
    stmt = select(Render).where(Render.id == render_id)
    if lock:
        stmt = stmt.with_for_update()
    render = session.scalar(stmt)
    if render is None:
        raise RenderNotFoundError(f"No render with id {render_id}.")
    return render


def _find_image(session: Session, image_id: int) -> Image:
    image = session.get(Image, image_id)
    if image is None:
        raise LibraryError(f"No image with id {image_id}.")
    return image


def _unavailable(exc: DatabaseError) -> LibraryError:
    """The library's own error for a database error, saying what to do."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    if isinstance(exc, DataError):
        return LibraryError(f"The database refused a value ({reason}); nothing was changed.")
    if "readonly" in reason.replace("-", "").replace(" ", "").lower():
        return LibraryError(f"The style library is read-only here ({reason}): it can be browsed, not changed.")
    if isinstance(exc, OperationalError):
        return LibraryError(f"The style library's database is unavailable ({reason}).")
    return LibraryError(f"The style library's database is damaged or is not a library ({reason}); restore it "
                        f"from a backup, or use another one (NST_DATA_DIR or NST_DATABASE_URL).")


def open_library(url: str | URL | None = None) -> Library:
    """Connect, migrate to the newest schema and return the :class:`~db.library.Library`.

    A SQLite library that cannot be written here (a read-only disk, no permission) but is already
    at the newest schema opens read-only: it can be browsed, and every change says why it is refused.
    """
    resolved = database_url(url)
    engine = create_db_engine(resolved)
    try:
        upgrade(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        browse = _open_read_only(resolved) if "readonly" in reason.replace(" ", "").lower() or \
            "unable to open" in reason else None
        if browse is not None:
            return browse
        raise LibraryError(f"Cannot open the style library at {describe(resolved)}: {reason}.") from None
    except BaseException:
        engine.dispose()
        raise
    return Library(engine)


def _open_read_only(url: URL) -> Library | None:
    """The library at ``url`` for browsing only, if it exists and its schema is current."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    ro = read_only_url(url)
    if ro is None or not Path(url.database).expanduser().is_file():
        return None
    engine = create_db_engine(ro)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
        if current != ScriptDirectory.from_config(alembic_config()).get_current_head():
            engine.dispose()
            return None
    except SQLAlchemyError:
        engine.dispose()
        return None
    log.warning("The style library %s cannot be written here; it is open read-only.", describe(url))
    return Library(engine, read_only=True)
