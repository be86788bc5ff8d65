"""What the library returns: plain frozen values, never live ORM objects.

Records are safe to pass between threads and to keep after their session is
closed. JSON fields are deep copies, so changing them changes nothing stored.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import models


@dataclass(frozen=True)
class ImageRecord:
    id: int
    sha256: str  # of the original bytes
    pixel_digest: str  # nst.targets.image_digest of the decoded, normalised pixels
    width: int
    height: int
    format: str
    size_bytes: int
    created_at: datetime


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
    created_at: datetime
    updated_at: datetime
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
    status: str
    filter_id: str
    params: dict[str, Any]
    styles: tuple[RenderStyleRecord, ...]
    content_image_id: int | None
    result_image_id: int | None
    losses: dict[str, Any] | None
    timings: dict[str, Any] | None
    error: str | None
    progress: dict[str, Any] | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    priority: int = 0
    owner: str | None = None  # the worker running it ("host:pid:worker")
    heartbeat_at: datetime | None = None
    attempts: int = 0  # how many times a worker started it
    cancel_requested: bool = False
    events: tuple[dict[str, Any], ...] = ()  # its story: queued, started, retried, ...

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")


@dataclass(frozen=True)
class StyleUsage:
    last_used_at: datetime  # the newest render with the style
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


def render_record(render: models.Render) -> RenderRecord:
    return RenderRecord(
        id=render.id, status=render.status, filter_id=render.filter_id, params=copy.deepcopy(render.params),
        styles=tuple(
            RenderStyleRecord(position=rs.position, style_id=rs.style_id, style_name=rs.style_name, weight=rs.weight)
            for rs in sorted(render.styles, key=lambda rs: rs.position)
        ),
        content_image_id=render.content_image_id, result_image_id=render.result_image_id,
        losses=copy.deepcopy(render.losses), timings=copy.deepcopy(render.timings), error=render.error,
        progress=copy.deepcopy(render.progress), created_at=render.created_at, started_at=render.started_at,
        finished_at=render.finished_at, priority=render.priority or 0, owner=render.owner,
        heartbeat_at=render.heartbeat_at, attempts=render.attempts or 0,
        cancel_requested=bool(render.cancel_requested),
        events=tuple(copy.deepcopy(render.events or [])),
    )
