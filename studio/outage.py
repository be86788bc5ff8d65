"""Something a process keeps asking (the queue, the library) stopped answering: one line, not a flood.

The queue's consumer threads ask the queue about ten times a second, a running render's heartbeat
asks the library once a second, the stale-render sweeper sweeps every two seconds. While a server is down each of
those asks fails; logging each failure filled a worker's log with a traceback every 0.1 s. An
:class:`Outage` is shared by everything in a process that asks the same thing: the first failure
logs one warning (the reason, no traceback), later failures only count, and the first success after
them logs one line saying it is back. A server that keeps flapping is reported at most once per
``quiet`` seconds.
"""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger(__name__)

#: At most one "unavailable" line per this many seconds, however often the server flaps.
QUIET_SECONDS = 60.0


def reason(exc: BaseException) -> str:
    """An exception as one short line."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


class Outage:
    """Whether ``what`` answers, as this process last saw it (see the module's docstring)."""

    def __init__(self, what: str, logger: logging.Logger | None = None, quiet: float = QUIET_SECONDS):
        self.what = what
        self.log = logger or log
        self.quiet = quiet
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._failures = 0
        self._reported = False  # the current outage was logged, so its end is too
        self._last_report = -float("inf")

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def failed(self, exc: BaseException) -> None:
        """An ask failed: log one line if this starts an outage (and none was logged lately)."""
        with self._lock:
            self._failures += 1
            if self._down_since is not None:
                self.log.debug("%s still unavailable: %s", self.what, reason(exc))
                return
            now = time.monotonic()
            self._down_since, self._failures = now, 1
            self._reported = now - self._last_report >= self.quiet
            if self._reported:
                self._last_report = now
                self.log.warning("%s is unavailable (%s); waiting for it to come back", self.what, reason(exc))
            else:
                self.log.debug("%s is unavailable again: %s", self.what, reason(exc))

    def ok(self) -> None:
        """An ask worked: log one line if this ends an outage that was logged."""
        if self._down_since is None:  # the usual case, without the lock
            return
        with self._lock:
            if self._down_since is None:
                return
            seconds, failures = time.monotonic() - self._down_since, self._failures
            self._down_since, self._failures = None, 0
            if self._reported:
                self.log.info("%s is back after %.0f s (%d failed attempts meanwhile)", self.what, seconds,
                                 failures)
