"""Processes that take renders from the queue: inside the app, or ``python -m nst worker`` anywhere.

A :class:`RenderThreads` is one process's consuming side: the queue with a
:class:`~studio.worker.RenderWorker` as its handler, huey's consumer with
that many worker threads, and a :class:`~studio.worker.StaleRenderSweeper`. The app
starts one with ``NST_APP_WORKERS`` threads (default 1; 0 means the app only
submits). ``python -m nst worker`` runs one per process; ``--workers N``
starts N such processes (each loads the engine once) and restarts any that dies,
after queueing its running render again. A queue that stops answering is one
log line per process when it goes and one when it is back (:mod:`studio.outage`).
A filter that ignores its time limit holds its thread for ever; renders go on in
a new one, up to :data:`MAX_STUCK_THREADS` held: then a worker process exits (its
supervisor starts a fresh one) and the app takes no more renders and says why.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import weakref
from typing import Any, Callable

from huey.consumer import Consumer, Scheduler, Worker

from nst import config

from .handoff import DECODED_PHOTOS
from .outage import Outage, reason
from .queue import RenderQueue
from .worker import RenderWorker, StaleRenderSweeper

log = logging.getLogger(__name__)

APP_WORKERS_ENV = "NST_APP_WORKERS"
#: Longest wait between two looks at an empty SQLite queue (Redis wakes a worker at once).
MAX_POLL_SECONDS = 0.1
#: Threads of one process that filters which ignored their time limit may hold (each spins or waits for
#: ever, and Python cannot end a thread). Past it the process takes no more renders: ``python -m nst worker``
#: exits with :data:`EXIT_STUCK`, so that its ``--workers`` supervisor starts a fresh one; the app says so.
MAX_STUCK_THREADS = 2
EXIT_STUCK = 3


def app_workers() -> int:
    """Render threads in the app's process (``NST_APP_WORKERS``: 0 to 8, 1 unless set)."""
    return config.value(APP_WORKERS_ENV)


class _QueueWorker(Worker):
    """huey's worker thread, whose failed reads of the queue go to the process's
    :class:`~studio.outage.Outage`: one line when the queue goes, one when it is back (huey logged a
    traceback at every try, ten a second). A message that is not a render is dropped by the queue
    itself (:mod:`studio.queue`)."""

    outage: Outage

    def loop(self, now=None) -> None:
        try:
            task = self.huey.dequeue()
        except Exception as exc:  # noqa: BLE001 - redis, sqlite3: the queue is away; try again shortly
            self.outage.failed(exc)
            self.sleep()
            return
        self.outage.ok()
        if task is None:
            if not self.huey.storage.blocking:
                self.sleep()
            return
        self.delay = self.default_delay
        self.task_count += 1
        try:
            self.huey.execute(task, now)
        except Exception:  # noqa: BLE001 - a bug in a handler; the next message is taken all the same
            log.exception("A render message could not be handled")


class _NoScheduler(Scheduler):
    """Renders are never scheduled for later, so nothing reads huey's schedule (huey's scheduler read it
    every second and logged a traceback each time the queue was away)."""

    def loop(self, now=None) -> None:
        self.stop_flag.wait(self.interval)


class _QuietConsumer(Consumer):
    """huey's consumer without signal handlers (the app's process owns its signals), whose worker threads
    report a queue outage in two lines (:class:`_QueueWorker`)."""

    worker_class = _QueueWorker
    scheduler_class = _NoScheduler

    def __init__(self, huey, *, outage: Outage, **options):
        self.outage = outage  # before huey's constructor creates the workers
        super().__init__(huey, **options)

    def _create_worker(self) -> _QueueWorker:
        worker = super()._create_worker()
        worker.outage = self.outage
        return worker

    def _set_signal_handlers(self) -> None:
        pass


