"""What long work reports while it runs, and how it is asked to stop.

Renders and filters call a progress callback with a :class:`Progress` after
each step. Cancellation is cooperative: the caller hands over a
``threading.Event`` (or anything with ``is_set()``, or a callable returning a
bool) and the work checks it between steps, then returns its best result so far.

Inside a render, what listens to the steps is a :class:`Listener`: the caller's
callback (:class:`Callback`), and snapshots (:mod:`nst.snapshots`). Each says at
which steps it wants the image, so the render makes it only when one does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Optional, Protocol

import numpy as np

log = logging.getLogger(__name__)


@dataclass
class Progress:
    step: int  # steps done (for renders: VGG19 evaluations, over all scales)
    total: int  # steps planned (an upper bound: convergence can stop earlier)
    elapsed: float  # seconds since the work started
    scale: int = 0  # index of the current scale, from 0
    scales: int = 1  # number of scales
    size: tuple[int, int] = (0, 0)  # (width, height) being worked on
    losses: dict[str, float] = field(default_factory=dict)  # "total" and the weighted terms
    eta: float | None = None  # seconds left, estimated
    image: Optional[np.ndarray] = None  # the current image (H, W, 3) in [0, 1], now and then
    fraction: float | None = None  # of the planned work done (default: step / total)
    #: What the work does before its first step ("Measuring the style: 2 of 5 sizes"), "" once it steps;
    #: while it is set, ``fraction`` is that stage's share done.
    stage: str = ""

    def __post_init__(self) -> None:
        if self.fraction is None:
            self.fraction = min(1.0, self.step / self.total) if self.total else 0.0


ProgressCallback = Callable[[Progress], None]


class Listener(Protocol):
    """Told of every step of a render; the report carries the image at the steps it wants it."""

    def wants_image(self, step: int) -> bool: ...

    def __call__(self, report: Progress) -> None: ...


@dataclass(frozen=True)
class Callback:
    """A caller's progress callback as a listener: with the image at the first step and every
    ``preview_every`` steps (0: never). Best effort: a callback that fails is logged, and the work goes on."""

    progress: ProgressCallback
    preview_every: int = 0

    def wants_image(self, step: int) -> bool:
        return bool(self.preview_every) and (step % self.preview_every == 0 or step == 1)

    def __call__(self, report: Progress) -> None:
        try:
            self.progress(report)
        except Exception:  # noqa: BLE001
            log.warning("A progress callback failed", exc_info=True)


def is_cancelled(cancel) -> bool:
    """True when ``cancel`` (an Event, a callable, or None) asks to stop."""
    if cancel is None:
        return False
    if hasattr(cancel, "is_set"):
        return bool(cancel.is_set())
    return bool(cancel())
