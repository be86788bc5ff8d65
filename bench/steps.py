"""The cost of a step by image size: ``python -m bench steps``.

A coarse-to-fine render spends most of its steps on small images, where two cores are used less well.
This measures, at each scale of the ``quality`` transfer preset on a 512x384 photo (the landscape of
:mod:`bench.samples`, painted with The Starry Night of the starter collection), the median seconds of

* **bare**: a VGG19 forward and backward at that size, with the render's layers and a trivial loss;
* **step**: a step of a real one-scale render (losses, gradient, L-BFGS, progress),

and the step's cost per pixel relative to the final scale's. Each setting runs in a process of its own,
since TensorFlow's thread pools are fixed when it starts:

* ``default``: TensorFlow's own choice (both pools as wide as the machine);
* ``intra1``: one thread inside an operation, two operations at once (``TF_NUM_INTRAOP_THREADS=1``);
* ``inter1``: one operation at a time, on all cores (``TF_NUM_INTEROP_THREADS=1``);
* ``xla``: the loss and gradient through XLA (``jit_compile``), which compiles once per image size:
  that cost is paid at every scale of a render, and shows in the one-step renders timed apart.

Prints a table and writes ``steps.md`` and ``steps.json`` to ``bench/results/<time>/``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from nst.files import write_atomic

ROOT = Path(__file__).resolve().parent.parent
PAINTING = ROOT / "plugins" / "starter_collection" / "starry-night.jpg"
PHOTO_SIZE = (512, 384)
#: name -> (environment, use XLA)
SETTINGS = {
    "default": ({}, False),
    "intra1": ({"TF_NUM_INTRAOP_THREADS": "1"}, False),
    "inter1": ({"TF_NUM_INTEROP_THREADS": "1"}, False),
    "xla": ({}, True),
}


def measure(xla: bool, rounds: int, steps: int) -> dict:
    """In this process: per scale, the bare pass and our step in seconds (medians), and a one-step render's
    time (with XLA, its compilation at that size)."""
    from nst import backend, images, presets
    from bench import compare
    from bench.samples import landscape

    if xla:  # before any function is compiled: every one of them through XLA
        plain = backend.compile_value_and_grad

        def jit_value_and_grad(loss_fn, signature):
            return backend.tf.function(plain(loss_fn, signature).python_function, input_signature=signature,
                                       autograph=False, jit_compile=True)

        backend.compile_value_and_grad = jit_value_and_grad

    from nst.engine import Engine

    photo = landscape(*PHOTO_SIZE)
    painting = images.load(PAINTING)
    settings = presets.get("quality", "transfer")
    engine = Engine()
    sizes = compare.sizes_for("transfer", photo, painting, settings)
    compare.warm_up(engine, "transfer", photo, painting, [settings])
    first_calls = {}  # a one-step render at each size: with XLA, the first call at a size compiles
    for width, height in sizes:
        started = time.perf_counter()
        one = settings.replace(size=max(width, height), start_size=max(width, height), steps=1, final_steps=None)
        engine.transfer(photo, [painting], one)
        first_calls[f"{width}x{height}"] = time.perf_counter() - started
    table = compare.step_seconds(engine, "transfer", photo, painting, settings, sizes, rounds=rounds, steps=steps)
    return {"precision": engine.extractor.precision, "sizes": [list(s) for s in sizes],
            "seconds": {size: {"bare": bare, "step": step} for size, (bare, step) in table.items()},
            "first_call_seconds": first_calls}


def child(name: str, rounds: int, steps: int) -> dict:
    environment, xla = SETTINGS[name]
    env = {k: v for k, v in os.environ.items() if k not in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")}
    env.update(PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2", **environment)
    command = [sys.executable, "-m", "bench.steps", "--child", name, "--rounds", str(rounds), "--steps", str(steps)]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{name}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(results: dict[str, dict]) -> str:
    names = list(results)
    first = results[names[0]]
    final = "x".join(map(str, first["sizes"][-1]))
    pixels = {size: int(size.split("x")[0]) * int(size.split("x")[1]) for size in first["seconds"]}
    lines = [f"Seconds per step at each scale of the quality preset (512x384 photo, {first['precision']}); "
             f"per pixel: relative to {final}'s.", "",
             "| size | " + " | ".join(f"{n} bare | {n} step | {n} per pixel" for n in names) + " |",
             "|---|" + "---:|" * (3 * len(names))]
    for size in first["seconds"]:
        cells = []
        for n in names:
            row = results[n]["seconds"][size]
            per_pixel = (row["step"] / pixels[size]) / (results[n]["seconds"][final]["step"] / pixels[final])
            cells.append(f"{row['bare']:.3f} | {row['step']:.3f} | {per_pixel:.2f}x")
        lines.append(f"| {size} | " + " | ".join(cells) + " |")
    budgets = _budgets(len(first["sizes"]))
    lines += ["", "A quality render's steps at these costs (budgets " + "/".join(map(str, budgets)) + "):", ""]
    for n in names:
        seconds = sum(b * results[n]["seconds"][size]["step"] for b, size in zip(budgets, results[n]["seconds"]))
        first_calls = sum(results[n]["first_call_seconds"].values())
        lines.append(f"* {n}: {seconds:.1f} s of steps; a one-step render at each size, the first there "
                     f"(style targets, and with XLA the compilation): {first_calls:.1f} s in all")
    return "\n".join(lines)


def _budgets(count: int) -> list[int]:
    from nst import presets, pyramid

    return pyramid.step_budgets(presets.get("quality", "transfer"), count)


def run(args) -> int:
    chosen = [n.strip() for n in args.step_settings.split(",") if n.strip()]
    unknown = [n for n in chosen if n not in SETTINGS]
    if not chosen:
        print(f"error: --step-settings names none; choose from {', '.join(SETTINGS)}", file=sys.stderr)
        return 2
    if unknown:
        print(f"error: unknown setting(s) {', '.join(unknown)}; choose from {', '.join(SETTINGS)}", file=sys.stderr)
        return 2
    results = {}
    for name in chosen:
        print(f"[steps] {name}...", flush=True)
        results[name] = child(name, args.step_rounds, 6)
    text = report(results)
    print("\n" + text)
    write_atomic(args.out / "steps.json", json.dumps(results, indent=2).encode())
    write_atomic(args.out / "steps.md", (text + "\n").encode())
    print(f"Wrote {args.out / 'steps.md'}.")
    return 0


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.steps")
    parser.add_argument("--child", choices=tuple(SETTINGS), required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=6)
    args = parser.parse_args(argv)
    print(json.dumps(measure(SETTINGS[args.child][1], args.rounds, args.steps)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
