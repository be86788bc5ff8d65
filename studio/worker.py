"""The worker's side of a render: claim it, prove it is alive, run its filter, store what it made.

:class:`RenderWorker` handles one queue message ("render N is ready"): it
claims the render in the library (only a queued render can be claimed, so a
second delivery of the same message does nothing), then runs the render's
filter through the plugin registry while a :class:`Lease` thread writes a
heartbeat about once a second, together with the latest progress and
preview, and reads the render's cancel flag. The render ends ``done`` (with
its image), ``cancelled`` (with the best image so far) or ``failed`` (with
the reason); a render taken back from this worker meanwhile stores nothing.

:class:`StaleRenderSweeper` runs in every process that consumes
renders: it takes back renders whose worker has been silent longer than the
stale limit (``NST_STALE_SECONDS``, default 30), queued again once and then
failed, and sends again the message of any queued render the queue lost (a
queue server restarted, a process killed between recording a render and
queueing it).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from typing import Any, Callable, Sequence

from sqlalchemy.exc import SQLAlchemyError

from db.checkpoints import CheckpointError, Checkpoints
from db.validation import DamagedRecordError
from nst import config, images
from nst.errors import NSTError, ParameterError, ResumeError
from nst.plugin import RunInputs
from nst.progress import Progress
from nst.targets import StyleInput

from .analysis import analyse_plugin_styles, default_plan
from .handoff import DECODED_PHOTOS
from .outage import Outage, reason
from .queue import QueueError, RenderQueue

log = logging.getLogger(__name__)

#: Seconds between a running render's heartbeats (progress, preview and the cancel flag travel with them).
HEARTBEAT_SECONDS = 1.0
#: A running render whose worker has been silent this long is taken back (its default, 30 s, and its least,
#: three heartbeats, are in the settings table, nst/config.py).
STALE_ENV = "NST_STALE_SECONDS"
#: Seconds between the stale-render sweeper's sweeps.
SWEEP_SECONDS = 2.0
#: A queued render whose message has been missing from the queue this long is sent again.
ORPHAN_SECONDS = 5.0
#: Long side of the live preview.
PREVIEW_SIDE = 512
#: A render running longer than this is stopped and failed (``NST_RENDER_TIME_LIMIT``, seconds; 3600 unless set).
TIME_LIMIT_ENV = "NST_RENDER_TIME_LIMIT"
DEFAULT_TIME_LIMIT = config.SETTINGS[TIME_LIMIT_ENV].default
#: Seconds a filter has to return after being told to stop, before its render is failed without it.
STOP_GRACE_SECONDS = 30.0


def stale_seconds() -> float:
    return config.value(STALE_ENV)


def time_limit() -> float:
    return config.value(TIME_LIMIT_ENV)


def owner_name(worker: str) -> str:
    """Who runs a render: host, process and worker, as the history shows it."""
    return f"{socket.gethostname()}:{os.getpid()}:{worker}"


class Lease:
    """A running render's heartbeat thread; ``cancel`` is set on Cancel, on loss, on shutdown, and when
    the render passes its time limit. A filter that has not returned ``STOP_GRACE_SECONDS`` after
    that is given up on: the render is failed with the reason and ``on_stuck`` is called, so that
    its worker can go on with other renders."""

    def __init__(self, library, render_id: int, owner: str, cancel: threading.Event, *,
                 limit: float = DEFAULT_TIME_LIMIT, on_stuck: Callable[[], None] | None = None):
        self.library = library
        self.render_id = render_id
        self.owner = owner
        self.cancel = cancel
        self.cancel_requested = False  # by a user (not by a shutdown)
        self.lost = False  # taken back by a stale-render sweeper, or given up on: store nothing
        self.limit = limit
        self.timed_out = False
        self.on_stuck = on_stuck
        self._started = time.monotonic()
        self._progress: Progress | None = None
        self._image = None
        self._sent: tuple[int, str, int] = (-1, "", -1)  # (step, stage, image serial) last written
        self._serial = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"nst-lease-{render_id}", daemon=True)

    def __enter__(self) -> "Lease":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        """No more heartbeats: called before the render's result is stored, so that no heartbeat races
        the result's write (one landing after it found the render ended and took it for taken back)."""
        self._done.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(10)

    def report(self, progress: Progress) -> None:
        """The filter's progress callback: kept here, written by the next heartbeat."""
        self._progress = progress
        if progress.image is not None:
            self._image = progress.image
            self._serial += 1

    def _beat(self) -> None:
        beats = Outage(f"The library (for the heartbeat of render {self.render_id})", log)
        while not self._done.wait(HEARTBEAT_SECONDS):
            try:
                self.beat_once()
            except Exception as exc:  # noqa: BLE001 - a database hiccup; the next beat tries again
                beats.failed(exc)
            else:
                beats.ok()
            # The clock is watched whatever the heartbeat does: a library that is down must not let a
            # render run past its time limit.
            try:
                self._watch_the_clock()
            except Exception:  # noqa: BLE001 - a bug here must not end the heartbeat thread
                log.exception("Render %s: watching its time limit failed", self.render_id)

    @property
    def limit_message(self) -> str:
        return (f"The render took longer than its time limit of {self.limit:g} s ({TIME_LIMIT_ENV}) and was "
                f"stopped.")

    def _watch_the_clock(self) -> None:
        elapsed = time.monotonic() - self._started
        if elapsed > self.limit and not self.timed_out:
            log.warning("Render %s passed its time limit of %g s; stopping it", self.render_id, self.limit)
            self.timed_out = True
            self.cancel.set()
        if self.timed_out and not self.lost and elapsed > self.limit + STOP_GRACE_SECONDS:
            log.error("Render %s did not stop %g s after its time limit; giving up on it", self.render_id,
                      STOP_GRACE_SECONDS)
            self.lost = True
            self._done.set()
            try:
                self.library.fail_render(self.render_id, self.limit_message + " Its filter did not stop when "
                                         "asked; the worker went on without it.", self.owner)
            except Exception as exc:  # noqa: BLE001 - the library is away: the stale-render sweeper takes it back later
                log.warning("Render %s could not be marked failed (%s); the stale-render sweeper will take it back",
                            self.render_id, reason(exc))
            if self.on_stuck is not None:
                self.on_stuck()

    def beat_once(self) -> None:
        p, serial = self._progress, self._serial
        progress = preview = None
        if p is not None and (p.step, p.stage, serial) != self._sent:  # a stage's reports all have step 0
            try:
                progress = progress_record(p)
                if serial != self._sent[2] and self._image is not None:
                    preview = images.encode(images.thumbnail(images.to_pil(self._image), PREVIEW_SIDE), "JPEG",
                                            quality=85)
            except Exception as exc:  # noqa: BLE001 - a filter's report the record cannot hold: the beat goes on
                log.warning("Render %s: a progress report was not written (%s: %s)", self.render_id,
                            type(exc).__name__, str(exc)[:200])
                progress = preview = None
            self._sent = (p.step, p.stage, serial)
        answer = self.library.heartbeat(self.render_id, self.owner, progress, preview)
        if answer == "cancel" and not self.cancel_requested:
            self.cancel_requested = True
            self.cancel.set()
        elif answer == "ended" and not self.lost:
            self._done.set()  # this worker stored its result already: nothing to say, nothing to beat
        elif answer == "lost" and not self.lost:
            log.warning("Render %s was taken back from %s; stopping it", self.render_id, self.owner)
            self.lost = True
            self.cancel.set()


