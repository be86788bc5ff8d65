"""Styles: a painting's image with its name, artist, tags and suggested parameters.

Styles are named uniquely ignoring case. A style can be referred to by its id
(an ``int``) or its name (a ``str``; a string of digits that names no style is
tried as an id).

Plugin styles (:meth:`Styles.ensure_plugin`): a plugin may call it at every
start. A style of that name from the same plugin is reused (its image,
artist, tags and suggested parameters are refreshed when the image bytes
changed; otherwise the user's edits stay); a style from the same plugin with
the same bytes but renamed by the user is reused as it is; if the name belongs
to a user's upload or another plugin, the user's style is left alone and
``None`` is returned.

Deleting a style, or replacing a plugin style's image, also drops its cached
Gram matrices (:func:`db.gram_store.forget`) and its image when nothing else
uses it (:meth:`db.images.Images.delete_if_unused`).
"""

from __future__ import annotations

import logging
from typing import Any, Iterable

from PIL import Image as PILImage
from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import gram_store, records, validation
from .errors import DuplicateStyleError, LibraryError, StyleNotFoundError
from .ids import is_id, parse_id
from .images import Images
from .ingest import PreparedImage, Source, prepare_image
from .models import Image, Render, RenderStyle, Style, Tag, style_tags, utcnow
from .records import StyleRecord, StyleUsage
from .unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

StyleRef = int | str
#: How styles can be listed: by name, newest first, most recently used first (never used last), by artist.
STYLE_ORDERS = ("name", "added", "used", "artist")
_UNSET: Any = object()


def clean_fields(*, artist=None, description=None, tags=(), source: str = "upload", suggested_params=None,
                 year=None, credit=None) -> dict[str, Any]:
    """A style's fields besides its name and image, checked and normalised (see :mod:`db.validation`)."""
    return dict(
        artist=validation.clean_artist(artist), description=validation.clean_description(description),
        tags=validation.clean_tags(tags), source=validation.clean_source(source),
        suggested_params=validation.to_json_object(suggested_params, "suggested_params"),
        year=validation.clean_year(year), credit=validation.clean_credit(credit),
    )


