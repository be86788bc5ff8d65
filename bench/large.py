"""``python -m bench large``: print-size transfers, whole command, one run per size.

For each long side (``--sizes``, default 1024, 2048 and 4096), ``python -m nst transfer PHOTO PAINTING
--size N`` with the default preset runs in a child process; the row gives its wall time, its peak RSS
(the child's own VmHWM, written as it exits) and the seam measure of the result: the mean step between
neighbouring pixels across the boundaries of the tiles its final scale was computed in, over the mean step
elsewhere (:func:`nst.tiling.seam_ratio`; about 1 where nothing shows), beside the same measure of the
photo resized to the result (its own edges may cross those lines). A size whose final scale is computed
whole is measured on the same grid, as a yardstick. Writes ``large.json``, ``large.md`` and the
paintings.

The photo is ``--content`` (by default Tübingen from ``../shared/images`` when it is there, else the
generated landscape of :mod:`bench.samples`), the painting ``--style`` (by default The Starry Night as the
app ships it).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from nst import images, pyramid, tiling
from nst.files import write_atomic

from .child import nst_command

ROOT = Path(__file__).resolve().parent.parent
SIZES = (1024, 2048, 4096)


def default_photo(out: Path) -> Path:
    shared = ROOT.parent / "shared" / "images" / "tubingen.jpg"
    if shared.is_file():
        return shared
    from . import samples

    path = out / "landscape.png"
    images.save(samples.landscape(1024, 768), path)
    return path


def whole_command(content: Path, style: Path, size: int, out: Path, extra: list[str]) -> dict:
    """``python -m nst transfer`` in a child: its wall time and peak RSS."""
    return nst_command(["transfer", str(content), str(style), "-o", str(out), "--size", str(size), "-q", *extra],
                       out.parent / "data")


def run(args) -> int:
    from nst import engine

    content = Path(args.content) if args.content else default_photo(args.out)
    style = Path(args.style or ROOT / "plugins" / "starter_collection" / "starry-night.jpg")
    sizes = [int(s) for s in (args.sizes or ",".join(map(str, SIZES))).split(",")]
    extra = list(args.nst_args or [])
    photo_size = images.load(content).size
    rows = []
    for size in sizes:
        print(f"[large] {size} px...", flush=True)
        out = args.out / f"large-{size}.png"
        measured = whole_command(content, style, size, out, extra)
        painted = images.to_array(images.load(out))
        final = pyramid.fit_size(photo_size[0], photo_size[1], size)
        tiled = final[0] * final[1] > engine.TRANSFER_UNTILED_MAX_PIXELS
        seam = tiling.seam_ratio(painted, engine.TRANSFER_TILE_SIDE)
        photo = images.to_array(images.resize(images.load(content), (painted.shape[1], painted.shape[0])))
        rows.append({"size": size, "result": f"{painted.shape[1]}x{painted.shape[0]}", "tiled": tiled,
                     "seam": round(seam, 3), "photo_seam": round(tiling.seam_ratio(photo, engine.TRANSFER_TILE_SIDE), 3),
                     **measured})
        print(json.dumps(rows[-1]), flush=True)
    load = os.getloadavg()
    text = report(rows, content, style, load, extra)
    print("\n" + text)
    write_atomic(args.out / "large.json", json.dumps({"rows": rows, "load_average": load, "content": str(content),
                                                       "style": str(style), "nst_args": extra}, indent=2).encode())
    write_atomic(args.out / "large.md", (text + "\n").encode())
    return 0


def report(rows, content: Path, style: Path, load, extra) -> str:
    from nst import engine

    lines = [f"Print sizes: {content.name} with {style.name}, default preset{' ' + ' '.join(extra) if extra else ''}, "
             f"whole command, one run each (load average at the end {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f}; "
             f"tiles of {engine.TRANSFER_TILE_SIDE} px above {engine.TRANSFER_UNTILED_MAX_PIXELS / 1e6:.2f} MP)", "",
             "| long side | result | final scale | time | peak RSS | seam (across / inside) | the photo's, same lines |",
             "|---:|---|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['size']} | {r['result']} | {'tiled' if r['tiled'] else 'whole'} | {r['seconds']:.1f} s | "
                     f"{r['peak_rss_mb'] / 1024:.2f} GB | {r['seam']:.3f} | {r['photo_seam']:.3f} |")
    return "\n".join(lines)


__all__ = ["run", "report", "SIZES"]