def progress_record(p: Progress) -> dict[str, Any]:
    return {"step": p.step, "total": p.total, "fraction": round(float(p.fraction or 0.0), 4),
            "elapsed": round(p.elapsed, 2), "eta": None if p.eta is None else round(float(p.eta), 1),
            "scale": p.scale, "scales": p.scales, "size": list(p.size),
            "losses": {k: float(v) for k, v in p.losses.items()}, **({"stage": p.stage[:200]} if p.stage else {})}


class RenderWorker:
    """Runs the renders this process takes from the queue (see the module's docstring)."""

    def __init__(self, library, registry, engine_provider: Callable[[], Any], *, name: str = "worker",
                 queue: RenderQueue | None = None, preview_every: int = 3, limit: float | None = None,
                 on_stuck: Callable[[], None] | None = None, analysis_plan=None):
        self.library = library
        #: What to prepare the plugins' styles for once the engine is built (:mod:`studio.analysis`); () for nothing.
        self.analysis_plan = default_plan() if analysis_plan is None else tuple(analysis_plan)
        self.analysed = threading.Event()  # set when the warm-up (and its style analysis) has ended
        self.limit = limit if limit is not None else time_limit()
        config.value("NST_PRECISION")  # a bad one is refused as the worker starts, not at its first render
        #: Called (from a heartbeat thread) when a filter ignores its time limit and holds a worker thread.
        self.on_stuck = on_stuck
        self.registry = registry
        self.engine_provider = engine_provider
        self.name = name
        self.queue = queue
        self.preview_every = preview_every
        self._stopping = threading.Event()
        self._running: dict[int, threading.Event] = {}
        self._lock = threading.Lock()
        self._serial = 0

    # ------------------------------------------------------------------ control

    def stop(self) -> None:
        """Take no new render; running ones stop at their next step and go back to the queue."""
        self._stopping.set()
        with self._lock:
            for cancel in self._running.values():
                cancel.set()

    @property
    def busy(self) -> bool:
        with self._lock:
            return bool(self._running)

    def warm_up(self) -> None:
        """Build the engine (TensorFlow, VGG19) before the first render needs it, then analyse the styles
        plugins ship (:mod:`studio.analysis`); silent without weights."""
        try:
            engine = self.engine_provider()
            if self.analysis_plan and not self._stopping.is_set():
                analyse_plugin_styles(self.library, self.registry, engine, self.analysis_plan,
                                      stopping=self._stopping.is_set)
        except Exception as exc:  # noqa: BLE001 - e.g. no weights: each VGG render will fail with the reason
            log.info("The engine is not ready: %s", exc)
        finally:
            self.analysed.set()

    # ------------------------------------------------------------------ one render

    def run(self, render_id: int) -> str | None:
        """Claim and run one render; returns how it ended, or None if it was not ours to run."""
        if isinstance(render_id, bool) or not isinstance(render_id, int) or not 0 < render_id < 2 ** 63:
            log.warning("Ignored a queue message that names no render: %r", render_id)
            return None
        if self._stopping.is_set():
            self._send_again(render_id)  # this process is going away: leave it to another worker
            return None
        with self._lock:
            self._serial += 1
            owner = owner_name(f"{self.name}-{self._serial}")
        try:
            refused = self.library.renders.refuse_oversized(render_id)  # before anything of its row is read
            if refused:
                log.warning("Render %s failed: %s", render_id, refused)
                DECODED_PHOTOS.drop(render_id)
                return "failed"
            record = self.library.start_render(render_id, owner)
        except DamagedRecordError as exc:  # a value in its row cannot be read: fail it without reading it
            return self._fail_unreadable(render_id, str(exc))
        except NSTError as exc:  # cancelled, already taken, deleted: the message is stale
            log.info("Render %s skipped: %s", render_id, exc)
            DECODED_PHOTOS.drop(render_id)
            return None
        except SQLAlchemyError:
            raise  # the library is away: the message is redelivered (or the stale-render sweeper sends it again)
        except Exception as exc:  # noqa: BLE001 - whatever else its row holds, it must not come back forever
            return self._fail_unreadable(render_id, f"The render's stored row could not be read "
                                                    f"({type(exc).__name__}: {exc}).")
        cancel = threading.Event()
        with self._lock:
            self._running[render_id] = cancel
        try:
            with Lease(self.library, render_id, owner, cancel, limit=self.limit,
                       on_stuck=self.on_stuck) as lease:
                return self._run(record, owner, lease)
        finally:
            DECODED_PHOTOS.drop(render_id)  # its picture, if the render ended before taking it
            with self._lock:
                self._running.pop(render_id, None)

    def _fail_unreadable(self, render_id: int, reason: str) -> str | None:
        """Fail a queued render whose row cannot be read, in plain SQL, with one log line."""
        DECODED_PHOTOS.drop(render_id)
        reason = " ".join(reason.split())[:1000]
        if self.library.renders.fail_unreadable(render_id, reason):
            log.warning("Render %s failed: %s", render_id, reason)
            return "failed"
        log.info("Render %s skipped: %s", render_id, reason)  # not queued any more
        return None

    def _run(self, record, owner: str, lease: Lease) -> str:
        started = time.perf_counter()
        try:
            # Admission again (the record may have been written by anyone who can write to the database):
            # the filter, the values, the count of styles and their weights, before any image is read.
            weights = [s.weight for s in record.styles]
            admitted = self.registry.admit_stored(record.filter_id, record.params,
                                                  content=record.content_image_id is not None, style_weights=weights)
            missing = [s.style_name for s in record.styles if s.style_id is None]
            if missing:
                raise ParameterError(f"The style {missing[0]!r} was deleted before the render started.")
            content = self._photo(record) if record.content_image_id else None
            styles = [StyleInput(self.library.style_image(s.style_id), self.library.get_style(s.style_id).pixel_digest)
                      for s in record.styles]
            inputs = RunInputs(content=content, styles=styles, style_weights=weights,
                               cancel=lease.cancel, preview_every=self.preview_every,
                               engine_provider=self.engine_provider,
                               checkpoint=self._checkpointer(record.id, owner))
            inputs.resume = self._resume_point(record.id, self._scale_sizes(record.filter_id, inputs, admitted.params))
            try:
                result = self.registry.run_admitted(record.filter_id, inputs, admitted, progress=lease.report)
            except ResumeError as exc:  # a readable checkpoint that does not fit this render's scales
                if inputs.resume is None:
                    raise
                log.warning("Render %s starts over: its checkpoint does not fit it (%s)", record.id, exc)
                self._drop_checkpoint(record.id)
                inputs.resume = None
                result = self.registry.run_admitted(record.filter_id, inputs, admitted, progress=lease.report)
        except Exception as exc:  # noqa: BLE001 - reported in the history; the worker lives on
            message = str(exc) if isinstance(exc, NSTError) else f"{type(exc).__name__}: {exc}"
            message = " ".join(message.split()) or "The render failed."  # one line in the history
            return self._end(record.id, owner, lease, lambda: self.library.fail_render(record.id, message, owner),
                             "failed", message)
        if lease.lost:
            return "lost"
        if result.cancelled and lease.timed_out and not lease.cancel_requested:
            picture = result.pil()  # stored from the picture: the library encodes it once and decodes nothing
            store = lambda: self.library.fail_render(record.id, lease.limit_message, owner, picture)  # noqa: E731
            return self._end(record.id, owner, lease, store, "failed", lease.limit_message)
        if result.cancelled and not lease.cancel_requested and self._stopping.is_set():
            lease.stop()
            if lease.lost:
                return "lost"
            if self.library.release_render(record.id, owner, "its worker was shutting down"):
                self._send_again(record.id)
            return "released"
        picture = result.pil()  # stored from the picture: the library encodes it once and decodes nothing
        metrics = json_safe(result.metrics)
        losses = metrics.get("losses") if isinstance(metrics.get("losses"), dict) else None
        timings = {k: v for k, v in metrics.items() if k != "losses"}
        timings.setdefault("seconds", round(time.perf_counter() - started, 2))
        if result.cancelled:
            store = lambda: self.library.cancel_render(record.id, picture, losses, timings, owner=owner)  # noqa: E731
            return self._end(record.id, owner, lease, store, "cancelled")
        store = lambda: self.library.finish_render(record.id, picture, losses, timings, owner=owner)  # noqa: E731
        return self._end(record.id, owner, lease, store, "done")

    @property
    def checkpoints(self) -> Checkpoints:
        return Checkpoints(self.library.unit_of_work)

    def _checkpointer(self, render_id: int, owner: str) -> Callable[[int, Any], None]:
        """Stores each finished scale's image of a render that has scales (a retry resumes there)."""
        def store(scale: int, image) -> None:
            try:
                self.checkpoints.save(render_id, owner, scale, image)
            except Exception as exc:  # noqa: BLE001 - the library is away: the render goes on without it
                log.warning("Render %s: its image after scale %s was not stored (%s)", render_id, scale, reason(exc))

        return store

    def _scale_sizes(self, filter_id: str, inputs: RunInputs, params) -> Sequence[tuple[int, int]] | None:
        """The render's size at each scale, as its filter plans them (None: it has no scales, or cannot say)."""
        try:
            return self.registry.get(filter_id).scale_sizes(inputs, params)
        except Exception as exc:  # noqa: BLE001 - a plugin's fault: the render runs, from the start
            log.info("The filter %s could not say its scales (%s); no checkpoint is resumed", filter_id,
                     reason(exc))
            return None

    def _resume_point(self, render_id: int, sizes: Sequence[tuple[int, int]] | None):
        """``(scale, image)`` from an earlier attempt's checkpoint, or None; a checkpoint that cannot be used
        (one that does not declare the size of a scale of ``sizes``, the render's plan, is not even decoded)
        is dropped with one log line, and the render starts over. A render without scales (``sizes`` None)
        resumes nothing."""
        if sizes is None:
            return None
        try:
            found = self.checkpoints.latest(render_id, sizes)
        except CheckpointError as exc:
            log.warning("Render %s starts over: %s", render_id, exc)
            self._drop_checkpoint(render_id)
            return None
        except Exception as exc:  # noqa: BLE001 - the library is away: the render starts over
            log.warning("Render %s starts over: its checkpoint could not be read (%s)", render_id, reason(exc))
            return None
        if found is None:
            return None
        log.info("Render %s resumes after scale %s", render_id, found.scale)
        return found.scale, found.image

    def _drop_checkpoint(self, render_id: int) -> None:
        try:
            self.checkpoints.drop(render_id)
        except Exception as exc:  # noqa: BLE001 - left for the render's deletion or the next attempt
            log.info("Render %s: its checkpoint was not deleted (%s)", render_id, reason(exc))

    def _photo(self, record):
        """The render's photo: the picture its submitter in this process decoded, else the stored image."""
        picture = DECODED_PHOTOS.take(record.id)
        if picture is not None:
            return picture
        return images.load(self.library.image_bytes(record.content_image_id), "the photo")

    def _end(self, render_id: int, owner: str, lease: Lease, store: Callable[[], Any], status: str,
             message: str | None = None) -> str:
        lease.stop()  # before the result is stored: a heartbeat after it would find the render ended
        if lease.lost:
            return "lost"
        if message:
            log.warning("Render %s failed: %s", render_id, message)
        try:
            store()
            self._drop_checkpoint(render_id)  # the render ended: nothing resumes it
        except NSTError as exc:  # taken back meanwhile, or the result itself was refused
            log.warning("Render %s: %s", render_id, exc)
            if status == "failed":
                return "lost"
            try:
                self.library.fail_render(render_id, f"The result could not be stored: {exc}", owner)
            except NSTError:
                return "lost"
            return "failed"
        return status

    def _send_again(self, render_id: int) -> None:
        if self.queue is None:
            return
        try:
            record = self.library.get_render(render_id)
            self.queue.enqueue(render_id, record.priority)
            self.library.mark_enqueued([render_id])
        except NSTError as exc:
            log.info("Render %s not sent again now (%s); the stale-render sweeper will", render_id, exc)


