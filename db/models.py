"""The style library's tables (SQLAlchemy 2.0 typed declarative).

Portable types only: everything here works the same on SQLite and PostgreSQL.
Timestamps are stored in UTC and come back timezone-aware (or None: text on SQLite that is not a date).
The schema is created and changed by the Alembic migrations in
``db/migrations``; a test checks that they match these models.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any, Optional

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    false,
    Index,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

#: Every render status; a render moves queued -> running -> done | failed | cancelled | interrupted.
RENDER_STATUSES = ("queued", "running", "done", "failed", "cancelled", "interrupted")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no offset; we add it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Optional[datetime], dialect) -> Optional[datetime]:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("Naive datetimes are not stored; use an aware UTC datetime.")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Optional[datetime], dialect) -> Optional[datetime]:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

    def result_processor(self, dialect, coltype):
        """On SQLite a DATETIME column is text and holds whatever was written into it (the file edited by
        hand, an old version's junk): a value that is not a date reads as unknown (None), with one log line,
        instead of failing the whole read; the row itself is left as it is. PostgreSQL cannot store such
        text in a timestamp column, so its values are read as they are."""
        process = super().result_processor(dialect, coltype)
        if dialect.name != "sqlite" or process is None:
            return process

        def tolerant(value):
            try:
                return process(value)
            except (ValueError, TypeError, OverflowError):
                shown = " ".join(str(value).split())[:80]
                log.warning("A stored date %r is not a date; it reads as unknown.", shown)
                return None

        return tolerant


#: JSON where Python ``None`` is SQL NULL (not the JSON value ``null``).
NullableJSON = JSON(none_as_null=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


#: SQLite reuses the largest id after a delete unless a table says AUTOINCREMENT: a deleted render's
#: id must never name a new render (a cached download would show the old one).
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


style_tags = Table(
    "style_tags",
    Base.metadata,
    Column("style_id", ForeignKey("styles.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Image(Base):
    """An image, stored once per distinct file (content-addressed by the sha256 of its bytes)."""

    __tablename__ = "images"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    #: The digest of the decoded, normalised RGB pixels (:func:`nst.targets.image_digest`), whatever the
    #: file's format: the part of a Gram target's key that names the image (``sha256`` is the file's bytes).
    pixel_digest: Mapped[str] = mapped_column(String(64), index=True)
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(16))
    #: JPEG, at most 320 px on the long side.
    thumbnail: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Tag(Base):
    __tablename__ = "tags"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Normalised: casefolded, single spaces, no commas.
    name: Mapped[str] = mapped_column(String(64), unique=True)


class Style(Base):
    __tablename__ = "styles"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: The casefolded name: names are unique ignoring case.
    name_key: Mapped[str] = mapped_column(String(200), unique=True)
    artist: Mapped[Optional[str]] = mapped_column(String(200))
    #: The casefolded artist, for case-insensitive search on every backend.
    artist_key: Mapped[Optional[str]] = mapped_column(String(200), index=True)
    description: Mapped[Optional[str]] = mapped_column(Text)
    #: When it was made, as written ("1889", "c. 1831").
    year: Mapped[Optional[str]] = mapped_column(String(40))
    #: Where the image came from and its licence.
    credit: Mapped[Optional[str]] = mapped_column(Text)
    #: "upload" or "plugin:<plugin id>".
    source: Mapped[str] = mapped_column(String(120), default="upload")
    suggested_params: Mapped[Optional[dict[str, Any]]] = mapped_column(NullableJSON)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id"), index=True)
    #: A result made with this style that ships with it (a plugin's sample), shown until the user makes one.
    sample_image_id: Mapped[Optional[int]] = mapped_column(ForeignKey("images.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    image: Mapped[Image] = relationship(lazy="joined", innerjoin=True, foreign_keys=[image_id])
    tags: Mapped[list[Tag]] = relationship(secondary=style_tags, lazy="selectin", order_by=Tag.name)


class GramEntry(Base):
    """One style target (a style's Gram matrices at one size), see :class:`db.gram_store.GramStore`."""

    __tablename__ = "gram_entries"

    #: ``str(nst.targets.TargetKey)``.
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    #: The style image's :attr:`Image.pixel_digest`, to drop a style's entries when it is deleted.
    pixel_digest: Mapped[str] = mapped_column(String(64), index=True)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    checksum: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Render(Base):
    __tablename__ = "renders"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in RENDER_STATUSES) + ")", name="status"
        ),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    started_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    finished_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), index=True)
    filter_id: Mapped[str] = mapped_column(String(120))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_image_id: Mapped[Optional[int]] = mapped_column(ForeignKey("images.id"), index=True)
    result_image_id: Mapped[Optional[int]] = mapped_column(ForeignKey("images.id"), index=True)
    losses: Mapped[Optional[dict[str, Any]]] = mapped_column(NullableJSON)
    timings: Mapped[Optional[dict[str, Any]]] = mapped_column(NullableJSON)
    error: Mapped[Optional[str]] = mapped_column(Text)
    #: The last progress report (step, total, losses...), for live display.
    progress: Mapped[Optional[dict[str, Any]]] = mapped_column(NullableJSON)
    #: Higher runs first (a preview before queued finals).
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: When the render was last handed to the queue (a message lost with the queue is sent again).
    queued_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    #: The worker running it ("host:pid:worker"), while it runs.
    owner: Mapped[Optional[str]] = mapped_column(String(200))
    #: The owner's last sign of life; a render whose owner is silent too long is taken back.
    heartbeat_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    #: How many times a worker started it.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Set by Cancel; the running worker reads it at its next heartbeat and stops with the best image.
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: JPEG of the latest preview while it runs (cleared when it ends).
    preview: Mapped[Optional[bytes]] = mapped_column(LargeBinary, deferred=True)
    #: What happened to it: [{"at": ISO time, "event": "queued" | "started" | "retried" | ..., "detail": ...}].
    events: Mapped[Optional[list[Any]]] = mapped_column(NullableJSON)

    styles: Mapped[list["RenderStyle"]] = relationship(
        lazy="selectin", order_by="RenderStyle.position", cascade="all, delete-orphan", passive_deletes=True
    )


#: The queue's order (:meth:`db.renders.Renders.queued`): the first queued renders are read from it in
#: order, and a queued render's place is counted in it.
Index("ix_renders_queue_order", Render.status, Render.priority.desc(), Render.created_at, Render.id)


class RenderCheckpoint(Base):
    """A running render's image at the end of its last finished scale: a retry resumes there (print sizes)."""

    __tablename__ = "render_checkpoints"

    render_id: Mapped[int] = mapped_column(ForeignKey("renders.id", ondelete="CASCADE"), primary_key=True)
    #: The finished scale (0 is the coarsest).
    scale: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    #: The image as PNG.
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RenderStyle(Base):
    """A style used by a render, with its name at the time: history stays readable after a delete."""

    __tablename__ = "render_styles"

    render_id: Mapped[int] = mapped_column(ForeignKey("renders.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    style_id: Mapped[Optional[int]] = mapped_column(ForeignKey("styles.id", ondelete="SET NULL"), index=True)
    style_name: Mapped[str] = mapped_column(String(200))
    weight: Mapped[float] = mapped_column(Float)
