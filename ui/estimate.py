"""How long a render will take, before Paint: the engine's own cost model, priced on this machine.

The engine's ETA (:class:`nst.optimize.Run`) is seconds per pixel per step times the pixel-steps left;
the plan of a render (its scales and step budgets, :mod:`nst.pyramid`) is plain arithmetic on sizes.
So the expected time of a render is its pixel-steps times a price per pixel-step: the median of the
scales this library's finished renders ran (their ``timings``: sizes, steps, seconds), or, before any
render was measured here, the price ``python -m bench steps`` measured (0.76 s a step at 512x384 with
native bfloat16; about four times that in float32). A step budget is a ceiling (a scale that converges
stops early) and the first step at each size compiles, so the figure is labelled as rough.

Its expected peak memory is :mod:`nst.memory_model`'s, from the same plan; it is compared with the memory
this machine has free (the render runs here when the app has render threads, ``NST_APP_WORKERS`` > 0;
otherwise on a worker, perhaps this kind of machine, perhaps not: the warning then says what a worker needs).

Filters other than the engine's two get no estimate. :func:`expected_time` is the line the pages show
under Paint and Synthesize; the rest are plain functions.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from functools import lru_cache

import streamlit as st

from nst import memory_model
from nst.errors import NSTError

#: The engine's operation of each built-in filter that runs it (their ``OPERATION``).
OPERATIONS = {"style_transfer": "transfer", "texture_synthesis": "texture"}
#: Seconds per pixel per step when no render was measured here: ``python -m bench steps`` at 512x384.
BF16_SECONDS_PER_PIXEL_STEP = 0.76 / (512 * 384)
FLOAT32_SECONDS_PER_PIXEL_STEP = 4 * BF16_SECONDS_PER_PIXEL_STEP
#: The first step at each size compiles the loss (15.5 s over the quality preset's five sizes).
COMPILE_SECONDS_PER_SCALE = 3.0
#: Scales too small to price a step (compiling dominates them) are not used to measure one.
MIN_PIXEL_STEPS = 4 * 128 * 96
#: More pixel-steps than a render could hold (a stored figure beyond it is not a measurement).
MAX_PIXEL_STEPS = 10**15
#: A photo's shape when none is chosen yet (4:3, landscape).
DEFAULT_CONTENT = (1024, 768)


@dataclass(frozen=True)
class Estimate:
    seconds: float
    pixel_steps: int
    measured: bool  # priced from this library's renders (else from the benchmark's figure)
    renders: int  # how many renders the price comes from
    peak_bytes: int = 0  # the expected peak memory (nst.memory_model)


@lru_cache(maxsize=1)
def _native_bf16() -> bool:
    """Whether the CPU computes bfloat16 natively (as :func:`nst.backend.cpu_has_bf16`, without TensorFlow)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as handle:
            text = handle.read()
    except OSError:
        return False
    return any(flag in text.split() for flag in ("avx512_bf16", "amx_bf16"))


def price_per_pixel_step(renders) -> tuple[float, int]:
    """(seconds per pixel per step, renders measured) from finished renders' timings; (0, 0) with none."""
    rates, used = [], 0
    for render in renders:
        timings = render.timings if isinstance(render.timings, dict) else {}
        scales, steps, seconds = timings.get("scales"), timings.get("scale_steps"), timings.get("scale_seconds")
        if not (isinstance(scales, list) and isinstance(steps, list) and isinstance(seconds, list)):
            continue
        counted = False
        for size, count, took in zip(scales, steps, seconds):
            try:
                width, height = (int(side) for side in str(size)[:32].split("x"))
                work = width * height * int(count)
                took = float(took)
            except (TypeError, ValueError, OverflowError):
                continue
            if MIN_PIXEL_STEPS <= work <= MAX_PIXEL_STEPS and 0 < took < float("inf"):
                rates.append(took / work)
                counted = True
        used += counted
    return (statistics.median(rates), used) if rates else (0.0, 0)


def plan(filter_id: str, values: dict, content_size: tuple[int, int] | None, style_sizes: list[tuple[int, int]]):
    """The engine's plan (:class:`nst.pyramid.Pyramid`) of a render with these checked values, or None
    for a filter that does not run the engine (or values it would refuse)."""
    from nst import pyramid
    from nst.settings import settings_of

    operation = OPERATIONS.get(filter_id)
    if operation is None:
        return None
    styles = style_sizes or [(512, 512)]
    try:
        settings = settings_of(operation, values)
        if operation == "texture":
            return pyramid.texture(settings, styles, settings.crop or None)
        return pyramid.transfer(settings, content_size or DEFAULT_CONTENT, styles)
    except (NSTError, KeyError, TypeError, ValueError):
        return None


