"""The optimization loop: L-BFGS-B or Adam on pixels in [0, 1], with progress and control.

One :class:`Run` spans every scale of a render. It counts evaluations (one VGG
forward and backward each, the unit of cost), keeps the loss history and the
best image of the current scale, reports :class:`Progress` to its listeners
(the caller's callback, snapshots), and stops a scale on a budget, on
convergence, or on cancellation. Cancellation is cooperative: it is checked
before every evaluation, and the best image so far is kept.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from . import history as history_vectors
from .errors import ParameterError
from .progress import Listener, Progress, is_cancelled

#: ``fun(image) -> (loss, terms, gradient)``; image and gradient shaped (H, W, 3).
Objective = Callable[[np.ndarray], tuple[float, dict[str, float], np.ndarray]]


class Cancelled(Exception):
    """Raised inside the loop to unwind an optimizer; never escapes :class:`Run`."""


class _ScaleDone(Exception):
    """The current scale's budget is spent."""


class NonFinite(Exception):
    """The loss or its gradient is not finite."""


@dataclass
class ScalePlan:
    size: tuple[int, int]  # (width, height)
    steps: int  # evaluation budget


@dataclass
class Run:
    """State shared by the scales of one render."""

    plans: list[ScalePlan]
    listeners: Sequence[Listener] = ()  # told of every step, in this order
    cancel: object = None
    postprocess: Callable[[np.ndarray], np.ndarray] | None = None  # applied to the image listeners get
    step: int = 0
    scale: int = 0
    history: list[tuple[int, float, float]] = field(default_factory=list)  # (step, elapsed, loss)
    last_terms: dict[str, float] = field(default_factory=dict)
    best_terms: dict[str, float] = field(default_factory=dict)  # the terms of the best image so far
    cancelled: bool = False
    stop_reasons: list[str] = field(default_factory=list)
    scale_seconds: list[float] = field(default_factory=list)
    scale_steps: list[int] = field(default_factory=list)
    start: float = field(default_factory=time.perf_counter)
    _best: tuple[float, np.ndarray | None] = (np.inf, None)
    #: The last L-BFGS scale's curvature pairs (its image shape, s and y), which the next scale may resume.
    curvature: tuple[tuple[int, ...], list[np.ndarray], list[np.ndarray]] | None = None
    _seconds_per_pixel: float | None = None
    _scale_first_step: int = 0

    @property
    def total(self) -> int:
        """Steps done in finished scales plus those planned from the current one."""
        return self._scale_first_step + sum(p.steps for p in self.plans[self.scale:])

    def _fraction(self) -> float:
        def work(plan: ScalePlan, steps: int) -> float:
            return steps * plan.size[0] * plan.size[1]

        done = sum(work(p, n) for p, n in zip(self.plans, self.scale_steps))
        current = work(self.plans[self.scale], self.step - self._scale_first_step)
        left = sum(work(p, p.steps) for p in self.plans[self.scale:])
        return min(1.0, (done + current) / max(done + left, 1.0))

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def resumed(self, done: int) -> None:
        """The first ``done`` scales were finished by an earlier attempt: count their planned steps as taken,
        so the progress and the estimate cover the whole render."""
        for plan in self.plans[:done]:
            self.step += plan.steps
            self.stop_reasons.append("resumed")
            self.scale_seconds.append(0.0)
            self.scale_steps.append(plan.steps)
        self.scale = min(done, len(self.plans) - 1)
        self._scale_first_step = self.step

    # ------------------------------------------------------------------ evaluation

    def evaluate(self, fun: Objective, image: np.ndarray, budget_end: int):
        if is_cancelled(self.cancel):
            self.cancelled = True
            raise Cancelled()
        if self.step >= budget_end:
            raise _ScaleDone()
        started = time.perf_counter()
        loss, terms, grad = fun(image)
        took = time.perf_counter() - started
        width, height = self.plans[self.scale].size
        rate = took / (width * height)
        if self.step > 0:  # the very first evaluation includes compiling; it would inflate the ETA
            self._seconds_per_pixel = rate if self._seconds_per_pixel is None else (
                0.8 * self._seconds_per_pixel + 0.2 * rate)
        self.step += 1
        if not np.isfinite(loss) or not np.all(np.isfinite(grad)):
            raise NonFinite()
        terms = dict(terms, total=loss)
        if loss < self._best[0]:
            # Kept, not copied (150 MB at 4096x3072 px): the optimizers never write into an image once it
            # is evaluated (each step makes a new one), and L-BFGS's best image is its current one.
            self._best = (loss, image)
            self.best_terms = terms
        self.last_terms = terms
        self.history.append((self.step, self.elapsed, loss))
        self._report(image)
        return loss, grad

    def _eta(self) -> float | None:
        if self._seconds_per_pixel is None:
            return None
        left = self.plans[self.scale].steps - (self.step - self._scale_first_step)
        pixels = max(0, left) * self.plans[self.scale].size[0] * self.plans[self.scale].size[1]
        pixels += sum(p.steps * p.size[0] * p.size[1] for p in self.plans[self.scale + 1:])
        return pixels * self._seconds_per_pixel

    def _report(self, image: np.ndarray) -> None:
        if not self.listeners:
            return
        wanted = [listener.wants_image(self.step) for listener in self.listeners]
        shown = None
        if any(wanted):
            shown = self.postprocess(image) if self.postprocess else image
        report = Progress(
            step=self.step, total=self.total, elapsed=self.elapsed, scale=self.scale,
            scales=len(self.plans), size=self.plans[self.scale].size, losses=dict(self.last_terms),
            eta=self._eta(), fraction=self._fraction(),
        )
        for listener, wants in zip(self.listeners, wanted):
            listener(dataclasses.replace(report, image=shown) if wants else report)

    # ------------------------------------------------------------------ one scale

    def run_scale(self, index: int, fun: Objective, x0: np.ndarray, optimizer: "OptimizerSettings",
                  half_history: bool = False) -> np.ndarray:
        """Optimize one scale from ``x0``; returns the best image found at this scale. ``half_history``:
        L-BFGS keeps its curvature pairs in float16 (:mod:`nst.history`; the print sizes' tiled scales)."""
        self.scale = index
        self._best = (np.inf, None)
        started, first_step = time.perf_counter(), self.step
        self._scale_first_step = first_step
        budget_end = first_step + self.plans[index].steps  # steps a scale saves by converging are not spent later
        reason = "budget"
        try:
            if optimizer.method == "lbfgs":
                reason = _lbfgs(self, fun, x0, budget_end, optimizer, half_history)
            else:
                reason = _adam(self, fun, x0, budget_end, optimizer)
        except _ScaleDone:
            reason = "budget"
        except Cancelled:
            reason = "cancelled"
        except NonFinite:
            if self._best[1] is None:
                raise ParameterError(
                    "The loss is not a finite number at the start (an image may be too small at this size, "
                    "or a weight too large); try a larger size or style scale, or smaller weights."
                ) from None
            reason = "non-finite"  # keep the best image found before the numbers broke down
        self.stop_reasons.append(reason)
        self.scale_seconds.append(time.perf_counter() - started)
        self.scale_steps.append(self.step - first_step)
        best = self._best[1]
        return x0 if best is None else best


