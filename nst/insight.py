"""Pictures of what the network sees: a style's Gram "fingerprint" and single feature maps.

The tutorial this project started from plotted, for each style layer, a Gram
matrix's values sorted from largest to smallest, and showed one channel of
``block1_conv1`` in grey; the gallery shows both.
"""

from __future__ import annotations

import numpy as np

from . import images
from .engine import Engine
from .errors import ParameterError
from .features import CHANNELS
from .settings import STYLE_LAYERS
from .targets import StyleInput

#: Long side the style image is resized to for these pictures.
SIZE = 256


def fingerprint(engine: Engine, style: StyleInput, layers=STYLE_LAYERS, size: int = SIZE) -> dict[str, np.ndarray]:
    """Per layer: each channel's total Gram correlation (the row sums), sorted descending, scaled to max 1."""
    target = images.fit_long_side(style.image.width, style.image.height, size)
    grams = engine.style_grams(style, target, tuple(layers))
    out = {}
    for layer in layers:
        rows = np.asarray(grams[layer], dtype=np.float64).sum(axis=1)
        rows = np.sort(rows)[::-1]
        peak = rows[0] if rows.size and rows[0] > 0 else 1.0
        out[layer] = (rows / peak).astype(np.float32)
    return out


def feature_map(engine: Engine, image, layer: str = "block1_conv1", channel: int = 0,
                size: int = SIZE) -> np.ndarray:
    """One channel of one layer as a greyscale (h, w) array in [0, 1] (brighter is stronger)."""
    if layer not in CHANNELS:
        raise ParameterError(f"Unknown layer {layer!r}.")
    if not 0 <= channel < CHANNELS[layer]:
        raise ParameterError(f"{layer} has channels 0 to {CHANNELS[layer] - 1}, not {channel}.")
    pixels = images.to_array(images.resize(image, images.fit_long_side(image.width, image.height, size)))
    fmap = engine.features(pixels, layer)[0, :, :, channel]
    top = float(fmap.max())
    return (fmap / top if top > 0 else fmap).astype(np.float32)
