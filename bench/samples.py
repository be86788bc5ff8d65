"""The starter collection's samples: a generated landscape painted with each of its paintings by our engine.

``python -m bench.samples`` draws the landscape (no photo is needed, so the
samples are free of anyone's rights), paints it with every painting of
``plugins/starter_collection/`` at the ``quality`` preset and writes
``plugins/starter_collection/samples/<painting>.jpg``. The gallery shows a
sample on a painting's card until the user paints with it. Run it again when
the engine changes how it paints; ``--size`` and ``--only`` help when trying.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

FOLDER = Path(__file__).resolve().parent.parent / "plugins" / "starter_collection"


def _smooth_noise(rng, shape, cells, blur):
    small = rng.random((cells[0], cells[1]))
    image = Image.fromarray((small * 255).astype(np.uint8)).resize((shape[1], shape[0]), Image.Resampling.BICUBIC)
    return np.asarray(image.filter(ImageFilter.GaussianBlur(blur)), dtype=np.float32) / 255


def _ridge(rng, width, base, roughness, octaves=6):
    """A mountain ridge line: heights in pixels, from a sum of smooth random octaves."""
    x = np.linspace(0, 1, width)
    height = np.zeros(width)
    for octave in range(octaves):
        knots = 3 * 2 ** octave
        values = rng.normal(0, 1, knots + 1)
        height += np.interp(x, np.linspace(0, 1, knots + 1), values) * roughness / 1.9 ** octave
    return base - height


def landscape(width: int = 640, height: int = 480, seed: int = 3) -> Image.Image:
    """Sky, clouds, a low sun, three ranges of hills in haze, a lake that mirrors them, a shore with pines."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    horizon = int(height * 0.58)
    t = (y / horizon)[..., None]
    sky = (1 - t) * np.array([0.16, 0.36, 0.72]) + t * np.array([0.98, 0.80, 0.58])
    sun_x, sun_y = width * 0.72, horizon * 0.42
    glow = np.exp(-(((x - sun_x) ** 2 + (y - sun_y) ** 2) / (2 * (width * 0.09) ** 2)))[..., None]
    sky = sky * (1 - 0.5 * glow) + 0.5 * glow * np.array([1.0, 0.92, 0.7])
    sky[(x - sun_x) ** 2 + (y - sun_y) ** 2 < (width * 0.035) ** 2] = [1.0, 0.97, 0.86]
    clouds = _smooth_noise(rng, (height, width), (12, 5), 5)
    cloud = np.clip((clouds - 0.55) * 3.5, 0, 1)[..., None] * (y < horizon * 0.75)[..., None]
    image = sky * (1 - 0.75 * cloud) + 0.75 * cloud * np.array([0.97, 0.9, 0.88])
    land = np.zeros((height, width), dtype=bool)
    for base, rough, colour in ((0.70, 0.16, (0.46, 0.50, 0.66)), (0.88, 0.12, (0.28, 0.38, 0.46)),
                                (0.98, 0.07, (0.16, 0.30, 0.22))):
        ridge = _ridge(rng, width, horizon * base, horizon * rough)
        mask = (y >= ridge[None, :]) & (y < horizon)
        shade = 0.85 + 0.3 * _smooth_noise(rng, (height, width), (20, 40), 2)[..., None]
        image[mask] = (np.array(colour) * shade)[mask]
        land |= mask
    water = y >= horizon
    mirror_rows = np.clip(2 * horizon - y[water].astype(int), 0, horizon - 1)
    ripple = (np.sin(y[water] * 0.9 + 3 * np.sin(x[water] * 0.05)) * 2).astype(int)
    mirrored = image[mirror_rows, np.clip(x[water].astype(int) + ripple, 0, width - 1)]
    depth = ((y[water] - horizon) / (height - horizon))[:, None]
    image[water] = mirrored * (0.78 - 0.2 * depth) + np.array([0.05, 0.12, 0.2]) * (0.3 + 0.5 * depth)
    shore = height * 0.86 + _ridge(rng, width, 0, height * 0.02, 4)
    meadow = y >= shore[None, :]
    grass = 0.75 + 0.5 * _smooth_noise(rng, (height, width), (60, 120), 1)[..., None]
    image[meadow] = (np.array([0.24, 0.42, 0.16]) * grass)[meadow]
    for _ in range(9):  # pines on the shore
        cx, size = rng.uniform(0.02, 0.4) * width, rng.uniform(0.10, 0.2) * height
        base_y = np.interp(cx, np.arange(width), shore) + 4
        for tier in range(4):
            top = base_y - size * (1 - tier * 0.2)
            half = size * (0.12 + 0.07 * tier)
            bottom = top + size * 0.4
            tri = (y >= top) & (y <= bottom) & (np.abs(x - cx) <= half * (y - top) / (bottom - top + 1e-6))
            image[tri] = np.array([0.06, 0.17, 0.1])
    grain = rng.normal(0, 0.012, image.shape)
    picture = Image.fromarray((np.clip(image + grain, 0, 1) * 255).astype(np.uint8), "RGB")
    return picture.filter(ImageFilter.GaussianBlur(0.6))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.samples", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=384, help="long side of the samples (default 384)")
    parser.add_argument("--only", nargs="*", default=None, help="painting files to do (default: all)")
    parser.add_argument("--scene", type=Path, help="also save the generated landscape here")
    args = parser.parse_args(argv)

    from nst import images, presets
    from nst.engine import Engine
    from nst.files import write_atomic

    scene = landscape()
    if args.scene:
        images.save(scene, args.scene)
    engine = Engine()
    settings = presets.get("quality", "transfer").replace(size=args.size)
    out = FOLDER / "samples"
    out.mkdir(exist_ok=True)
    for painting in sorted(FOLDER.glob("*.jpg")):
        if args.only and painting.name not in args.only:
            continue
        started = time.perf_counter()
        with Image.open(painting) as style:
            result = engine.transfer(scene, style.convert("RGB"), settings)
        picture = result.to_pil()
        write_atomic(out / painting.name, lambda handle: picture.save(handle, "JPEG", quality=85, optimize=True))
        print(f"{painting.name}: {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
