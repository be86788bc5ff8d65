"""Measures of what a render looks like, in VGG19's own terms, for the quality tests.

* :func:`style_distance`: how far an image's Gram matrices are from a painting's (each layer's mean
  squared difference relative to the painting's, averaged over the layers): the style statistics.
* :func:`content_distance`: the mean squared difference of two images' ``block4_conv2`` features
  (the default content layer): the photo's layout and objects.
* :func:`layout_correlation`: how much two pictures agree pixel for pixel, as 16x16 grey thumbnails
  (a copy correlates near 1; a texture that only shares the statistics, near 0).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from nst import images
from nst.settings import STYLE_LAYERS
from nst.targets import StyleInput

#: The paintings the app ships (public domain), in its starter collection.
PAINTINGS = Path(__file__).resolve().parents[2] / "plugins" / "starter_collection"


def starry_night() -> Image.Image:
    """Van Gogh's The Starry Night (1889), as the app ships it, reduced to 128x80 (a render of 64 to 96 px
    never uses more)."""
    return images.thumbnail(images.load(PAINTINGS / "starry-night.jpg"), 128)


def at_size(picture: Image.Image, like: np.ndarray) -> np.ndarray:
    """``picture`` resized to the (H, W) of ``like``, as a float array in [0, 1]."""
    return images.to_array(images.resize(picture, (like.shape[1], like.shape[0])))


def grams(engine, pixels: np.ndarray, layers=STYLE_LAYERS) -> dict[str, np.ndarray]:
    """The Gram matrices of an (H, W, 3) float image at its own size."""
    picture = images.to_pil(pixels)
    return engine.style_grams(StyleInput.of(picture), picture.size, tuple(layers))


def style_distance(engine, pixels: np.ndarray, painting: Image.Image, layers=STYLE_LAYERS) -> float:
    """Mean over ``layers`` of |G(image) - G(painting)|^2 / |G(painting)|^2, the painting at the image's size."""
    mine, theirs = grams(engine, pixels, layers), grams(engine, at_size(painting, pixels), layers)
    return float(np.mean([np.mean((mine[name] - theirs[name]) ** 2) / np.mean(theirs[name] ** 2)
                          for name in layers]))


def content_distance(engine, a: np.ndarray, b: np.ndarray, layer: str = "block4_conv2") -> float:
    return float(np.mean((engine.features(a, layer) - engine.features(b, layer)) ** 2))


def layout_correlation(a: np.ndarray, b: np.ndarray) -> float:
    def thumb(pixels: np.ndarray) -> np.ndarray:
        grey = images.to_pil(pixels).convert("L").resize((16, 16), Image.Resampling.BILINEAR)
        return np.asarray(grey, dtype=np.float64).ravel()

    return float(np.corrcoef(thumb(a), thumb(b))[0, 1])


def chroma_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of the colour (I and Q of YIQ), leaving out brightness."""
    from nst import colors

    return float(np.abs(colors.rgb_to_yiq(a)[..., 1:] - colors.rgb_to_yiq(b)[..., 1:]).mean())


def luma(pixels: np.ndarray) -> np.ndarray:
    from nst import colors

    return colors.rgb_to_yiq(pixels)[..., 0]
