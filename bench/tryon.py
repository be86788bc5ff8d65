"""Try it on my photo: ten styles painted on one photo by the instant filter, in the app itself or through the
render queue at the highest priority. ``python -m bench.tryon``

What the Gallery does when a photo is chosen, on a fresh library of the ten styles that come with the app:

* **in the app**: for each style, its vector (the library's cache, else the predictor) and one pass of the
  network at 384 px, on the page's own thread (:mod:`ui.try_on`); cold (no vector known), then warm (the
  vectors in the library, none in memory: a restarted app);
* **queued**: ten ``instant`` renders at the queue's highest priority (``PREVIEW_PRIORITY``), taken by one
  render thread in this process, as the app's own (``NST_APP_WORKERS=1``); the time from the first submit
  until the tenth result is stored;
* both again **while a final render runs** (the default 512-px ``style_transfer``, started just before):
  queued previews go before queued finals, but not before the one already running.

Prints a table and writes ``bench/results/tryon.json``.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

RESULTS = Path(__file__).resolve().parent / "results"
STYLES = 10


def _photo() -> bytes:
    """A 1024x768 JPEG: a bright disc and bar on a dark, faintly rippled ground."""
    import io

    height, width = 768, 1024
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.stack([x / width, y / height, 0.5 + 0.5 * np.sin(x / 40) * np.cos(y / 30)], axis=-1) * 0.3
    image[(x - width / 3) ** 2 + (y - height / 2) ** 2 < (height / 3) ** 2] = [0.95, 0.9, 0.8]
    image[int(height * 0.75):, int(width * 0.65):] = [0.9, 0.9, 0.95]
    buffer = io.BytesIO()
    Image.fromarray((image * 255).astype(np.uint8)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def in_app(library, styles, photo_bytes: bytes) -> float:
    """What :func:`ui.try_on.painted` does for each card (without Streamlit's cache): seconds for all."""
    from nst import images, instant

    started = time.perf_counter()
    net = instant.model()
    photo = images.thumbnail(images.load(photo_bytes), instant.NETWORK_SIDE)
    request = instant.Request(size=instant.NETWORK_SIDE, detail=instant.NETWORK_SIDE)
    for style in styles:
        vector = instant.VECTORS.lookup(net, style.pixel_digest, lambda s=style: library.style_image(s.id))
        images.encode(instant.paint_vector(net, photo, vector, request), "JPEG", quality=90)
    return time.perf_counter() - started


def queued(library, farm, styles, photo_bytes: bytes) -> float:
    """Ten instant previews through the queue: seconds from the first submit until the last is stored."""
    from studio.queue import PREVIEW_PRIORITY

    started = time.perf_counter()
    ids = [farm.submit("instant", {"preset": "preview", "size": 384, "detail": 384}, photo_bytes,
                       [(style.id, 1.0)], priority=PREVIEW_PRIORITY) for style in styles]
    while True:
        records = [library.get_render(i) for i in ids]
        if all(r.status in ("done", "failed", "cancelled") for r in records):
            break
        time.sleep(0.05)
    assert all(r.status == "done" for r in records), [r.error for r in records]
    return time.perf_counter() - started


def _start_final(library, farm, style, photo_bytes: bytes) -> int:
    render_id = farm.submit("style_transfer", {}, photo_bytes, [(style.id, 1.0)])
    while library.get_render(render_id).status == "queued":
        time.sleep(0.05)
    return render_id


def _wait(library, render_id: int) -> None:
    while library.get_render(render_id).status in ("queued", "running"):
        time.sleep(0.2)


def main() -> int:
    folder = Path(tempfile.mkdtemp(prefix="bench-tryon-"))
    os.environ["NST_DATA_DIR"] = str(folder / "data")
    os.environ["NST_QUEUE_URL"] = f"sqlite:///{folder / 'queue.db'}"
    from db import open_library
    from db.gram_store import GramStore
    from nst import instant
    from nst.engine import Engine
    from nst.plugin import lazy
    from nst.registry import Registry
    from studio.consumer import RenderThreads
    from studio.farm import Farm
    from studio.queue import RenderQueue

    reason = instant.unavailable()
    if reason:
        print(reason)
        return 2
    library = open_library(f"sqlite:///{folder / 'library.db'}")
    registry = Registry.discover(entry_points=False)
    registry.sync_styles(library)
    styles = library.list_styles()[:STYLES]
    photo = _photo()
    instant.VECTORS.attach(GramStore(library))
    load = os.getloadavg()[0]
    results: dict = {"styles": len(styles), "load_average_at_start": load}

    instant.VECTORS.clear()
    results["in_app_cold"] = in_app(library, styles, photo)
    warm = []
    for _ in range(3):
        instant.VECTORS.clear()  # a restarted app: the vectors are in the library only
        warm.append(in_app(library, styles, photo))
    results["in_app_warm"] = statistics.median(warm)

    farm = Farm(library, registry, RenderQueue())
    render_threads = RenderThreads(library, registry, lazy(lambda: Engine(store=GramStore(library))), threads=1,
                                   warm=False)
    render_threads.start()
    try:
        queued(library, farm, styles[:1], photo)  # the render thread's first run
        results["queued_idle"] = statistics.median(queued(library, farm, styles, photo) for _ in range(3))
        final = _start_final(library, farm, styles[0], photo)  # loads VGG19 and its targets: the first is slow
        _wait(library, final)
        final = _start_final(library, farm, styles[0], photo)
        time.sleep(1.0)  # well into it
        results["in_app_during_final"] = in_app(library, styles, photo)
        _wait(library, final)
        final = _start_final(library, farm, styles[0], photo)
        time.sleep(1.0)
        results["queued_during_final"] = queued(library, farm, styles, photo)
        record = library.get_render(final)
        results["final_seconds"] = (record.finished_at - record.started_at).total_seconds()
    finally:
        render_threads.stop(timeout=120)
        library.close()
    results["load_average_at_end"] = os.getloadavg()[0]

    print(f"Ten styles on one photo (load average {load:.1f} at start, {results['load_average_at_end']:.1f} at end)")
    print("| where | queue | seconds |\n|---|---|---:|")
    for label, key in (("in the app, vectors cold", "in_app_cold"), ("in the app, vectors in the library", "in_app_warm"),
                       ("queued, highest priority", "queued_idle")):
        print(f"| {label.split(',')[0]} | {'idle' if 'queue' in key else label.split(', ')[1]} | {results[key]:.2f} |")
    print(f"| in the app | a final running | {results['in_app_during_final']:.2f} |")
    print(f"| queued, highest priority | a final running ({results['final_seconds']:.1f} s) | "
          f"{results['queued_during_final']:.2f} |")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "tryon.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
