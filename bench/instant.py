"""``python -m bench instant``: what the instant filter costs.

* **Warm**: in this process, the model loaded and the style's vector cached (as in the app after its
  first instant render): the median of ``--rounds`` stylisations per size (long side 512, 1024, 2048).
* **Cold**: ``python -m nst run instant`` in a child process, the whole command (Python start, model
  loaded and checked, the style's vector, the painting, the PNG written), with its peak RSS.

Both at the default ``detail`` (704: the network paints 384-px tiles at that long side, four for a 4:3 photo,
then the result is resized) and at ``detail`` 384 (one pass, resized).

* **Judged**: on the seven reference pairs of ``python -m bench quality`` (when their photos, paintings and
  reference results are found: ``--images``, ``--references``, by default ``../shared``), the instant filter's
  512-px result (its other parameters at their defaults) beside the ``fast`` and ``quality`` presets' and the
  reference implementation's, by that benchmark's judge (:class:`bench.quality.Scorer`: the Gram distance to the
  painting, the content distance to the photo). ``fast`` paints 256 px: it is judged at its own size, as
  ``bench quality`` does, and resized to 512 px, as the other three are. ``--pairs`` takes fewer pairs.

Writes ``instant.json``, ``instant.md`` and the images.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

from nst import images, instant, presets
from nst.files import write_atomic
from nst.targets import StyleInput

from .child import nst_command

ROOT = Path(__file__).resolve().parent.parent
SIZES = (512, 1024, 2048)
DETAILS = (704, 384)
#: The long side at which the instant filter's results are judged (the reference results' size).
JUDGED_SIZE = 512
JUDGED_PRESETS = ("fast", "quality")


def warm(photo, style: StyleInput, size: int, detail: int, rounds: int) -> tuple[float, object]:
    request = instant.Request(size=size, detail=detail)
    result = instant.stylize(photo, [style], [1.0], request)  # warm-up: the vector and onnxruntime's buffers
    seconds = []
    for _ in range(rounds):
        started = time.perf_counter()
        result = instant.stylize(photo, [style], [1.0], request)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result


def cold(content: Path, style: Path, size: int, detail: int, out: Path) -> dict:
    """``python -m nst run instant`` in a child: its wall time and peak RSS (the child's own VmHWM, written at
    exit: wait4's counts the parent's pages the child had before exec)."""
    return nst_command(["run", "instant", "--content", str(content), "--style", str(style), "--param", f"size={size}",
                        "--param", f"detail={detail}", "-o", str(out), "-q"], out.parent / "data", digits=2)


def run(args) -> int:
    shared = ROOT.parent / "shared" / "images"
    content = Path(args.content or shared / "tubingen.jpg")
    style_path = Path(args.style or ROOT / "plugins" / "starter_collection" / "starry-night.jpg")
    photo, style = images.load(content), StyleInput.of(images.load(style_path))
    reason = instant.unavailable()
    if reason:
        print(reason, file=sys.stderr)
        return 2
    started = time.perf_counter()
    instant.model()
    load_seconds = time.perf_counter() - started
    rows = []
    for detail in DETAILS:
        for size in SIZES:
            print(f"[instant] {size} px, detail {detail}...", flush=True)
            seconds, result = warm(photo, style, size, detail, args.rounds)
            images.save(result, args.out / f"instant-{size}-detail{detail}.png")
            whole = cold(content, style_path, size, detail, args.out / f"instant-cold-{size}-detail{detail}.png")
            rows.append({"size": size, "detail": detail, "warm_seconds": round(seconds, 3),
                         "cold_seconds": whole["seconds"], "cold_peak_rss_mb": whole["peak_rss_mb"],
                         "result": f"{result.shape[1]}x{result.shape[0]}"})
    judged_rows = judged(args)
    lines = [f"## Instant: {content.name} x {style_path.name}", "",
             f"Model loaded and checked in {load_seconds:.2f} s; {os.cpu_count()} CPUs.", "",
             "| long side | detail | result | warm (s) | cold, whole command (s) | cold peak RSS |",
             "|---:|---:|---|---:|---:|---:|"]
    lines += [f"| {r['size']} | {r['detail']} | {r['result']} | {r['warm_seconds']:.2f} | {r['cold_seconds']:.2f} | "
              f"{r['cold_peak_rss_mb']} MB |" for r in rows]
    if judged_rows:
        lines += ["", judged_report(judged_rows)]
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    write_atomic(args.out / "instant.json", json.dumps({"load_seconds": load_seconds, "rows": rows,
                                                        "judged": judged_rows}, indent=2).encode())
    write_atomic(args.out / "instant.md", text.encode())
    print(f"Wrote {args.out / 'instant.md'} and the images.")
    return 0


def judged(args) -> list[dict]:
    """The judge's distances of the instant filter, the ``fast`` and ``quality`` presets and the reference on
    each reference pair (an empty list, said on stderr, when the pairs' files are not found)."""
    from nst.engine import Engine

    from . import quality

    image_dir = Path(getattr(args, "images", None) or quality.SHARED / "images")
    reference_dir = Path(getattr(args, "references", None) or quality.SHARED / "references")
    if not image_dir.is_dir() or not reference_dir.is_dir():
        print(f"[instant] no judged table: the reference pairs are not in {image_dir} and {reference_dir} "
              "(use --images and --references).", file=sys.stderr)
        return []
    pairs = [p for p in quality.PAIRS if not getattr(args, "pairs", None) or p[0] in args.pairs.split(",")]
    engine, scorer = Engine(), quality.Scorer()
    request = instant.Request(size=JUDGED_SIZE)
    rows = []
    for pair, photo_name, painting_name in pairs:
        print(f"[instant] judging {pair}...", flush=True)
        photo, painting = images.load(image_dir / photo_name), images.load(image_dir / painting_name)
        reference = images.to_array(images.load(reference_dir / f"{pair}.png"))
        target = scorer.painting_grams(painting, JUDGED_SIZE)
        row = {"pair": pair, "reference": _scores(scorer, reference, photo, target)}
        style = StyleInput.of(painting)
        seconds, painted = warm(photo, style, JUDGED_SIZE, request.detail, 3)  # its vector computed, as in the app
        row["instant"] = dict(_scores(scorer, painted, photo, target), seconds=seconds)
        images.save(painted, args.out / f"judged-{pair}-instant.png")
        for name in JUDGED_PRESETS:
            settings = presets.get(name, "transfer")
            started = time.perf_counter()
            result = engine.transfer(photo, painting, settings)
            seconds = time.perf_counter() - started
            own = max(result.image.shape[:2])
            grams = target if own == JUDGED_SIZE else scorer.painting_grams(painting, own)
            row[name] = dict(_scores(scorer, result.image, photo, grams), seconds=seconds)
            if own != JUDGED_SIZE:
                w, h = images.fit_long_side(result.image.shape[1], result.image.shape[0], JUDGED_SIZE)
                row[f"{name} at {JUDGED_SIZE}"] = _scores(scorer, images.resize_array(result.image, (w, h)), photo,
                                                            target)
            images.save(result.image, args.out / f"judged-{pair}-{name}.png")
        rows.append(row)
        print(f"[instant] {pair}: " + ", ".join(f"{k} {v['gram']:.3f} / {v['content']:.3f}"
                                               for k, v in row.items() if k != "pair"), flush=True)
    return rows


def _scores(scorer, pixels, photo, grams) -> dict:
    return {"gram": scorer.gram_distance(pixels, grams), "content": scorer.content_distance(pixels, photo)}


def judged_report(rows: list[dict]) -> str:
    """The judged table: each cell is Gram distance / content distance (lower is better for both), and seconds."""
    columns = [c for c in rows[0] if c != "pair"]
    lines = [f"Judged as `python -m bench quality` judges (Gram distance to the painting / content distance to the "
             f"photo, lower is better for both; the instant filter at {JUDGED_SIZE} px; seconds: the render in this "
             "process; the instant filter's: the median of three, warm):", "",
             "| pair | " + " | ".join(columns) + " |", "|---" * (1 + len(columns)) + "|"]
    for row in rows:
        cells = [row["pair"]]
        for column in columns:
            cell = row[column]
            seconds = f", {cell['seconds']:.2f} s" if "seconds" in cell else ""
            cells.append(f"{cell['gram']:.3f} / {cell['content']:.3f}{seconds}")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for column in columns:
        grams = [row[column]["gram"] for row in rows]
        contents = [row[column]["content"] for row in rows]
        lines.append(f"- **{column}**: Gram distance {min(grams):.3f} to {max(grams):.3f} (median "
                     f"{statistics.median(grams):.3f}), content {min(contents):.3f} to {max(contents):.3f} (median "
                     f"{statistics.median(contents):.3f}).")
    return "\n".join(lines)
