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


def color_stats(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (3,) and covariance (3, 3) of an (H, W, 3) image's colours."""
    flat = image.reshape(-1, 3).astype(np.float64)
    return flat.mean(axis=0), np.cov(flat, rowvar=False) + 1e-6 * np.eye(3)


def _sqrt_and_inverse(cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values, vectors = np.linalg.eigh(cov)
    values = np.maximum(values, 1e-8)
    return (vectors * np.sqrt(values)) @ vectors.T, (vectors / np.sqrt(values)) @ vectors.T


def match_colors(image: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """``image`` with its colours moved to the given mean and covariance (a linear map of RGB: the
    photo's shapes and shading stay, its palette becomes the painting's); (H, W, 3) in [0, 1]."""
    own_mean, own_cov = color_stats(image)
    _, own_inverse_sqrt = _sqrt_and_inverse(own_cov)
    target_sqrt, _ = _sqrt_and_inverse(cov)
    transform = target_sqrt @ own_inverse_sqrt
    flat = (image.reshape(-1, 3) - own_mean) @ transform.T + mean
    return np.clip(flat.reshape(image.shape), 0.0, 1.0).astype(np.float32)


def blended_stats(images: list[np.ndarray], weights: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """The colour statistics of several images mixed by ``weights``, as if their pixels were pooled."""
    total = float(sum(weights))
    stats = [color_stats(image) for image in images]
    mean = sum(w * m for w, (m, _) in zip(weights, stats)) / total
    second = sum(w * (c + np.outer(m, m)) for w, (m, c) in zip(weights, stats)) / total
    return mean, second - np.outer(mean, mean)


def tone_map(image: np.ndarray, paintings: list[np.ndarray], weights: list[float], bins: int = 64) -> np.ndarray:
    """``image`` recoloured tone for tone: a pixel whose luminance is brighter than a fraction q of the
    image's takes the mean colour of the paintings' pixels at the same fraction q of theirs (pooled by
    ``weights``). The photo's light and shade stay in their order; every colour is the painting's, so
    a bright sky takes the painting's brightest colours whatever its own hue. All (H, W, 3) in [0, 1]."""
    luminance = rgb_to_yiq(image)[..., 0].ravel()
    # pixels of the same brightness share the middle rank of their group (a flat sky stays flat)
    _, group, counts = np.unique(luminance, return_inverse=True, return_counts=True)
    rank = ((np.cumsum(counts) - counts / 2) / luminance.size)[group.ravel()]
    pixels = np.concatenate([p.reshape(-1, 3) for p in paintings]).astype(np.float64)
    mass = np.concatenate([np.full(p.shape[0] * p.shape[1], w / (p.shape[0] * p.shape[1]))
                           for p, w in zip(paintings, weights)])
    order = np.argsort(rgb_to_yiq(pixels.astype(np.float32))[:, 0], kind="stable")
    pixels, mass = pixels[order], mass[order]
    cumulative = (np.cumsum(mass) - mass / 2) / mass.sum()  # each painting pixel's own fraction q
    which = np.minimum((cumulative * bins).astype(int), bins - 1)
    total = np.bincount(which, weights=mass, minlength=bins)
    filled = total > 0
    centres = ((np.arange(bins) + 0.5) / bins)[filled]
    means = np.stack([np.bincount(which, weights=mass * pixels[:, c], minlength=bins)[filled] / total[filled]
                      for c in range(3)], axis=-1)
    out = np.stack([np.interp(rank, centres, means[:, c]) for c in range(3)], axis=-1)
    return np.clip(out.reshape(image.shape), 0.0, 1.0).astype(np.float32)


def channel_stats(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of an (H, W, 3) image."""
    flat = image.reshape(-1, image.shape[-1])
    return flat.mean(axis=0), flat.std(axis=0)
