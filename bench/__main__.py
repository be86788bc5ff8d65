"""The benchmark: ``python -m bench [transfer|texture|all|queue|quality|textures|steps|instant|large] --content PHOTO --style PAINTING``.

``python -m bench mutants`` is the mutation check of the tests (:mod:`bench.mutants`).

Prints a table per operation and writes JSON (and the result images) to
``bench/results/``. See :mod:`bench.compare` for what is run and measured,
:mod:`bench.queue` for the render queue's costs, :mod:`bench.textures`
for seamless tiles and large textures, :mod:`bench.quality` for the presets against the reference
implementation, :mod:`bench.steps` for the cost of a step by image size, and :mod:`bench.instant` for the
instant filter's time and memory, and :mod:`bench.large` for print sizes.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

from nst import images, presets
from nst.files import write_atomic

RESULTS = Path(__file__).resolve().parent / "results"


def _fmt_seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _curve_points(curve, marks=(5, 10, 20, 30, 60, 120, 180, 240, 300, 600)):
    """The best loss at the final size by each mark (seconds), for marks within the run."""
    final = max((s for _, _, s in curve), default=0)
    end = max((t for t, _, _ in curve), default=0)
    out = {}
    for mark in marks:
        if mark > end + 1:
            break
        losses = [l for t, l, s in curve if t <= mark and s == final]
        if losses:
            out[mark] = min(losses)
    return out


def report(operation: str, records: dict, steps: dict, args) -> str:
    tutorial, ours_t, ours = records["tutorial"], records["ours-on-tutorial-objective"], records["ours"]
    lines = [f"## {operation}: {args.size_label}", ""]
    lines.append("| run | seconds | steps | best loss at final size | peak RSS |")
    lines.append("|---|---:|---:|---:|---:|")
    for rec in (tutorial, ours_t, ours):
        lines.append(f"| {rec.name} | {rec.seconds:.1f} | {rec.steps} | {rec.final_loss:.4g} | {rec.peak_rss_mb:.0f} MB |")
    lines.append("")
    if ours_t.reached_at is not None:
        speedup = tutorial.seconds / ours_t.reached_at
        lines.append(f"Our method reached the tutorial's {tutorial.seconds:.0f}-s loss ({tutorial.final_loss:.4g}) "
                     f"after {ours_t.reached_at:.1f} s: {speedup:.1f}x sooner.")
    else:
        lines.append(f"Our method did not reach the tutorial's loss ({tutorial.final_loss:.4g}) "
                     f"within {ours_t.seconds:.0f} s.")
    lines.append("")
    lines.append("Loss on the tutorial's objective, best so far at the final size:")
    lines.append("")
    marks_t, marks_o = _curve_points(tutorial.curve), _curve_points(ours_t.curve)
    marks = sorted(set(marks_t) | set(marks_o))
    lines.append("| after | " + " | ".join(f"{m} s" for m in marks) + " |")
    lines.append("|---|" + "---:|" * len(marks))
    for name, points in (("tutorial", marks_t), ("ours", marks_o)):
        lines.append(f"| {name} | " + " | ".join(f"{points[m]:.3g}" if m in points else "-" for m in marks) + " |")
    lines.append("")
    lines.append("Seconds per step (median of alternating runs; bare = VGG19 forward and backward through the "
                 "same layers; ours = losses, gradient, optimizer and progress):")
    lines.append("")
    lines.append("| size | bare VGG19 | ours | overhead | tutorial (Adam), in its run |")
    lines.append("|---|---:|---:|---:|---:|")
    for size, (seconds, mine) in steps.items():
        adam = tutorial.step_seconds.get(size)
        lines.append(f"| {size} | {seconds:.3f} | {mine:.3f} | {100 * (mine / seconds - 1):+.0f}% | "
                     f"{_fmt_seconds(adam)} |")
    lines.append("")
    return "\n".join(lines)


def bench_operation(operation: str, args, engine) -> dict:
    from . import compare

    style = images.load(args.style)
    content = images.load(args.content) if operation == "transfer" else None
    tutorial = presets.get("tutorial", operation)
    # Our schedule as users get it, but no early stop and an open budget at the final size: the run
    # goes on until it has clearly passed the tutorial's loss (or the time budget is spent).
    ours_tutorial = compare.tutorial_objective_with_our_method(operation).replace(
        final_steps=100_000, tolerance=0.0)
    ours = presets.get("quality", operation)
    print(f"[{operation}] warming up (tracing each compiled function once)...", flush=True)
    compare.warm_up(engine, operation, content, style, [tutorial, ours])

    records = {}
    print(f"[{operation}] tutorial preset, {args.budget:.0f}-s budget...", flush=True)
    records["tutorial"] = compare.run(engine, "tutorial", operation, content, style, tutorial, budget=args.budget)
    print(f"[{operation}] our method on the tutorial's objective...", flush=True)
    records["ours-on-tutorial-objective"] = compare.run(
        engine, "ours-on-tutorial-objective", operation, content, style, ours_tutorial,
        budget=args.budget, target=records["tutorial"].final_loss)
    print(f"[{operation}] the default preset...", flush=True)
    records["ours"] = compare.run(engine, "ours", operation, content, style, ours)

    print(f"[{operation}] seconds per step, ours against a bare VGG19 pass...", flush=True)
    # Each size with the objective that ran at it: the default preset's sizes with its own
    # objective, the tutorial's size with the tutorial's objective.
    steps = compare.step_seconds(engine, operation, content, style, ours,
                                 compare.sizes_for(operation, content, style, ours))
    tutorial_sizes = [size for size in compare.sizes_for(operation, content, style, tutorial)
                      if f"{size[0]}x{size[1]}" not in steps]
    steps.update(compare.step_seconds(engine, operation, content, style, ours_tutorial.replace(final_steps=None),
                                      tutorial_sizes))
    final = compare.sizes_for(operation, content, style, ours)[-1]
    args.size_label = f"{final[0]}x{final[1]}"
    for name, rec in records.items():
        images.save(rec.image, args.out / f"{operation}-{name}.png")
    text = report(operation, records, steps, args)
    return {"text": text, "records": {k: v.as_json() for k, v in records.items()},
            "step_seconds": {size: {"bare": b, "ours": o} for size, (b, o) in steps.items()}}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["mutants"]:  # its own options: see bench.mutants
        from . import mutants

        return mutants.main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("operation", choices=("transfer", "texture", "all", "queue", "quality", "textures", "steps",
                                                      "instant", "large"),
                        nargs="?", default="all")
    parser.add_argument("--content", help="photo for the transfer (e.g. a 1024x768 JPEG)")
    parser.add_argument("--style", help="painting (style image)")
    parser.add_argument("--budget", type=float, default=300.0, help="seconds for the tutorial preset (default 300)")
    parser.add_argument("--out", type=Path, default=None, help="folder for JSON and images (default bench/results/<time>)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="queue: the Redis server to measure")
    parser.add_argument("--latency-renders", type=int, default=40, help="queue: renders per latency row")
    parser.add_argument("--rounds", type=int, default=3, help="queue: 512-px renders each way")
    parser.add_argument("--parts", default="latency,cancel,throughput,render,panel",
                        help="queue: which measurements (comma-separated)")
    parser.add_argument("--images", help="quality: folder of the photos and paintings (default ../shared/images)")
    parser.add_argument("--references", help="quality: folder of the reference results (default ../shared/references)")
    parser.add_argument("--pairs", help="quality: only these pairs (comma-separated, e.g. tubingen_scream)")
    parser.add_argument("--variants", default="today,fast,quality,best",
                        help="quality: presets to run (today = the quality preset before the schedule by cost)")
    parser.add_argument("--try", dest="try_", action="append", metavar="LABEL:BASE:KEY=VALUE,...",
                        help="quality: also run a variant of a preset, e.g. coarse:quality:coarse_steps=2")
    parser.add_argument("--reach", metavar="VARIANT",
                        help="quality: the step at which each variant's image first has VARIANT's final Gram distance "
                        "(each step's image at the final size is scored)")
    parser.add_argument("--paintings", type=Path, default=None,
                        help="textures: folder of the seven paintings (default: plugins/starter_collection/ when "
                        "it exists, else ../shared/images)")
    parser.add_argument("--texture-size", type=int, default=512, help="textures: side of the seam-test textures")
    parser.add_argument("--texture-parts", default="seams,large", help="textures: seams, large, or both")
    parser.add_argument("--steps-2048", type=int, default=0,
                        help="textures: --steps for the 2048x2048 render (0: the preset's)")
    parser.add_argument("--step-settings", default="default,intra1,inter1,xla",
                        help="steps: thread and compiler settings to compare (default, intra1, inter1, xla)")
    parser.add_argument("--step-rounds", type=int, default=3, help="steps: rounds of 6 steps per size")
    parser.add_argument("--sizes", help="large: long sides to paint (comma-separated; default 1024,2048,4096)")
    parser.add_argument("--nst-arg", dest="nst_args", action="append", metavar="ARG",
                        help="large: an extra argument for python -m nst transfer (repeat it; e.g. --nst-arg=--preset)")
    args = parser.parse_args(argv)
    if args.operation == "large":
        from . import large

        args.out = args.out or RESULTS / time.strftime("large-%Y%m%d-%H%M%S")
        args.out.mkdir(parents=True, exist_ok=True)
        return large.run(args)
    if args.operation == "instant":
        from . import instant

        args.out = args.out or RESULTS / time.strftime("instant-%Y%m%d-%H%M%S")
        args.out.mkdir(parents=True, exist_ok=True)
        return instant.run(args)
    if args.operation == "steps":
        from . import steps

        args.out = args.out or RESULTS / time.strftime("steps-%Y%m%d-%H%M%S")
        args.out.mkdir(parents=True, exist_ok=True)
        return steps.run(args)
    if args.operation == "quality":
        from . import quality

        args.out = args.out or RESULTS / time.strftime("%Y%m%d-%H%M%S")
        args.out.mkdir(parents=True, exist_ok=True)
        return quality.run(args)
    if args.operation == "textures":
        from . import textures

        args.out = args.out or RESULTS / time.strftime("textures-%Y%m%d-%H%M%S")
        args.out.mkdir(parents=True, exist_ok=True)
        args.parts = args.texture_parts
        return textures.run(args)
    if args.operation == "queue":
        from . import queue

        args.out = args.out or RESULTS / time.strftime("%Y%m%d-%H%M%S")
        args.out.mkdir(parents=True, exist_ok=True)
        return queue.run(args)
    if not args.style:
        parser.error("--style is required")
    operations = ("transfer", "texture") if args.operation == "all" else (args.operation,)
    if "transfer" in operations and not args.content:
        parser.error("transfer needs --content")
    args.out = args.out or RESULTS / time.strftime("%Y%m%d-%H%M%S")
    args.out.mkdir(parents=True, exist_ok=True)

    from nst.engine import Engine

    engine = Engine()
    output = {"machine": {"platform": platform.platform(), "python": sys.version.split()[0],
                          "weights": engine.weights_description, "precision": engine.extractor.precision},
              "budget_seconds": args.budget}
    texts = []
    for operation in operations:
        result = bench_operation(operation, args, engine)
        texts.append(result.pop("text"))
        output[operation] = result
        print("\n" + texts[-1] + "\n", flush=True)
    write_atomic(args.out / "bench.json", json.dumps(output, indent=2).encode())
    write_atomic(args.out / "bench.md", ("\n\n".join(texts) + "\n").encode())
    print(f"Wrote {args.out / 'bench.json'} and the result images.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
