"""A render's peak memory (the whole process' peak RSS) from its plan, and the memory this machine has free.

``python -m bench large`` (the whole ``python -m nst transfer`` command in a child, its VmHWM; Tübingen,
1024x768, with The Starry Night, the default preset) on the 2-core AMD EPYC with AVX512-BF16, 2 December
2026, after the print-size memory work (docs/print-size.md; the 512-px row is the same command run alone,
1,281,884 kB; the 4096-px row is ``--steps 1``: with the preset's steps its final scale also holds its own
L-BFGS pairs, about 0.4 GB more by the 2048-px rows' difference scaled by the pixels), as :data:`MEASURED`,
in GiB as the benchmark counts them:

=========  =========================  ===================  ========
result     largest scale, whole       largest tiled scale  peak RSS
=========  =========================  ===================  ========
512x384    512x384                    none                 1.22 GB
1024x768   1024x768                   none                 2.34 GB
2048x1536  1024x768                   2048x1536            2.68 GB
4096x3072  1024x768                   4096x3072            3.66 GB
=========  =========================  ===================  ========

Piecewise linear in megapixels: a base (Python, TensorFlow, VGG19's weights), a cost per megapixel of
the largest scale computed whole (VGG19's activations, forward and backward), and a smaller one per
megapixel of the largest scale computed tile by tile (one window at a time goes through VGG19; what
grows is numpy's: the image, its gradient and the optimizer's vectors, the photo's features, the L-BFGS
history). A print size computes its 1024x768 scale whole before the tiled ones and the allocator keeps
what that pass took, so the two add up. The constants are the line through the two whole rows and the
least-squares slope of the tiled rows over it; after a new benchmark, update :data:`MEASURED` and them
(a test checks that the model is within 15% of every row).

The figures are bfloat16's. A float32 machine peaked higher (a 1024x1024 texture: 6.7 GB against 2.7 GB,
docs/benchmarks.md); textures (no photo features) measured lower than this model gives (2.7 GB at
1024x1024 whole, 3.7 GB at 2048x2048 tiled, where it says 3.1 and 4.3 GB): a conservative figure.

Plain arithmetic (no TensorFlow), for the pages; which scales are tiled is the engine's rule
(``nst.engine``'s thresholds, repeated here, a test checks they agree).
"""

from __future__ import annotations

import os
from typing import Sequence

#: The benchmark counts in binary units (VmHWM kB / 1024 / 1024): its "GB" and the pages' are GiB.
GB = 2**30
MP = 1e6
#: (width, height) of the result -> peak RSS in GB, each a transfer as described above.
MEASURED = {(512, 384): 1.22, (1024, 768): 2.34, (2048, 1536): 2.68, (4096, 3072): 3.66}
#: Python, TensorFlow and VGG19's weights, in GB.
BASE_GB = 0.846
#: GB per megapixel of the largest scale computed whole (VGG19's pass).
WHOLE_GB_PER_MP = 1.902
#: GB per megapixel of the largest scale computed tile by tile (the numpy side).
TILED_GB_PER_MP = 0.105
#: Above these many pixels a scale is computed tile by tile (``nst.engine.TRANSFER_UNTILED_MAX_PIXELS``,
#: and ``UNTILED_MAX_PIXELS`` for a tileable texture; an ordinary texture is always computed whole).
TRANSFER_WHOLE_MAX_PIXELS = 1024 * 768
TILEABLE_WHOLE_MAX_PIXELS = 1024 * 1024


def whole_max_pixels(texture: bool, tileable: bool) -> float:
    """The most pixels a scale of such a render is computed whole at (above: tile by tile)."""
    if not texture:
        return TRANSFER_WHOLE_MAX_PIXELS
    return TILEABLE_WHOLE_MAX_PIXELS if tileable else float("inf")


def peak_bytes(sizes: Sequence[tuple[int, int]], texture: bool = False, tileable: bool = False) -> int:
    """The expected peak RSS of a render whose scales are ``sizes`` (width, height), in bytes."""
    limit = whole_max_pixels(texture, tileable)
    pixels = [w * h for w, h in sizes]
    whole = max((p for p in pixels if p <= limit), default=0)
    tiled = max((p for p in pixels if p > limit), default=0)
    return round(GB * (BASE_GB + WHOLE_GB_PER_MP * whole / MP + TILED_GB_PER_MP * tiled / MP))


def available_bytes() -> int | None:
    """Memory this machine can give a new render without swapping (``MemAvailable``), or None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii", errors="ignore") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None
