"""``python -m bench instant``: what the instant filter costs.

* **Warm**: in this process, the model loaded and the style's vector cached (as in the app after its
  first instant render): the median of ``--rounds`` stylisations per size (long side 512, 1024, 2048).
* **Cold**: ``python -m nst run instant`` in a child process, the whole command (Python start, model
  loaded and checked, the style's vector, the painting, the PNG written), with its peak RSS.

Both at the default ``detail`` (704: the network paints 384-px tiles at that long side, four for a 4:3 photo,
then the result is resized) and at ``detail`` 384 (one pass, resized). Writes ``instant.json``, ``instant.md`` and the images.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from nst import images, instant
from nst.files import write_atomic
from nst.targets import StyleInput

ROOT = Path(__file__).resolve().parent.parent
SIZES = (512, 1024, 2048)
DETAILS = (704, 384)
#: ``python -m nst ARGS``, then the process's peak RSS (its VmHWM line) on stderr.
PEAK_THEN_NST = ("import atexit, runpy, sys\n"
                 "atexit.register(lambda: sys.stderr.write([l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]))\n"
                 "sys.argv[0] = 'nst'\n"
                 "runpy.run_module('nst', run_name='__main__', alter_sys=True)\n")


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
    command = [sys.executable, "-c", PEAK_THEN_NST, "run", "instant", "--content", str(content), "--style", str(style),
               "--param", f"size={size}", "--param", f"detail={detail}", "-o", str(out), "-q"]
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2", NST_DATA_DIR=str(out.parent / "data"))
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, _ = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    stderr = child.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {stderr.strip()[-2000:]}")
    peak = [int(line.split()[1]) for line in stderr.splitlines() if line.startswith("VmHWM:")]
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(peak[-1] / 1024) if peak else None}


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
    lines = [f"## Instant: {content.name} x {style_path.name}", "",
             f"Model loaded and checked in {load_seconds:.2f} s; {os.cpu_count()} CPUs.", "",
             "| long side | detail | result | warm (s) | cold, whole command (s) | cold peak RSS |",
             "|---:|---:|---|---:|---:|---:|"]
    lines += [f"| {r['size']} | {r['detail']} | {r['result']} | {r['warm_seconds']:.2f} | {r['cold_seconds']:.2f} | "
              f"{r['cold_peak_rss_mb']} MB |" for r in rows]
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    write_atomic(args.out / "instant.json", json.dumps({"load_seconds": load_seconds, "rows": rows}, indent=2).encode())
    write_atomic(args.out / "instant.md", text.encode())
    print(f"Wrote {args.out / 'instant.md'} and the images.")
    return 0