@dataclass(frozen=True)
class OptimizerSettings:
    method: str = "lbfgs"  # "lbfgs" or "adam"
    history: int = 20  # L-BFGS memory
    tolerance: float = 1e-3  # stop a scale when the loss falls by less than this (relative) per step
    patience: int = 5  # ...averaged over this many steps
    lr: float = 0.02  # Adam
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    # L-BFGS: each scale starts from the previous scale's curvature pairs, resampled to its size, instead of
    # a cautious gradient step with no memory (a scale with few steps spends several of them finding its feet).
    carry: bool = False


def _converged(losses: list[float], settings: OptimizerSettings) -> bool:
    window = settings.patience
    if settings.tolerance <= 0 or len(losses) <= max(window, MIN_STEPS_BEFORE_CONVERGENCE):
        return False
    old, new = losses[-window - 1], losses[-1]
    return (old - new) <= settings.tolerance * window * abs(new)


#: The first L-BFGS step (before any curvature is known) moves no pixel further than this.
FIRST_STEP = 0.15
#: Memory allowed for the L-BFGS history (at 512 x 384 px, 20 steps take 94 MB).
HISTORY_BYTES = 400 * 1024 * 1024
#: Step halvings tried before the curvature memory is reset (or, right after a reset, the scale stops).
MAX_HALVINGS = 8
#: No scale is declared converged before this many accepted steps (early steps can be slow).
MIN_STEPS_BEFORE_CONVERGENCE = 10