class StaleRenderSweeper:
    """Takes back renders from silent workers and re-sends lost messages; a thread per consuming process."""

    def __init__(self, library, queue: RenderQueue, *, stale: float | None = None, every: float = SWEEP_SECONDS,
                 orphan_after: float = ORPHAN_SECONDS, outage: Outage | None = None):
        self.library = library
        self.queue = queue
        #: The queue's state as this process sees it (shared with its consumer threads): one line per outage.
        self.outage = outage or Outage(f"The render queue at {queue.description}", log)
        self._sweeps = Outage("The library (for the stale-render sweep)", log)
        self.stale = stale if stale is not None else stale_seconds()
        self.every = every
        self.orphan_after = orphan_after
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="nst-stale-render-sweeper", daemon=True)

    def start(self) -> "StaleRenderSweeper":
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            try:
                self.sweep()
            except Exception as exc:  # noqa: BLE001 - the database is away; sweep again later
                log.debug("The stale-render sweep failed", exc_info=True)
                self._sweeps.failed(exc)
            else:
                self._sweeps.ok()
            if self._stop.wait(self.every):
                return

    def sweep(self) -> dict[str, list[int]]:
        """One pass: returns the ids retried, failed or cancelled, and the ids whose message was re-sent."""
        report: dict[str, list[int]] = {"queued": [], "failed": [], "cancelled": [], "resent": []}
        for taken in self.library.recover_stale(self.stale):
            report[taken.status].append(taken.render_id)
            log.warning("Render %s taken back from a silent worker: now %s", taken.render_id, taken.status)
        candidates = self.library.renders_to_enqueue(self.orphan_after)
        if candidates:
            try:
                waiting = self.queue.pending_ids()
            except QueueError as exc:  # lost messages are sent when it is back
                self.outage.failed(exc)
                return report
            self.outage.ok()
            for record in candidates:
                if record.id in waiting:
                    continue
                try:
                    self.queue.enqueue(record.id, record.priority)
                except QueueError as exc:
                    self.outage.failed(exc)
                    break
                self.library.mark_enqueued([record.id])
                report["resent"].append(record.id)
        return report


def json_safe(value):
    """Metrics as plain JSON values (numpy numbers become floats; the rest becomes text)."""
    return json.loads(json.dumps(value, default=lambda v: float(v) if hasattr(v, "__float__") else str(v)))