class Styles:
    """The styles repository (see the module's docstring); each public method without a ``session`` is one
    transaction."""

    def __init__(self, unit_of_work: UnitOfWork, images: Images):
        self.unit_of_work = unit_of_work
        self.images = images

    def add(self, source: Source, *, name: str, artist: str | None = None, description: str | None = None,
            tags: Iterable[str] | str = (), source_label: str = "upload",
            suggested_params: dict | None = None, year: str | int | None = None,
            credit: str | None = None) -> StyleRecord:
        """Validate an image (path, bytes or binary stream) and store it as a new style."""
        name = validation.clean_name(name)
        fields = clean_fields(artist=artist, description=description, tags=tags, source=source_label,
                              suggested_params=suggested_params, year=year, credit=credit)
        prepared = prepare_image(source)
        return self.unit_of_work.write(lambda s: records.style_record(self.insert(s, prepared, name, **fields)))

    def list(self, query: str | None = None, tag: str | None = None,
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
        return self.unit_of_work.read(lambda s: [records.style_record(style) for style in s.scalars(stmt)])

    def get(self, id_or_name: StyleRef) -> StyleRecord:
        return self.unit_of_work.read(lambda s: records.style_record(find_style(s, id_or_name)))

    def rename(self, id_or_name: StyleRef, new_name: str) -> StyleRecord:
        new_name = validation.clean_name(new_name)
        key = validation.fold(new_name)

        def work(s: Session) -> StyleRecord:
            style = find_style(s, id_or_name)
            if key != style.name_key:
                _refuse_taken(s, key, new_name)
            style.name, style.name_key, style.updated_at = new_name, key, utcnow()
            s.flush()
            return records.style_record(style)

        return self.unit_of_work.write(work)

    def set_tags(self, id_or_name: StyleRef, tags: Iterable[str] | str) -> StyleRecord:
        """Replace a style's tags (a string is split on commas)."""
        names = validation.clean_tags(tags)

        def work(s: Session) -> StyleRecord:
            style = find_style(s, id_or_name)
            style.tags = _tags(s, names)
            style.updated_at = utcnow()
            s.flush()
            return records.style_record(style)

        return self.unit_of_work.write(work)

    def update(self, id_or_name: StyleRef, *, artist: str | None = _UNSET, description: str | None = _UNSET,
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
            style = find_style(s, id_or_name)
            for field, value in changes.items():
                setattr(style, field, value)
            style.updated_at = utcnow()
            s.flush()
            return records.style_record(style)

        return self.unit_of_work.write(work)

    def delete(self, id_or_name: StyleRef) -> StyleRecord:
        """Remove a style, its cached Gram matrices and (if nothing else uses it) its image.

        Renders that used it keep its name. Returns the removed style.
        """
        before = self.get(id_or_name)
        recomputed = self.images.pixel_digest(before.image_id)

        def work(s: Session) -> StyleRecord:
            style = find_style(s, before.id)
            record = records.style_record(style)
            image = style.image
            s.execute(update(RenderStyle).where(RenderStyle.style_id == style.id).values(style_id=None))
            s.delete(style)
            s.flush()
            gram_store.forget(s, {image.pixel_digest, recomputed} - {None})
            self.images.delete_if_unused(s, image.id)
            if record.sample_image_id is not None:
                self.images.delete_if_unused(s, record.sample_image_id)
            return record

        return self.unit_of_work.write(work)

    def image(self, id_or_name: StyleRef) -> PILImage.Image:
        """The style's image, normalised (upright 8-bit RGB), ready for the engine."""
        style = self.get(id_or_name)
        return self.images.picture(style.image_id, f'the image of style "{style.name}"')

    def tags(self) -> list[str]:
        """Every tag in use, sorted."""
        stmt = select(Tag.name).where(exists().where(style_tags.c.tag_id == Tag.id)).order_by(Tag.name)
        return self.unit_of_work.read(lambda s: list(s.scalars(stmt)))

    def ensure_plugin(self, plugin_id: str, *, name: str, data: bytes, artist: str | None = None,
                      tags: Iterable[str] | str = (), suggested_params: dict | None = None,
                      description: str | None = None, year: str | int | None = None,
                      credit: str | None = None, sample: bytes | None = None) -> StyleRecord | None:
        """Make sure a plugin's bundled style is in the library; safe to call at every start.

        ``sample`` is a result made with the style, shown on its card until the user makes one.
        Returns the style, or ``None`` when the name belongs to a user's style (which is left alone).
        """
        source = validation.plugin_source(plugin_id)
        name = validation.clean_name(name)
        fields = clean_fields(artist=artist, description=description, tags=tags, source=source,
                              suggested_params=suggested_params, year=year, credit=credit)
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
                style = self.insert(s, prepared, name, **fields)
            elif style.source != source:
                log.info('Plugin %s: the style name "%s" is taken by another style; left as it is.', plugin_id, name)
                return None
            elif style.image.sha256 != prepared.sha256:
                old = style.image
                style.image = self.images.store(s, prepared)
                style.artist = fields["artist"]
                style.artist_key = validation.fold(fields["artist"]) if fields["artist"] else None
                style.tags = _tags(s, fields["tags"])
                style.suggested_params = fields["suggested_params"]
                if fields["description"] is not None:
                    style.description = fields["description"]
                style.updated_at = utcnow()
                s.flush()
                if old.pixel_digest != prepared.pixel_digest:
                    gram_store.forget(s, {old.pixel_digest})
                self.images.delete_if_unused(s, old.id)
            if (style.year, style.credit) != (fields["year"], fields["credit"]):  # the plugin's own metadata
                style.year, style.credit = fields["year"], fields["credit"]
            self._set_sample(s, style, prepared_sample)
            s.flush()
            return records.style_record(style)

        return self.unit_of_work.write(work)

    def usage(self) -> dict[int, StyleUsage]:
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

        return self.unit_of_work.read(work)

    # ------------------------------------------------------------------ inside a caller's transaction

    def insert(self, session: Session, prepared: PreparedImage, name: str, *, artist, description, tags,
               source, suggested_params, year=None, credit=None) -> Style:
        """Store a new style with an image already prepared and fields already checked
        (:func:`clean_fields`); raises :class:`DuplicateStyleError` when the name is taken."""
        key = validation.fold(name)
        _refuse_taken(session, key, name)
        image = self.images.store(session, prepared)
        self._after_image_stored(session)
        now = utcnow()
        style = Style(
            name=name, name_key=key, artist=artist, artist_key=validation.fold(artist) if artist else None,
            description=description, source=source, suggested_params=suggested_params, image=image, year=year,
            credit=credit, tags=_tags(session, tags), created_at=now, updated_at=now,
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

    @staticmethod
    def name_keys(session: Session, names: Iterable[str] | None = None) -> set[str]:
        """The case-folded names in use (of all styles, or of those among ``names``)."""
        stmt = select(Style.name_key)
        if names is not None:
            stmt = stmt.where(Style.name_key.in_([validation.fold(name) for name in names]))
        return set(session.scalars(stmt))

    def _after_image_stored(self, session: Session) -> None:
        """Test seam: called inside :meth:`insert`'s transaction once the image row is flushed."""

    def _set_sample(self, session: Session, style: Style, prepared: PreparedImage | None) -> None:
        old_id = style.sample_image_id
        if prepared is None:
            style.sample_image_id = None
        elif old_id is None or session.get(Image, old_id).sha256 != prepared.sha256:
            style.sample_image_id = self.images.store(session, prepared).id
        if old_id is not None and old_id != style.sample_image_id:
            session.flush()
            self.images.delete_if_unused(session, old_id)


def find_style(session: Session, id_or_name: StyleRef) -> Style:
    """The style with this id or name (see the module's docstring), or :class:`StyleNotFoundError`."""
    if isinstance(id_or_name, bool) or not isinstance(id_or_name, (int, str)):
        raise StyleNotFoundError(f"{id_or_name!r} is not a style id or name.")
    if isinstance(id_or_name, int):
        style = session.get(Style, id_or_name) if is_id(id_or_name) else None  # 2**63 would overflow the column
        if style is None:
            raise StyleNotFoundError(f"No style with id {id_or_name}.")
        return style
    style = session.scalar(select(Style).where(Style.name_key == validation.fold(id_or_name)))
    if style is None and parse_id(id_or_name) is not None:
        style = session.get(Style, parse_id(id_or_name))
    if style is None:
        raise StyleNotFoundError(f'No style named "{" ".join(id_or_name.split())}".')
    return style


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


def _refuse_taken(session: Session, key: str, name: str) -> None:
    existing = session.scalar(select(Style.name).where(Style.name_key == key))
    if existing is not None:
        raise DuplicateStyleError(f'A style named "{existing}" already exists.')


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
