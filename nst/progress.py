"""What long work reports while it runs, and how it is asked to stop.

Renders and filters call a progress callback with a :class:`Progress` after
each step. Cancellation is cooperative: the caller hands over a
``threading.Event`` (or anything with ``is_set()``, or a callable returning a
bool) and the work checks it between steps, then returns its best result so far.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np


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

    def __post_init__(self) -> None:
        if self.fraction is None:
            self.fraction = min(1.0, self.step / self.total) if self.total else 0.0


ProgressCallback = Callable[[Progress], None]


def is_cancelled(cancel) -> bool:
    """True when ``cancel`` (an Event, a callable, or None) asks to stop."""
    if cancel is None:
        return False
    if hasattr(cancel, "is_set"):
        return bool(cancel.is_set())
    return bool(cancel())
