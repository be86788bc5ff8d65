"""The caller's side of the render farm: submit a render, watch it, cancel it, from any process.

:class:`Farm` checks a render's filter, parameters and inputs, records it in
the library (the one truth about it) and puts "render N is ready" on the
queue; any worker on any machine that reaches the queue and the library takes
it. Watching reads the render's record (status, progress, preview, result),
which its worker updates about once a second; Cancel sets a flag on the
record that the worker reads at its next heartbeat. Nothing here imports
Streamlit: the app's pages, the CLI and the tests use the same class.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from db.ingest import PreparedImage, prepare_image
from db.lifecycle import ACTIVE, RenderStatus
from nst.errors import ParameterError
from nst.plugin import RunInputs
from nst.targets import StyleInput

from .handoff import DECODED_PHOTOS
from .queue import QueueError, RenderQueue, priority_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobView:
    """A render as a page shows it: its record, with its live progress and preview."""

    render_id: int
    status: RenderStatus  # (the stored text, when it is none of them: a row written by other means)
    filter_id: str
    step: int
    total: int
    fraction: float
    elapsed: float
    eta: float | None
    losses: dict[str, float]
    preview: bytes | None
    result_image_id: int | None
    error: str | None
    queue_position: int | None  # 1 for the next to run, when queued
    owner: str | None = None
    attempts: int = 0
    cancel_requested: bool = False
    stage: str = ""  # what a running render does before its first step (its share done is ``fraction``)

    @property
    def active(self) -> bool:
        return RenderStatus.of(self.status) in ACTIVE


#: The largest step count a live view believes (a stored one beyond it, or not a number, reads as 0).
MAX_STEPS = 10**9


def _number(value, default, upper: float | None = None):
    """A number stored in a render's JSON, as a float: ``default`` unless it is a finite real number from 0
    to ``upper`` (its record is written by workers, and may have been written by anyone)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return default
    try:
        value = float(value)
    except OverflowError:  # an integer beyond a float's range
        return default
    if not math.isfinite(value) or value < 0 or (upper is not None and value > upper):
        return default
    return value


def _stage(stored) -> str:
    """A stored stage's text: a string of at most 200 characters, else none."""
    return stored if isinstance(stored, str) and len(stored) <= 200 else ""


def _losses(stored) -> dict[str, float]:
    """The finite losses of a stored object, by name ({} when it is not an object)."""
    if not isinstance(stored, dict):
        return {}
    losses = {name: _number(value, None) for name, value in stored.items() if isinstance(name, str)}
    return {name: value for name, value in losses.items() if value is not None}


@dataclass(frozen=True)
class Now:
    """The renders a page shows as happening now (:meth:`Farm.now`): ids, the running ones first."""

    running: list[int]
    queued: list[int]  # the first of the queue, in its order
    more_queued: int  # how many others wait behind them

    @property
    def render_ids(self) -> list[int]:
        return [*self.running, *self.queued]


