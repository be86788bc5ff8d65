"""Runs for the benchmark: the tutorial preset against our method, on the same objective.

Three runs per operation, in one process with one engine:

* ``tutorial``: the tutorial preset (Adam, one scale), stopped at a time budget;
* ``ours-on-tutorial-objective``: our method (projected L-BFGS, coarse-to-fine,
  our initialisation) minimising exactly the tutorial preset's loss; we note
  when its loss, at the final size, first reaches the tutorial's final loss;
* ``ours``: the default preset as users get it (its own objective).

Alongside: the median seconds per step at each size, against a bare VGG19
forward and backward at that size (same layers, same arithmetic), and the
peak resident memory of each run.
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from nst import backend, crops, presets, pyramid, terms
from nst.engine import Engine
from nst.features import preprocess
from nst.settings import Settings

#: Fields that define the objective (the result's shape, and every setting of every term of the objective,
#: as nst.terms lists them); the rest (optimizer, schedule, start) define the method.
OBJECTIVE_FIELDS = ("size", "square", "width", "height", "tileable", "stroke_scale", "crop",
                    "normalize") + terms.settings_fields()


@dataclass
class RunRecord:
    name: str
    seconds: float
    steps: int
    final_loss: float
    stop_reasons: list[str]
    curve: list[tuple[float, float, int]] = field(repr=False)  # (elapsed, loss, long side)
    step_seconds: dict[str, float] = field(default_factory=dict)  # "WxH" -> median seconds per step
    peak_rss_mb: float = 0.0
    reached_at: float | None = None  # ours-on-tutorial: when the tutorial's final loss was reached
    image: np.ndarray | None = field(default=None, repr=False)

    def as_json(self) -> dict:
        data = asdict(self)
        data.pop("image")
        return data


def reset_peak_rss() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass


def peak_rss_mb() -> float:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def tutorial_objective_with_our_method(operation: str) -> Settings:
    tutorial = presets.get("tutorial", operation)
    ours = presets.get("quality", operation)
    return ours.replace(**{name: getattr(tutorial, name) for name in OBJECTIVE_FIELDS})


def _render(engine: Engine, operation: str, content, style, settings: Settings, progress, cancel):
    if operation == "transfer":
        return engine.transfer(content, [style], settings, progress=progress, cancel=cancel)
    return engine.texture([style], settings, progress=progress, cancel=cancel)


def run(engine: Engine, name: str, operation: str, content, style, settings: Settings, *,
        budget: float | None = None, target: float | None = None, log=print) -> RunRecord:
    """One render, recording the loss curve and stopping at ``budget`` seconds.

    With ``target``, the run also stops once it has spent half as long again
    as it needed to reach ``target`` at the final size.
    """
    final_long = settings.size if operation == "transfer" or settings.width is None else max(
        sizes_for(operation, content, style, settings)[-1])
    curve: list[tuple[float, float, int]] = []
    stamps: dict[tuple[int, int], list[float]] = {}
    cancel = threading.Event()
    reached: list[float] = []
    last_log = [0.0]

    def progress(p) -> None:
        now = time.perf_counter()
        long_side = max(p.size)
        loss = p.losses["total"]
        curve.append((p.elapsed, loss, long_side))
        stamps.setdefault(p.size, []).append(now)
        if target is not None and not reached and long_side == final_long and loss <= target:
            reached.append(p.elapsed)
        if budget is not None and p.elapsed >= budget:
            cancel.set()
        if reached and p.elapsed >= 1.5 * reached[0] + 2.0:
            cancel.set()
        if now - last_log[0] > 15:
            last_log[0] = now
            log(f"  {name}: {p.elapsed:6.1f}s step {p.step} at {p.size[0]}x{p.size[1]}, loss {loss:.4g}", flush=True)

    reset_peak_rss()
    result = _render(engine, operation, content, style, settings, progress, cancel)
    step_seconds = {
        f"{w}x{h}": statistics.median(np.diff(times)) for (w, h), times in stamps.items() if len(times) > 2
    }
    record = RunRecord(name=name, seconds=result.seconds, steps=result.steps,
                       final_loss=min((l for _, l, s in curve if s == final_long), default=float("nan")),
                       stop_reasons=result.stop_reasons, curve=curve, step_seconds=step_seconds,
                       peak_rss_mb=peak_rss_mb(), reached_at=reached[0] if reached else None, image=result.image)
    return record


def step_seconds(engine: Engine, operation: str, content, style, settings: Settings, sizes,
                 rounds: int = 3, steps: int = 6) -> dict[str, tuple[float, float]]:
    """Per size, median seconds of (a bare VGG19 forward and backward, one step of ours).

    "Bare" runs the same truncated network at the same arithmetic with a trivial loss; "ours" is
    a step of a real one-scale render (losses, gradient, optimizer, progress). The two alternate,
    ``rounds`` times, so that both see the same machine.
    """
    layers = terms.layers(terms.of(settings, texture=operation == "texture"))
    model = engine.extractor.model_for(layers)

    def bare(image):
        outputs = model(preprocess(image))
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        return sum(backend.tf.reduce_mean(backend.tf.cast(o, "float32")) for o in outputs), {}

    compiled = backend.compile_value_and_grad(bare, [backend.spec([1, None, None, 3])])
    out = {}
    for width, height in sizes:
        image = backend.to_tensor(np.random.default_rng(0).random((1, height, width, 3), dtype=np.float32))
        compiled(image)
        one_scale = settings.replace(size=max(width, height), start_size=max(width, height), steps=steps,
                                     final_steps=None, tolerance=0.0,
                                     square=operation == "texture" and width == height)
        if operation == "texture" and settings.width is not None:
            one_scale = one_scale.replace(width=max(width, 128), height=max(height, 128))
        bare_times, our_times = [], []
        for _ in range(rounds):
            for _ in range(steps):
                started = time.perf_counter()
                backend.to_numpy(compiled(image)[2])
                bare_times.append(time.perf_counter() - started)
            stamps: list[float] = []
            _render(engine, operation, content, style, one_scale, lambda p: stamps.append(time.perf_counter()), None)
            our_times += list(np.diff(stamps))
        out[f"{width}x{height}"] = (statistics.median(bare_times), statistics.median(our_times))
    return out


def warm_up(engine: Engine, operation: str, content, style, settings_list) -> None:
    """Trace every compiled function once, so no run pays for another's compilation."""
    for settings in settings_list:
        tiny = settings.replace(size=64, start_size=64, steps=1, style_size=None)
        if operation == "texture" and settings.width is not None:
            tiny = tiny.replace(width=128, height=128, start_size=128, stroke_scale=0.125)
        _render(engine, operation, content, style, tiny, None, None)


def sizes_for(operation: str, content, style, settings: Settings):
    """The scales the engine runs for this render (its own plan, see nst.pyramid)."""
    if operation == "transfer":
        return list(pyramid.transfer(settings, content.size, [style.size]).sizes)
    boxes = crops.for_styles(settings.crop, [style.size])
    return list(pyramid.texture(settings, [style.size], boxes).sizes)