class RenderThreads:
    """Consumes renders in this process: ``threads`` huey worker threads, one render worker, one
    stale-render sweeper."""

    #: Every RenderThreads started in this process (tests and shutdown hooks stop them).
    instances: "weakref.WeakSet[RenderThreads]" = weakref.WeakSet()

    def __init__(self, library, registry, engine_provider: Callable[[], Any], *, threads: int = 1,
                 queue_url: str | None = None, name: str = "app", warm: bool = True, analysis_plan=None):
        self.queue = RenderQueue(queue_url)
        self.worker = RenderWorker(library, registry, engine_provider, name=name, queue=self.queue,
                                   analysis_plan=analysis_plan)
        self.queue.handler = self.worker.run
        #: Whether the queue answers, as this process's consumer threads and stale-render sweeper last saw it.
        self.outage = Outage(f"The render queue at {self.queue.description}", log)
        self.sweeper = StaleRenderSweeper(library, self.queue, outage=self.outage)
        self.threads = threads
        self.consumer = _QuietConsumer(self.queue.huey, outage=self.outage, workers=threads, periodic=False,
                                       initial_delay=0.05,
                                       backoff=1.5, max_delay=MAX_POLL_SECONDS, check_worker_health=False,
                                       shutdown_timeout=30)
        self.worker.on_stuck = self._on_stuck
        #: Renders whose filter did not stop and holds one of our threads; at :data:`MAX_STUCK_THREADS`, why
        #: this process takes no more renders (:attr:`halted`).
        self.stuck = 0
        self.max_stuck = MAX_STUCK_THREADS
        self.halted: str | None = None
        self._stuck_lock = threading.Lock()
        self.warm = warm
        self._started = False
        RenderThreads.instances.add(self)

    def start(self) -> "RenderThreads":
        if not self._started:
            self._started = True
            DECODED_PHOTOS.open()  # submitters of this process may now leave decoded photos for these threads
            self.sweeper.start()
            self.consumer.start()
            if self.warm:
                threading.Thread(target=self.worker.warm_up, name="nst-warm-up", daemon=True).start()
        return self

    def _on_stuck(self) -> None:
        """A filter ignored its time limit and holds one of our threads: go on in a new one, or, when
        :attr:`max_stuck` threads are held, take no more renders here."""
        with self._stuck_lock:
            self.stuck += 1
            if self.halted is not None:
                return
            if self.stuck < self.max_stuck:
                self._add_worker_thread()
                return
            self.halted = (f"{self.stuck} filters did not stop at their time limit and hold this process's render "
                           f"threads, so it takes no more renders until it is restarted; queued renders wait for "
                           f"another worker (python -m nst worker).")
        log.error(self.halted)
        self.consumer.stop_flag.set()  # the other threads end after their current render; none takes another

    def _add_worker_thread(self) -> None:
        """A filter ignored its time limit and holds one of our threads: take renders on a new one."""
        worker = self.consumer._create_worker()
        thread = self.consumer._create_process(worker, f"Worker-{len(self.consumer.worker_threads) + 1}")
        self.consumer.worker_threads.append((worker, thread))
        thread.start()
        log.warning("A filter did not stop at its time limit; renders go on in a new worker thread")

    def stop(self, timeout: float = 30.0) -> None:
        """Take no new renders; a running one stops at its next step and goes back to the queue."""
        self.worker.stop()
        if self._started:
            self.consumer.shutdown_timeout = timeout
            self.consumer.stop(graceful=True)
            DECODED_PHOTOS.close()
        self.sweeper.stop()
        self._started = False

    def wait_idle(self, library, timeout: float = 120.0) -> bool:
        """Block until nothing is queued or running (for tests and scripts)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.worker.busy and not library.queued_renders() and not library.list_renders(
                    limit=1, status="running"):
                return True
            time.sleep(0.05)
        return False


def _stop_on_signals() -> list:
    """A list that becomes non-empty on SIGINT or SIGTERM. The handler only appends: setting a
    ``threading.Event`` from a signal handler can deadlock when the signal lands while the main thread
    holds the event's lock (a second SIGTERM did, and the worker never stopped)."""
    received: list[int] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda number, frame: received.append(number))
    return received


