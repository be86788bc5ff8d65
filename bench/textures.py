"""``python -m bench textures``: do tileable textures tile, and what do large ones cost?

* **Seams**: for each of the seven public-domain paintings, a 512x512 texture with the default preset,
  tileable and (same seed) not; for each, the mean absolute difference across the wrap-around edges
  (last column to first, last row to first) over the mean absolute difference between neighbouring
  pixels inside it (:func:`nst.images.wrap_ratio`). About 1 means no seam; a tileable texture must
  stay at or under 1.2.
* **Large textures**: ``python -m nst texture`` itself, as a user runs it, on The Starry Night at
  1024x1024 (the whole command's time and its peak RSS) and at 2048x2048 (peak RSS; computed tile by
  tile). Each texture is also written tiled 2x2, to look at for seams and for copies of the
  painting's layout.

The paintings come from the project's starter collection (``plugins/starter_collection/``) when it
is there, else from ``--paintings DIR`` (default ``../shared/images``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from nst.files import write_atomic

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STARTER = ROOT / "plugins" / "starter_collection"
SHARED = ROOT.parent / "shared" / "images"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
#: The seven public-domain paintings, by their file names in the starter collection and in ../shared/images.
PAINTINGS = ("starry_night", "the_scream", "woman_with_a_hat", "woman-with-hat-matisse", "great_wave",
             "composition_vii", "udnie", "wreck_of_a_transport_ship", "shipwreck_of_the_minotaur")
LIMIT = 1.2


def _key(stem: str) -> str:
    return stem.lower().replace("-", "_").replace(" ", "_")


def find_paintings(folder: Path) -> list[Path]:
    """The seven paintings in ``folder`` (by file name), or every image in it when none is named so."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    named = {_key(n) for n in PAINTINGS}
    known = [p for p in files if _key(p.stem) in named]
    return known or files


def painting_folder(explicit: Path | None) -> Path:
    if explicit is not None:
        return explicit
    if STARTER.is_dir() and find_paintings(STARTER):
        return STARTER
    return SHARED


def seams(paintings: list[Path], size: int, out: Path, log=print) -> list[dict]:
    """A tileable and an ordinary texture per painting, same seed; their seam ratios."""
    from nst import images, presets
    from nst.engine import Engine

    engine = Engine()
    rows = []
    for path in paintings:
        style = images.load(path)
        row = {"painting": path.stem, "size": f"{size}x{size}"}
        for tileable in (True, False):
            settings = presets.settings("texture", {"size": f"{size}x{size}", "tileable": tileable})
            started = time.perf_counter()
            result = engine.texture([style], settings)
            seconds = time.perf_counter() - started
            label = "tileable" if tileable else "ordinary"
            row[label] = round(images.wrap_ratio(result.image), 3)
            row[f"{label}_seconds"] = round(seconds, 1)
            images.save(result.image, out / f"{path.stem}-{label}.png")
            images.save(images.tile(result.image, 2, 2), out / f"{path.stem}-{label}-2x2.png")
            log(f"  {path.stem}: {label} seam/inside {row[label]:.3f} ({seconds:.0f} s)", flush=True)
        rows.append(row)
    return rows


def command_run(style: Path, size: str, out: Path, extra: list[str]) -> dict:
    """``python -m nst texture`` in a child process: its wall time and peak RSS (from wait4)."""
    command = [sys.executable, "-m", "nst", "texture", str(style), "--size", size, "-o", str(out), "-q", *extra]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    stdout, stderr = child.stdout.read(), child.stderr.read()
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({child.returncode}): {stderr.strip()[-2000:]}")
    return {"command": "python -m nst texture STYLE --size " + size + " " + " ".join(extra), "seconds": round(seconds, 1),
            "peak_rss_mb": round(usage.ru_maxrss / 1024), "summary": stdout.strip()}


def large(style: Path, out: Path, sizes: list[str], steps_2048: int, log=print) -> list[dict]:
    from nst import images

    rows = []
    for size in sizes:
        extra = ["--steps", str(steps_2048)] if size == "2048x2048" and steps_2048 else []
        log(f"  python -m nst texture {style.name} --size {size} {' '.join(extra)}...", flush=True)
        target = out / f"{style.stem}-{size}.png"
        row = command_run(style, size, target, extra)
        picture = images.load(target, as_input=False)
        row["seam"] = round(images.wrap_ratio(images.to_array(picture)), 3)
        images.save(images.tile(images.thumbnail(picture, 1024), 2, 2), out / f"{style.stem}-{size}-2x2.png")
        rows.append({"size": size, **row})
        log(f"    {row['seconds']} s, peak RSS {row['peak_rss_mb']} MB, seam/inside {row['seam']}", flush=True)
    return rows


def report(seam_rows: list[dict], large_rows: list[dict], folder: Path) -> str:
    lines = []
    if seam_rows:
        lines += [f"Paintings from {folder}. Seam over inside (mean absolute difference across the wrap-around "
                  f"edges / between neighbouring pixels inside); at most {LIMIT} passes:", "",
                  "| painting | tileable | without tileable | tileable render |", "|---|---:|---:|---:|"]
        for row in seam_rows:
            verdict = "" if row["tileable"] <= LIMIT else " (over)"
            lines.append(f"| {row['painting']} | {row['tileable']:.2f}{verdict} | {row['ordinary']:.2f} | "
                         f"{row['tileable_seconds']:.0f} s |")
        worst = max(row["tileable"] for row in seam_rows)
        lines += ["", f"Tileable: worst {worst:.2f} ({'pass' if worst <= LIMIT else 'FAIL'}, limit {LIMIT}).", ""]
    if large_rows:
        lines += ["| `python -m nst texture`, The Starry Night | whole command | peak RSS | seam/inside |",
                  "|---|---:|---:|---:|"]
        for row in large_rows:
            lines.append(f"| `{row['command'].strip()}` | {row['seconds']:.0f} s | {row['peak_rss_mb'] / 1024:.1f} GB | "
                         f"{row['seam']:.2f} |")
        lines.append("")
    return "\n".join(lines)


def run(args) -> int:
    folder = painting_folder(args.paintings)
    if not folder.is_dir():
        where = (f"--paintings {folder} is not a folder" if args.paintings is not None else
                 f"neither {STARTER} nor {SHARED} exists")
        print(f"error: no paintings: {where}; pass --paintings DIR with the seven public-domain paintings "
              f"(listed in bench/textures.py).", file=sys.stderr)
        return 2
    paintings = find_paintings(folder)
    if not paintings:
        print(f"error: no images in {folder}; pass --paintings DIR.", file=sys.stderr)
        return 2
    parts = set(args.parts.split(","))
    starry = next((p for p in paintings if "starry" in p.stem.lower()), paintings[0])
    out: Path = args.out
    print(f"[textures] {len(paintings)} paintings from {folder}; results in {out}", flush=True)
    seam_rows = seams(paintings, args.texture_size, out) if "seams" in parts else []
    large_rows = []
    if "large" in parts:
        print("[textures] large textures, each in its own process...", flush=True)
        large_rows = large(starry, out, ["1024x1024", "2048x2048"], args.steps_2048)
    text = report(seam_rows, large_rows, folder)
    print("\n" + text)
    write_atomic(out / "textures.json", json.dumps({"seams": seam_rows, "large": large_rows}, indent=2).encode())
    write_atomic(out / "textures.md", (text + "\n").encode())
    print(f"Wrote {out / 'textures.md'} and the textures (each also tiled 2x2).")
    if seam_rows and max(row["tileable"] for row in seam_rows) > LIMIT:
        return 1
    return 0
