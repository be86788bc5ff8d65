"""Images generated for tests (tests never read files from outside the repository)."""

from __future__ import annotations

import numpy as np
from PIL import Image


def make_photo(width: int = 96, height: int = 72, seed: int = 0) -> Image.Image:
    """A synthetic 'photo': smooth gradients, a few shapes and a little noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    r = x / width
    g = y / height
    b = 0.5 + 0.5 * np.sin(x / 7.0) * np.cos(y / 5.0)
    image = np.stack([r, g, b], axis=-1)
    cy, cx = height / 2, width / 3
    disc = (x - cx) ** 2 + (y - cy) ** 2 < (min(width, height) / 4) ** 2
    image[disc] = [0.9, 0.2, 0.1]
    image[int(height * 0.7):, int(width * 0.6):] = [0.1, 0.3, 0.8]
    image += rng.normal(0, 0.02, image.shape)
    return Image.fromarray((np.clip(image, 0, 1) * 255).astype(np.uint8), "RGB")


def make_painting(width: int = 80, height: int = 80, seed: int = 1) -> Image.Image:
    """A synthetic 'painting': strong oriented strokes in two colours."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    waves = np.sin((x + 0.5 * y) / 3.0 + rng.normal(0, 0.3, (height, width)))
    image = np.where(waves[..., None] > 0, [0.95, 0.8, 0.1], [0.1, 0.2, 0.6])
    image = image + rng.normal(0, 0.05, image.shape)
    return Image.fromarray((np.clip(image, 0, 1) * 255).astype(np.uint8), "RGB")