def run_one(name: str, warm: bool, analyse: bool = True) -> int:
    """``python -m nst worker --workers 1``: one consuming process, until SIGINT or SIGTERM."""
    from .assembly import assemble

    app = assemble()
    library = app.library
    render_threads = RenderThreads(library, app.registry, app.engine, threads=1, name=name, warm=warm,
                                   analysis_plan=None if analyse else ())
    render_threads.queue.check()  # an unreachable queue at start is a mistake to report, not to wait out
    render_threads.start()
    stop = _stop_on_signals()
    print(f"worker {name} (pid {os.getpid()}) takes renders from {render_threads.queue.description}; "
          f"library {library.url}", file=sys.stderr, flush=True)
    while not stop and render_threads.halted is None:
        time.sleep(0.2)
    if render_threads.halted is not None:  # its threads are held for ever: a fresh process takes its place
        print(f"worker {name}: {render_threads.halted} Exiting (status {EXIT_STUCK}) for a fresh process to take its "
              f"place (--workers N starts one).", file=sys.stderr, flush=True)
        render_threads.stop(timeout=1)
        library.close()
        return EXIT_STUCK
    print(f"worker {name}: stopping; a running render goes back to the queue", file=sys.stderr, flush=True)
    render_threads.stop()
    library.close()
    return 0


def release_renders_of(pid: int, how: str) -> list[int]:
    """A worker process of this machine exited: its running renders are taken back now (retried once,
    then failed, as the stale-render sweeper does with a silent worker's), not after the stale limit; their messages
    are sent again at once (else by a stale-render sweeper). Returns the ids taken back; [] if the library is away."""
    from .assembly import open_library

    prefix = f"{socket.gethostname()}:{pid}:"  # studio.worker.owner_name
    try:
        library = open_library()
        try:
            taken = library.recover_owned_by(prefix, f"(process {pid}) {how}")
            if any(t.status == "queued" for t in taken):
                queue = RenderQueue()
                try:
                    for t in taken:
                        if t.status == "queued":
                            queue.enqueue(t.render_id, t.priority)
                            library.mark_enqueued([t.render_id])
                finally:
                    queue.close()
        finally:
            library.close()
    except Exception as exc:  # noqa: BLE001 - the library or the queue is away: the sweepers take them back
        print(f"the renders of worker process {pid} are left to the stale-render sweepers: {reason(exc)}",
              file=sys.stderr, flush=True)
        return []
    for t in taken:
        print(f"render {t.render_id} of worker process {pid} taken back: now {t.status}", file=sys.stderr,
              flush=True)
    return [t.render_id for t in taken]


def run_many(count: int, warm: bool, analyse: bool = True) -> int:
    """``python -m nst worker --workers N``: N worker processes, each restarted if it dies."""
    probe = RenderQueue()
    probe.check()  # a queue that does not answer now is reported once, not by N children forever
    probe.close()

    def start(index: int) -> subprocess.Popen:
        command = [sys.executable, "-m", "nst", "worker", "--workers", "1", "--name", f"w{index}"]
        if not warm:
            command.append("--no-warm-up")
        if index > 1 or not analyse:  # one process analyses the plugins' styles; the others find them stored
            command.append("--no-style-analysis")
        return subprocess.Popen(command)

    children = {i: start(i) for i in range(1, count + 1)}
    stop = _stop_on_signals()
    while True:
        time.sleep(1.0)
        if stop:
            break
        for index, child in list(children.items()):
            if child.poll() is not None:
                print(f"worker w{index} exited with status {child.returncode}; starting it again",
                      file=sys.stderr, flush=True)
                release_renders_of(child.pid, f"exited with status {child.returncode}")
                children[index] = start(index)
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children.values():
        try:
            child.wait(60)
        except subprocess.TimeoutExpired:
            child.kill()
    return 0