def estimate(filter_id: str, values: dict, content_size, style_sizes, renders) -> Estimate | None:
    """The expected seconds of a render (see the module's text), or None when there is no model for it."""
    planned = plan(filter_id, values, content_size, style_sizes)
    if planned is None:
        return None
    work = sum(w * h * steps for (w, h), steps in zip(planned.sizes, planned.steps))
    price, measured = price_per_pixel_step(renders)
    if not measured:
        price = BF16_SECONDS_PER_PIXEL_STEP if _native_bf16() else FLOAT32_SECONDS_PER_PIXEL_STEP
    seconds = work * price + COMPILE_SECONDS_PER_SCALE * len(planned.sizes)
    peak = memory_model.peak_bytes(planned.sizes, OPERATIONS[filter_id] == "texture", bool(values.get("tileable")))
    return Estimate(seconds=seconds, pixel_steps=work, measured=bool(measured), renders=measured, peak_bytes=peak)


def duration(seconds: float) -> str:
    """``seconds`` as people say it: "40 s", "3 min", "1 h 40 min"."""
    seconds = max(0.0, float(seconds))
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 90 else f"{minutes // 60} h {minutes % 60:02d} min"


def gigabytes(size: int) -> str:
    """``size`` bytes as "3.4 GB"."""
    return f"{size / memory_model.GB:.1f} GB"


def memory_warning(needed: int, available: int | None, here: bool) -> str | None:
    """What to say when a render needs more memory than this machine has free (None: it fits, or unknown).
    ``here``: renders run in this process (else on a worker)."""
    if available is None or needed <= available:
        return None
    if here:
        return (f"This render needs about {gigabytes(needed)} of memory at its peak, more than the "
                f"{gigabytes(available)} this machine has available: it would slow the machine down or fail. "
                "Choose a smaller size.")
    return (f"A worker needs about {gigabytes(needed)} of memory for this render, more than the "
            f"{gigabytes(available)} available on this machine: a worker with as little would fail. Choose a "
            "smaller size, unless the workers have more memory.")


def form_values(flt, values: dict) -> dict:
    """Every parameter's value as a render of the form's ``values`` would have it: the declared defaults,
    the chosen preset's values, then the form's (already checked: nothing is checked again here, the
    render's admission checks do that)."""
    from nst.plugin import preset_of

    resolved = {p.name: p.default for p in flt.params}
    name = values.get("preset")
    if name in flt.presets:
        resolved.update(preset_of(flt.presets[name]).values)
    resolved.update({k: v for k, v in values.items() if k != "preset"})
    return resolved


def expected_time(library, flt, values: dict, content_size=None, style_sizes=()) -> Estimate | None:
    """A caption with the render's expected time on this machine and its peak memory, a warning when it is
    past the render time limit (``NST_RENDER_TIME_LIMIT``: the render would be stopped there), and one when
    it needs more memory than this machine has available."""
    from studio.consumer import app_workers
    from studio.worker import time_limit

    if flt.id not in OPERATIONS:
        return None
    try:
        limit = time_limit()
    except NSTError:
        return None
    resolved = form_values(flt, values)
    renders = [r for r in library.list_renders(limit=30, status="done") if r.filter_id in OPERATIONS]
    found = estimate(flt.id, resolved, content_size, list(style_sizes), renders)
    if found is None:
        return None
    where = (f"priced from {found.renders} earlier render{'s' if found.renders != 1 else ''} here" if found.measured
             else "priced from the benchmark's step time; no render measured here yet")
    shape = "" if content_size or flt.id != "style_transfer" else " for a 4:3 photo"
    st.caption(f"Expected time: about {duration(found.seconds)}, peak memory about {gigabytes(found.peak_bytes)}"
               f"{shape} (a rough estimate, {where}; a scale that converges stops early; the memory as "
               "the benchmark measured it).")
    if found.seconds > limit:
        st.warning(f"This would take about {duration(found.seconds)}, past the render time limit of "
                   f"{duration(limit)}: the render would be stopped there. Choose a smaller size or fewer "
                   "steps, or a faster preset.", icon=":material/timer_off:")
    try:
        here = app_workers() > 0
    except NSTError:
        here = False
    too_much = memory_warning(found.peak_bytes, memory_model.available_bytes(), here)
    if too_much:
        st.warning(too_much, icon=":material/memory:")
    return found