def _lbfgs(run: Run, fun: Objective, x0: np.ndarray, budget_end: int, settings: OptimizerSettings,
           half: bool = False) -> str:
    """Projected L-BFGS on the box [0, 1].

    The two-loop recursion gives the direction; pixels held at a bound by the
    gradient are kept out of it, and the step is clipped to the box. The unit
    step is tried first and halved while the loss does not decrease. All
    vectors stay float32, so an iteration costs little next to one VGG pass.
    (scipy's L-BFGS-B, in float64, spends about ten times as long per iteration
    on its bound handling: docs/how-it-works.md gives the measurement.) With
    ``half`` the curvature pairs are kept in float16 (:mod:`nst.history`).

    At print sizes each copy of the image is 150 MB, so the loop makes none it
    does not need: the previous scale's pairs are let go as they are resampled,
    the direction and the candidate are computed in place, and what the
    objective's evaluation does not need is freed before it.
    """
    x = np.ascontiguousarray(x0, dtype=np.float32).reshape(-1)  # not a copy: the loop never writes into x
    shape = x0.shape
    # Each remembered step costs two float32 vectors; keep the memory under HISTORY_BYTES.
    history = max(3, min(settings.history, HISTORY_BYTES // (8 * x.size)))

    def evaluate(vector: np.ndarray) -> tuple[float, np.ndarray]:
        loss, grad = run.evaluate(fun, vector.reshape(shape), budget_end)
        return float(loss), np.asarray(grad, dtype=np.float32).ravel()

    s_hist: list = []
    y_hist: list = []
    rho_hist: list[float] = []
    previous, run.curvature = run.curvature, None  # the previous scale's pairs go as they are resampled
    if settings.carry and previous is not None:
        s_hist, y_hist, rho_hist = _resampled_pairs(previous, shape, history, half)
    del previous
    try:
        return _lbfgs_loop(run, evaluate, x, s_hist, y_hist, rho_hist, history, settings, half)
    finally:
        run.curvature = (shape, s_hist, y_hist) if settings.carry else None


def _lbfgs_loop(run: Run, evaluate, x: np.ndarray, s_hist: list, y_hist: list, rho_hist: list, history: int,
                settings: OptimizerSettings, half: bool = False) -> str:
    loss, grad = evaluate(x)
    accepted = [loss]
    first = not s_hist
    while True:
        pinned = ((x <= 0.0) & (grad > 0)) | ((x >= 1.0) & (grad < 0))
        direction = np.where(pinned, np.float32(0.0), grad)
        _two_loop(direction, s_hist, y_hist, rho_hist, in_place=True)
        np.negative(direction, out=direction)
        direction[pinned] = 0.0
        slope = float(np.dot(grad, direction))
        if not slope < 0:  # not a descent direction: forget the curvature and follow the gradient
            s_hist.clear(), y_hist.clear(), rho_hist.clear()
            np.negative(grad, out=direction)
            direction[pinned] = 0.0
            slope = float(np.dot(grad, direction))
            first = True
            if not slope < 0:
                return "converged"  # every pixel is pinned at a bound by its gradient
        del pinned
        step = 1.0
        if first:
            # No curvature yet: move no pixel by more than FIRST_STEP.
            step = FIRST_STEP / max(float(np.abs(direction).max()), 1e-12)
        candidate = new_grad = None
        for _attempt in range(MAX_HALVINGS):
            candidate = new_grad = None  # a refused candidate goes before the next is made
            candidate = np.multiply(direction, step, dtype=np.float32)
            candidate += x
            np.clip(candidate, 0.0, 1.0, out=candidate)
            new_loss, new_grad = evaluate(candidate)
            if new_loss < loss:
                break
            step *= 0.25 if first else 0.5
        else:
            if first:
                return "stalled"  # no decrease even along the gradient at tiny steps
            s_hist.clear(), y_hist.clear(), rho_hist.clear()
            first = True
            continue
        s = history_vectors.difference(candidate, x, half)
        y = history_vectors.difference(new_grad, grad, half)
        sy = history_vectors.dot(s, y)
        if sy > 1e-10 * history_vectors.dot(y, y):
            if len(s_hist) >= history:
                s_hist.pop(0), y_hist.pop(0), rho_hist.pop(0)
            s_hist.append(s), y_hist.append(y), rho_hist.append(1.0 / sy)
        del s, y
        x, loss, grad = candidate, new_loss, new_grad
        first = False
        accepted.append(loss)
        if _converged(accepted, settings):
            return "converged"


def _resampled_pairs(curvature, shape: tuple[int, ...], history: int, half: bool = False):
    """The previous scale's curvature pairs at this scale's image ``shape``: each displacement ``s`` resized
    like the image, each gradient change ``y`` resized and divided by the growth in pixels (every loss term
    is a mean over positions, so a pixel's gradient shrinks as the pixels multiply). Pairs that lose their
    positive curvature in the resampling are dropped. The old pairs are taken out of ``curvature``'s lists
    as they are resampled (with ``half`` the new ones are kept in float16)."""
    from .images import resize_array

    old_shape, s_old, y_old = curvature
    if len(old_shape) != 3 or len(shape) != 3 or not s_old:
        return [], [], []
    size = (shape[1], shape[0])
    growth = (shape[0] * shape[1]) / (old_shape[0] * old_shape[1])
    del s_old[:-history], y_old[:-history]
    s_hist, y_hist, rho_hist = [], [], []
    while s_old:
        s, y = history_vectors.full(s_old.pop(0)), history_vectors.full(y_old.pop(0))
        s_new = resize_array(s.reshape(old_shape), size).ravel()
        y_new = (resize_array(y.reshape(old_shape), size) / np.float32(growth)).ravel()
        del s, y
        if half:
            s_new, y_new = history_vectors.Half.of(s_new), history_vectors.Half.of(y_new)
        sy = history_vectors.dot(s_new, y_new)
        if sy > 1e-10 * history_vectors.dot(y_new, y_new):
            s_hist.append(s_new), y_hist.append(y_new), rho_hist.append(1.0 / sy)
    return s_hist, y_hist, rho_hist


def _two_loop(grad: np.ndarray, s_hist, y_hist, rho_hist, in_place: bool = False) -> np.ndarray:
    """L-BFGS two-loop recursion: an approximation of H^-1 grad (computed over ``grad`` with
    ``in_place``). The pairs' vectors are float32 or :class:`nst.history.Half`."""
    q = grad if in_place else grad.copy()
    alphas = []
    for s, y, rho in zip(reversed(s_hist), reversed(y_hist), reversed(rho_hist)):
        alpha = rho * history_vectors.dot(s, q)
        history_vectors.add_scaled(q, -alpha, y)
        alphas.append(alpha)
    if s_hist:
        s, y = s_hist[-1], y_hist[-1]
        q *= np.float32(history_vectors.dot(s, y) / history_vectors.dot(y, y))
    for (s, y, rho), alpha in zip(zip(s_hist, y_hist, rho_hist), reversed(alphas)):
        beta = rho * history_vectors.dot(y, q)
        history_vectors.add_scaled(q, alpha - beta, s)
    return q


def _adam(run: Run, fun: Objective, x0: np.ndarray, budget_end: int, settings: OptimizerSettings) -> str:
    x = x0.astype(np.float32).copy()
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    b1, b2 = settings.beta1, settings.beta2
    losses: list[float] = []
    t = 0
    while True:  # ends with _ScaleDone (budget), Cancelled, or convergence
        loss, grad = run.evaluate(fun, x, budget_end)
        losses.append(loss)
        if _converged(losses, settings):
            return "converged"
        t += 1
        m = b1 * m + (1 - b1) * grad
        v = b2 * v + (1 - b2) * grad * grad
        m_hat = m / (1 - b1 ** t)
        v_hat = v / (1 - b2 ** t)
        x = np.clip(x - settings.lr * m_hat / (np.sqrt(v_hat) + settings.epsilon), 0.0, 1.0).astype(np.float32)
