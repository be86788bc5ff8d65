"""The engine paints the same images as the stored references, for a fixed seed.

The references (``tests/nst/data/reference_*.png`` and ``reference_runs.json``) were made by the
engine itself, in float32 (so they hold on CPUs with and without bfloat16), at 64 to 128 px. They pin
the engine, not the presets: the settings below are written out here (today's ``quality`` values, at
a small size), so retuning a preset does not move them, and any change in the engine that changes
its pictures (the scales, their step budgets, the style sizes, the losses, the optimizer, the
upsampling between scales) fails this test.

Renders of the same request differ only where floating point sums are added up in another order
(other threads, another CPU's vector width): here by at most 0.03 levels of 8 bits on average, 3 at
one pixel and 2e-4 in the loss (measured with oneDNN held to AVX2, and without oneDNN). The bounds
below leave room for that and little more: one step fewer, or another weight for one layer, moves the
loss by 1% or more and the average pixel by one to thirteen levels.

After an intended change of the pictures, make new references and look at them before committing::

    NST_UPDATE_REFERENCE=1 python -m pytest tests/nst/test_reference_images.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nst.optimize import OptimizerSettings
from nst.settings import Settings
from tests.factories import make_photo
from tests.nst.quality import starry_night

DATA = Path(__file__).parent / "data"
RUNS = DATA / "reference_runs.json"
UPDATE = os.environ.get("NST_UPDATE_REFERENCE") == "1"

#: The mean absolute difference from the reference, in 8-bit levels, that a render may show.
MEAN_LEVELS = 0.5
#: The largest difference of one pixel, in 8-bit levels (another rounding moves a few pixels by a few).
MAX_LEVELS = 16
#: The relative difference of the loss terms from the reference's.
LOSS_TOLERANCE = 2e-3

TEXTURE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1")
#: The ``quality`` transfer preset's values, at 64 px (one scale: its coarse-to-fine starts at 128 px).
TRANSFER = Settings(size=64, steps=8, coarse_steps=1.05, content_weight=0.1, tv_weight=0.0)
#: The ``quality`` texture preset's values for a 64-px tile (a width and height start at 128 px, so the
#: square tile is asked for by its long side).
TEXTURE = Settings(size=64, square=True, tileable=True, style_layers=TEXTURE_LAYERS,
                   style_layer_weights=(1.0,) * 4, start_size=128, steps=6, coarse_steps=1.5,
                   init="noise", noise="smooth", optimizer=OptimizerSettings(history=40))

CASES = {
    "transfer": ("transfer", TRANSFER),
    # Coarse to fine at 32, 45 and 64 px (4, 3 and 2 steps): the upsampling between scales with the
    # photo's detail added back, the step budgets per scale, and the smallest side held at 32 px. Few
    # steps per scale: over many, L-BFGS turns the last bits of another CPU's rounding into a visibly
    # different picture.
    "transfer_scales": ("transfer", TRANSFER.replace(start_size=32, steps=2, coarse_steps=1.5)),
    "texture": ("texture", TEXTURE),
    # The texture preset's own path, with a width and height: strokes at the painting's size, the
    # schedule's start moved to where the painting is small, scales aligned to block4's stride (64, 88
    # and 128 px, 4, 3 and 2 steps), Fourier upsampling between them.
    "texture_tile": ("texture", TEXTURE.replace(size=512, square=False, width=128, height=128, start_size=64,
                                                stroke_scale=0.125, steps=2)),
}


@pytest.fixture(scope="module")
def reference_engine(engine):
    if engine.extractor.precision == "float32":
        return engine
    from nst.engine import Engine

    return Engine(precision="float32")


def render(engine, operation: str, settings: Settings):
    if operation == "transfer":
        return engine.transfer(make_photo(), [starry_night()], settings)
    return engine.texture([starry_night()], settings)


def levels(image: np.ndarray) -> np.ndarray:
    """An image in [0, 1] as the 8-bit levels it is saved with."""
    return np.asarray(Image.fromarray(np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8), "RGB"), dtype=np.int16)


def run_record(result) -> dict:
    return {"scale_sizes": [list(size) for size in result.scale_sizes], "scale_steps": list(result.scale_steps),
            "stop_reasons": list(result.stop_reasons), "losses": {k: float(v) for k, v in result.losses.items()}}


def difference(image: np.ndarray, reference: np.ndarray) -> tuple[float, int]:
    """(mean, max) absolute difference in 8-bit levels."""
    assert image.shape == reference.shape
    diff = np.abs(levels(image) - reference)
    return float(diff.mean()), int(diff.max())


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_engine_paints_the_reference_image(reference_engine, case):
    operation, settings = CASES[case]
    result = render(reference_engine, operation, settings)
    path = DATA / f"reference_{case}.png"
    if UPDATE:
        DATA.mkdir(exist_ok=True)
        Image.fromarray(levels(result.image).astype(np.uint8), "RGB").save(path, optimize=True)
        runs = json.loads(RUNS.read_text()) if RUNS.exists() else {}
        runs[case] = run_record(result)
        RUNS.write_text(json.dumps(runs, indent=1, sort_keys=True) + "\n")
        pytest.skip(f"wrote {path.name}")
    reference = np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)
    expected = json.loads(RUNS.read_text())[case]
    record = run_record(result)
    assert {k: record[k] for k in ("scale_sizes", "scale_steps", "stop_reasons")} == {
        k: expected[k] for k in ("scale_sizes", "scale_steps", "stop_reasons")}
    assert record["losses"] == pytest.approx(expected["losses"], rel=LOSS_TOLERANCE)
    mean, largest = difference(result.image, reference)
    assert mean < MEAN_LEVELS and largest <= MAX_LEVELS, (mean, largest)
