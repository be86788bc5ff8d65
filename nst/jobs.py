"""The background worker: renders run off the caller's thread, one at a time, in order.

A render's life lives in the library's render history: :meth:`Worker.submit`
records it as ``queued``; the worker thread takes queued renders oldest first,
marks each ``running``, runs its filter through the plugin registry and ends
it ``done`` (with the image), ``cancelled`` (with the best image so far),
or ``failed`` (with the reason). Because the queue is the database, every
browser tab sees the same jobs, and after a restart a render that was running
is marked ``interrupted`` while queued ones simply run.

While a render runs, its latest progress (step, losses, a preview image) is
kept in memory for fast polling, and written to the history about once a
second. Nothing here imports Streamlit.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from . import images
from .errors import NSTError, ParameterError
from .plugin import RunInputs
from .progress import Progress
from .targets import StyleInput

log = logging.getLogger(__name__)

#: Seconds between progress writes to the render history.
PERSIST_EVERY = 1.0
#: Long side of the live preview images kept in memory.
PREVIEW_SIDE = 512


@dataclass
class LiveState:
    """What the worker knows about the render it is running (newer than the database)."""

    render_id: int
    started: float = field(default_factory=time.perf_counter)
    progress: Progress | None = None
    preview: bytes | None = None  # JPEG of the latest preview image
    cancel: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class JobView:
    """A render as a page shows it: the history record merged with live progress."""

    render_id: int
    status: str
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

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")


class Worker:
    """One background thread that runs queued renders; share one per process."""

    #: Every worker started in this process (so tests and shutdown hooks can stop them).
    instances: "weakref.WeakSet[Worker]" = weakref.WeakSet()

    def __init__(self, library, registry, engine_provider: Callable[[], Any], *, preview_every: int = 3,
                 poll_seconds: float = 1.0, start: bool = True, warm: bool = True):
        self.library = library
        self.registry = registry
        self.engine_provider = engine_provider
        self.preview_every = preview_every
        self.poll_seconds = poll_seconds
        self.warm = warm
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._live: LiveState | None = None
        self.interrupted = library.mark_interrupted()  # a previous process died mid-render
        self._thread = threading.Thread(target=self._loop, name="nst-render-worker", daemon=True)
        Worker.instances.add(self)
        if start:
            self._thread.start()

    # ------------------------------------------------------------------ the caller's side

    def submit(self, filter_id: str, params: Mapping[str, Any], content: bytes | None,
               styles: Sequence[tuple[int, float]]) -> int:
        """Check everything, record a queued render and wake the worker; returns the render id.

        Bad parameters or inputs raise here (ParameterError, ImageError), before anything is recorded.
        """
        flt = self.registry.get(filter_id)
        content_image = images.load(content, "the photo") if content is not None else None
        style_inputs = [self._style_input(style_id) for style_id, _ in styles]
        inputs = RunInputs(content=content_image, styles=style_inputs, style_weights=[w for _, w in styles])
        checked = self.registry.check(flt.id, inputs, params)
        preset = dict(params).get("preset")
        stored = {**checked, **({"preset": preset} if preset is not None else {})}
        record = self.library.create_render(flt.id, stored, content, [(sid, w) for sid, w in styles])
        self._wake.set()
        return record.id

    def resubmit(self, render_id: int) -> int:
        """Queue a new render with the same filter, parameters, photo and styles."""
        old = self.library.get_render(render_id)
        missing = [s.style_name for s in old.styles if s.style_id is None]
        if missing:
            raise ParameterError(f"The style {missing[0]!r} of render {render_id} has been deleted.")
        content = self.library.image_bytes(old.content_image_id) if old.content_image_id else None
        return self.submit(old.filter_id, old.params, content, [(s.style_id, s.weight) for s in old.styles])

    def cancel(self, render_id: int) -> None:
        """Stop a running render (it keeps its best image so far) or drop a queued one.

        The worker takes a render from the queue under the same lock, so a render is either
        still queued here (and dropped) or already live (and told to stop), never lost between.
        """
        with self._lock:
            if self._live is not None and self._live.render_id == render_id:
                self._live.cancel.set()
                return
            record = self.library.get_render(render_id)
            if record.status == "queued":
                self.library.cancel_render(render_id)
            elif record.status == "running":
                # Running, but not in this process: its worker is gone (the app restarted).
                self.library.fail_render(render_id, "Interrupted: the app was restarted while it ran.")

    def view(self, render_id: int) -> JobView:
        record = self.library.get_render(render_id)
        with self._lock:
            live = self._live if self._live and self._live.render_id == render_id else None
        position = None
        if record.status == "queued":
            queued = [r.id for r in self.library.queued_renders()]
            position = queued.index(render_id) + 1 if render_id in queued else None
        if live is not None and live.progress is not None:
            p = live.progress
            return JobView(render_id, record.status, record.filter_id, p.step, p.total, float(p.fraction or 0.0),
                           p.elapsed, p.eta, dict(p.losses), live.preview, record.result_image_id, record.error,
                           position)
        stored = record.progress or {}
        timings = record.timings or {}
        done = record.status == "done"
        return JobView(
            render_id, record.status, record.filter_id, int(stored.get("step", 0)), int(stored.get("total", 0)),
            1.0 if done else float(stored.get("fraction", 0.0)),
            float(timings.get("seconds", stored.get("elapsed", 0.0))), None,
            dict(record.losses or stored.get("losses", {})), None,
            record.result_image_id, record.error, position,
        )

    def active(self) -> list:
        """Running and queued renders (history records), the running one first."""
        running = self.library.list_renders(limit=10, status="running")
        return running + self.library.queued_renders()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread after the current render (which is cancelled)."""
        self._stop.set()
        with self._lock:
            if self._live is not None:
                self._live.cancel.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def wait_idle(self, timeout: float = 120.0) -> bool:
        """Block until nothing is queued or running (for tests and scripts)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:  # taking a render off the queue happens under this lock too
                if self._live is None and not self.library.queued_renders():
                    return True
            time.sleep(0.05)
        return False

    # ------------------------------------------------------------------ the worker's side

    def _style_input(self, style_id: int) -> StyleInput:
        record = self.library.get_style(style_id)
        return StyleInput(self.library.style_image(style_id), record.pixel_sha256)

    def _warm_up(self) -> None:
        """Build the engine (TensorFlow, VGG19, compiled functions) before the first render needs it."""
        try:
            self.engine_provider()
        except Exception as exc:  # noqa: BLE001 - e.g. no weights yet: the first render will say so
            log.info("The engine is not ready: %s", exc)

    def _loop(self) -> None:
        if self.warm:
            self._warm_up()
        while not self._stop.is_set():
            live = None
            try:
                live = self._take()
                if live is None:
                    self._wake.wait(self.poll_seconds)
                    self._wake.clear()
                    continue
                self._run(live)
            except BaseException:  # noqa: BLE001 - whatever happens, the worker lives on
                log.exception("The render worker hit an unexpected error")
                if live is not None:
                    self._fail_quietly(live.render_id, "The render stopped on an unexpected error.")
                time.sleep(self.poll_seconds)
            finally:
                with self._lock:
                    self._live = None

    def _take(self) -> LiveState | None:
        """The oldest queued render, marked running and made live in one step (see cancel())."""
        queued = self.library.queued_renders()
        if not queued:
            return None
        with self._lock:
            try:
                self.library.start_render(queued[0].id)
            except NSTError:
                return None  # cancelled in the meantime
            self._live = LiveState(queued[0].id)
            return self._live

    def _fail_quietly(self, render_id: int, message: str) -> None:
        try:
            self.library.fail_render(render_id, message)
        except Exception:  # noqa: BLE001
            log.exception("Cannot record the failure of render %s", render_id)

    def _run(self, live: LiveState) -> None:
        record = self.library.get_render(live.render_id)
        last_write = [0.0]

        def progress(p: Progress) -> None:
            if p.image is not None:
                preview = images.thumbnail(images.to_pil(p.image), PREVIEW_SIDE)
                live.preview = images.encode(preview, "JPEG", quality=85)
            live.progress = p
            now = time.perf_counter()
            if now - last_write[0] >= PERSIST_EVERY:
                last_write[0] = now
                self._persist_progress(record.id, p)

        try:
            content = images.load(self.library.image_bytes(record.content_image_id), "the photo") \
                if record.content_image_id else None
            missing = [s.style_name for s in record.styles if s.style_id is None]
            if missing:
                raise ParameterError(f"The style {missing[0]!r} was deleted before the render started.")
            inputs = RunInputs(content=content, styles=[self._style_input(s.style_id) for s in record.styles],
                               style_weights=[s.weight for s in record.styles], cancel=live.cancel,
                               preview_every=self.preview_every, engine_provider=self.engine_provider)
            result = self.registry.run(record.filter_id, inputs, record.params, progress=progress)
            png = images.encode(result.pil(), "PNG")
            metrics = _json_safe(result.metrics)
            losses = metrics.get("losses") if isinstance(metrics.get("losses"), dict) else None
            timings = {k: v for k, v in metrics.items() if k != "losses"}
            timings.setdefault("seconds", round(time.perf_counter() - live.started, 2))
            if result.cancelled:
                self.library.cancel_render(record.id, png, losses, timings)
            else:
                self.library.finish_render(record.id, png, losses, timings)
        except Exception as exc:  # noqa: BLE001 - report it in the history, keep the worker alive
            message = str(exc) if isinstance(exc, NSTError) else f"{type(exc).__name__}: {exc}"
            log.warning("Render %s failed: %s", record.id, message)
            self._fail_quietly(record.id, message)

    def _persist_progress(self, render_id: int, p: Progress) -> None:
        try:
            self.library.update_render_progress(render_id, {
                "step": p.step, "total": p.total, "fraction": round(float(p.fraction or 0.0), 4),
                "elapsed": round(p.elapsed, 2), "losses": {k: float(v) for k, v in p.losses.items()},
            })
        except Exception:  # noqa: BLE001 - progress is best effort
            log.debug("Cannot store progress of render %s", render_id, exc_info=True)


def _json_safe(value):
    """Metrics as plain JSON values (numpy numbers become floats; the rest becomes text)."""
    return json.loads(json.dumps(value, default=lambda v: float(v) if hasattr(v, "__float__") else str(v)))