class Farm:
    """Submit, watch and cancel renders (one per process is plenty; it holds no state of its own)."""

    def __init__(self, library, registry, queue: RenderQueue):
        self.library = library
        self.registry = registry
        self.queue = queue

    @staticmethod
    def prepare_photo(data: bytes, name: str = "the photo") -> PreparedImage:
        """A photo read, checked and decoded, once, on its way into the library (hand it to :meth:`submit`)."""
        return prepare_image(data, name)

    def submit(self, filter_id: str, params: Mapping[str, Any], content: bytes | PreparedImage | None,
               styles: Sequence[tuple[int, float]], priority: int | None = None) -> int:
        """Check everything, record a queued render and queue it; returns the render id.

        The parameters go through the registry's admission check (:meth:`nst.registry.Registry.admit`) once, and
        the record keeps the checked values it lets through. The photo is decoded once, here or
        already by :meth:`prepare_photo`; a render thread of this process takes the decoded picture
        from :mod:`studio.handoff`. ``priority`` is the queue's (default: a preview's when admission
        says the render is one). Bad parameters or inputs raise here (ParameterError, ImageError),
        before anything is recorded. When the queue cannot be reached the render stays recorded and
        queued, and is sent as soon as a worker's stale-render sweeper reaches the queue again.
        """
        flt = self.registry.get(filter_id)
        photo = self.prepare_photo(content) if isinstance(content, (bytes, bytearray)) else content
        style_inputs = [self._style_input(style_id) for style_id, _ in styles]
        inputs = RunInputs(content=photo.picture if photo is not None else None, styles=style_inputs,
                           style_weights=[w for _, w in styles])
        admitted = self.registry.admit(flt.id, inputs, params)
        if priority is None:
            priority = priority_of(admitted.preview)
        record = self.library.create_render(flt.id, admitted.params, photo, [(sid, w) for sid, w in styles],
                                            priority=priority)
        if photo is not None and photo.picture is not None:
            DECODED_PHOTOS.put(record.id, photo.picture)  # kept only when this process runs render threads
        try:
            self.queue.enqueue(record.id, priority)
        except QueueError as exc:
            DECODED_PHOTOS.drop(record.id)  # sent later by a stale-render sweeper, perhaps to another process
            log.warning("Render %s recorded but not queued yet: %s", record.id, exc)
        return record.id

    def resubmit(self, render_id: int) -> int:
        """Queue a new render with the same filter, parameters, photo, styles and priority (its record
        holds plain values, no preset name to tell a preview by)."""
        old = self.library.get_render(render_id)
        missing = [s.style_name for s in old.styles if s.style_id is None]
        if missing:
            raise ParameterError(f"The style {missing[0]!r} of render {render_id} has been deleted.")
        content = self.library.image_bytes(old.content_image_id) if old.content_image_id else None
        return self.submit(old.filter_id, old.params, content, [(s.style_id, s.weight) for s in old.styles],
                           priority=old.priority)

    def cancel(self, render_id: int) -> None:
        """Drop a queued render, or ask a running one to stop (it keeps its best image so far)."""
        self.library.request_cancel(render_id)
        DECODED_PHOTOS.drop(render_id)  # a queued render is cancelled now; a running one took its picture already

    def view(self, render_id: int) -> JobView:
        """One render as a live panel shows it: one statement, one row, whatever the queue's length (its
        place in the queue is a count; its parameters are not read, its preview only while it runs)."""
        record = self.library.renders.live(render_id)
        stored = record.progress if isinstance(record.progress, dict) else {}
        timings = record.timings if isinstance(record.timings, dict) else {}
        status = RenderStatus.of(record.status) or record.status
        done = status == RenderStatus.DONE
        elapsed = _number(timings.get("seconds"), _number(stored.get("elapsed"), 0.0))
        return JobView(
            render_id, status, record.filter_id, int(_number(stored.get("step"), 0, MAX_STEPS)),
            int(_number(stored.get("total"), 0, MAX_STEPS)),
            1.0 if done else _number(stored.get("fraction"), 0.0, 1.0), elapsed,
            _number(stored.get("eta"), None) if status == RenderStatus.RUNNING else None,
            _losses(record.losses) or _losses(stored.get("losses")), record.preview, record.result_image_id,
            record.error, record.queue_position, record.owner, record.attempts, record.cancel_requested,
            _stage(stored.get("stage")) if status == RenderStatus.RUNNING else "",
        )

    def any_active(self, render_ids) -> bool:
        """Whether any of ``render_ids`` is queued or running (their statuses only: no view is built)."""
        return bool(self.library.renders.active_ids(render_ids))

    def now(self, queued_shown: int = 10) -> Now:
        """What is happening now, in three small reads whatever the queue's length: the running renders
        (at most 50), the first ``queued_shown`` in the queue's order, and how many more wait."""
        running, queued, waiting = self.library.renders.now(running_limit=50, queued_limit=queued_shown)
        return Now(running, queued, max(0, waiting - len(queued)))

    def _style_input(self, style_id: int) -> StyleInput:
        """A library style as admission checks it: its size and digest from its record; its pixels decoded only
        if a filter's check reads them (the built-in filters read the size alone; the worker reads the image)."""
        record = self.library.get_style(style_id)
        return StoredStyle((record.width, record.height), record.pixel_digest,
                           lambda: self.library.style_image(style_id))


class StoredStyle(StyleInput):
    """A style of the library whose image is decoded when first read, not before (:meth:`Farm.submit`)."""

    def __init__(self, size: tuple[int, int], pixel_digest: str, load: Callable[[], Any]):  # noqa: D107
        object.__setattr__(self, "pixel_digest", pixel_digest)
        object.__setattr__(self, "_size", (int(size[0]), int(size[1])))
        object.__setattr__(self, "_load", load)
        object.__setattr__(self, "_image", None)

    @property
    def size(self) -> tuple[int, int]:
        return self._size

    @property
    def image(self):  # type: ignore[override]
        if self._image is None:
            object.__setattr__(self, "_image", self._load())
        return self._image

    @property
    def decoded(self) -> bool:
        return self._image is not None
