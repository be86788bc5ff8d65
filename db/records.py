"""What the library returns: plain frozen values, never live ORM objects.

Records are safe to pass between threads and to keep after their session is
closed. JSON fields are deep copies, so changing them changes nothing stored.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import models, validation
from .lifecycle import ACTIVE, RenderStatus


@dataclass(frozen=True)
class ImageRecord:
    id: int
    sha256: str  # of the original bytes
    pixel_digest: str  # nst.targets.image_digest of the decoded, normalised pixels
    width: int
    height: int
    format: str
    size_bytes: int
    created_at: datetime | None  # None: a stored date that is not a date (see db.models.UTCDateTime)


@dataclass(frozen=True)
class StyleRecord:
    id: int
    name: str
    artist: str | None
    description: str | None
    tags: tuple[str, ...]
    source: str  # "upload" or "plugin:<plugin id>"
    suggested_params: dict[str, Any] | None
    image_id: int
    sha256: str  # of the original image bytes
    pixel_digest: str  # of the decoded pixels, the Gram cache's: StyleInput(image, pixel_digest) needs no re-hash
    width: int
    height: int
    format: str
    created_at: datetime | None  # None: unknown, as above
    updated_at: datetime | None
    year: str | None = None
    credit: str | None = None  # where the image came from, its licence
    sample_image_id: int | None = None  # a result shipped with the style, shown until the user makes one

    @property
    def plugin_id(self) -> str | None:
        return self.source[len("plugin:"):] if self.source.startswith("plugin:") else None


@dataclass(frozen=True)
class RenderStyleRecord:
    position: int
    style_id: int | None  # None once the style is deleted
    style_name: str  # the name when the render was made
    weight: float


@dataclass(frozen=True)
class RenderRecord:
    id: int
    status: RenderStatus  # (the stored text, when it is none of them)
    filter_id: str
    params: dict[str, Any]
    styles: tuple[RenderStyleRecord, ...]
    content_image_id: int | None
    result_image_id: int | None
    losses: dict[str, Any] | None
    timings: dict[str, Any] | None
    error: str | None
    progress: dict[str, Any] | None
    created_at: datetime | None  # None: unknown, as above
    started_at: datetime | None
    finished_at: datetime | None
    priority: int = 0
    owner: str | None = None  # the worker running it ("host:pid:worker")
    heartbeat_at: datetime | None = None
    attempts: int = 0  # how many times a worker started it
    cancel_requested: bool = False
    events: tuple[dict[str, Any], ...] = ()  # its story: queued, started, retried, ...
    #: Why a value stored in its row could not be read (written by other means than the library): that
    #: value is left empty, and a worker fails the render with this reason instead of running it.
    damaged: str | None = None

    @property
    def active(self) -> bool:
        return RenderStatus.of(self.status) in ACTIVE


@dataclass(frozen=True)
class StyleUsage:
    last_used_at: datetime | None  # the newest render with the style (None: its date is unknown)
    result_image_id: int | None  # the newest finished result made with it


@dataclass(frozen=True)
class LibraryStats:
    styles: int
    images: int
    image_bytes: int
    renders: int
    gram_entries: int
    gram_bytes: int


def image_record(image: models.Image) -> ImageRecord:
    return ImageRecord(
        id=image.id, sha256=image.sha256, pixel_digest=image.pixel_digest, width=image.width,
        height=image.height, format=image.format, size_bytes=image.size_bytes, created_at=image.created_at,
    )


def style_record(style: models.Style) -> StyleRecord:
    image = style.image
    return StyleRecord(
        id=style.id, name=style.name, artist=style.artist, description=style.description,
        tags=tuple(sorted(tag.name for tag in style.tags)), source=style.source,
        suggested_params=copy.deepcopy(style.suggested_params), image_id=image.id, sha256=image.sha256,
        pixel_digest=image.pixel_digest, width=image.width, height=image.height, format=image.format,
        created_at=style.created_at, updated_at=style.updated_at, year=style.year, credit=style.credit,
        sample_image_id=style.sample_image_id,
    )


#: A render's JSON columns, what each is called in a reason, its bound in bytes, and the kind of value it holds.
RENDER_JSON = {
    "params": ("The render's stored parameters", validation.MAX_PARAMS_JSON, dict),
    "losses": ("The render's stored losses", validation.MAX_METRICS_JSON, dict),
    "timings": ("The render's stored timings", validation.MAX_METRICS_JSON, dict),
    "progress": ("The render's stored progress", validation.MAX_METRICS_JSON, dict),
    "events": ("The render's stored events", validation.MAX_EVENTS_JSON, list),
}


def render_record(row, styles) -> RenderRecord:
    """A render from a row of its columns as stored (:func:`db.renders.load_records`): each JSON column
    raw (None when longer than its bound) with its length in bytes (``<name>_bytes``), its ``error``
    likewise, and ``styles`` (its :class:`RenderStyleRecord` s; None when it has more than any filter
    takes). Every JSON column goes through :func:`validation.load_json`; a value that cannot be read is
    left empty and its reason is the record's ``damaged`` (and its ``error``, if it has none)."""
    damaged: list[str] = []
    values: dict[str, Any] = {}
    for name, (what, limit, kind) in RENDER_JSON.items():
        size, value = getattr(row, f"{name}_bytes"), None
        try:
            if size is not None and size > limit:
                raise validation.DamagedRecordError(f"{what} take {size:,} bytes, more than the {limit:,} the "
                                                    f"library writes.")
            value = validation.load_json(getattr(row, name), what, limit)
            if value is not None and not isinstance(value, kind):
                raise validation.DamagedRecordError(
                    f"{what} are not {'named values' if kind is dict else 'a list'} ({type(value).__name__}).")
        except validation.DamagedRecordError as exc:
            damaged.append(str(exc))
            value = None
        values[name] = value
    error = row.error
    if row.error_bytes is not None and row.error_bytes > validation.MAX_ERROR_BYTES:
        damaged.append(f"The render's stored error takes {row.error_bytes:,} bytes, more than the "
                       f"{validation.MAX_ERROR_BYTES:,} the library writes.")
        error = None
    elif isinstance(error, (bytes, memoryview)):
        error = bytes(error).decode("utf-8", "replace")
    if styles is None:
        damaged.append(f"The render has {row.style_count:,} stored styles, more than the "
                       f"{validation.MAX_RENDER_STYLES} a filter takes.")
    reason = " ".join(damaged) or None
    return RenderRecord(
        id=row.id, status=RenderStatus.of(row.status) or row.status, filter_id=row.filter_id, params=values["params"] or {},
        styles=tuple(styles or ()), content_image_id=row.content_image_id, result_image_id=row.result_image_id,
        losses=values["losses"], timings=values["timings"], error=error if error is not None else reason,
        progress=values["progress"], created_at=row.created_at, started_at=row.started_at,
        finished_at=row.finished_at, priority=row.priority or 0, owner=row.owner,
        heartbeat_at=row.heartbeat_at, attempts=row.attempts or 0,
        cancel_requested=bool(row.cancel_requested), events=tuple(values["events"] or ()), damaged=reason,
    )
