"""Colour handling: keep a photo's colours while taking a painting's strokes.

:func:`keep_colors` is the "luminance only" transfer of Gatys et al. (2016)
and jcjohnson's ``original_colors``: the result's luminance (Y of YIQ) with the
content's chrominance (I, Q).
"""

from __future__ import annotations

import numpy as np

_RGB_TO_YIQ = np.array(
    [[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]],
    dtype=np.float32,
)
_YIQ_TO_RGB = np.linalg.inv(_RGB_TO_YIQ).astype(np.float32)


def rgb_to_yiq(image: np.ndarray) -> np.ndarray:
    return image @ _RGB_TO_YIQ.T


def yiq_to_rgb(image: np.ndarray) -> np.ndarray:
    return image @ _YIQ_TO_RGB.T


def keep_colors(stylized: np.ndarray, content: np.ndarray) -> np.ndarray:
    """The stylized image's luminance with the content's colours; both (H, W, 3) in [0, 1]."""
    if stylized.shape != content.shape:
        raise ValueError(f"Shapes differ: {stylized.shape} and {content.shape}.")
    yiq = rgb_to_yiq(content)
    yiq[..., 0] = rgb_to_yiq(stylized)[..., 0]
    return np.clip(yiq_to_rgb(yiq), 0.0, 1.0).astype(np.float32)


def channel_stats(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of an (H, W, 3) image."""
    flat = image.reshape(-1, image.shape[-1])
    return flat.mean(axis=0), flat.std(axis=0)
