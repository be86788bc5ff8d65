"""The optimizer on its own, on objectives whose minimum is known (no VGG19): fast and exact."""

from __future__ import annotations

import numpy as np
import pytest

from nst import images
from nst.optimize import OptimizerSettings, Run, ScalePlan


def _field(size: tuple[int, int], low: float, high: float, phase: float) -> np.ndarray:
    """A smooth (H, W, 3) field sampled from the same continuous function at any size."""
    width, height = size
    yy, xx = np.meshgrid((np.arange(height) + 0.5) / height, (np.arange(width) + 0.5) / width, indexing="ij")
    channels = [0.5 + 0.5 * np.sin(2.0 * xx + 3.0 * yy + phase + c) for c in range(3)]
    return (low + (high - low) * np.stack(channels, axis=-1)).astype(np.float32)


def _quadratic(size: tuple[int, int]):
    """mean(0.5 * a * (x - t)^2) with a curvature ``a`` that varies 50-fold over the image: the gradient
    alone converges slowly, the curvature pairs of L-BFGS fast. A mean over pixels, like every loss term
    of the engine, so a pixel's gradient shrinks as the image grows."""
    curvature, target = _field(size, 1.0, 50.0, 0.0), _field(size, 0.2, 0.8, 1.0)

    def fun(image: np.ndarray):
        diff = image - target
        loss = float(np.mean(0.5 * curvature * diff * diff))
        return loss, {"style": loss}, (curvature * diff / diff.size).astype(np.float32)

    return fun


def _two_scales(carry: bool, final_steps: int) -> tuple[Run, list[float]]:
    sizes = [(24, 18), (48, 36)]
    run = Run([ScalePlan(sizes[0], 30), ScalePlan(sizes[1], final_steps)])
    settings = OptimizerSettings(carry=carry, tolerance=0.0)
    x = run.run_scale(0, _quadratic(sizes[0]), np.full((18, 24, 3), 0.5, np.float32), settings)
    start = len(run.history)
    x = np.clip(images.resize_array(x, sizes[1]), 0.0, 1.0)
    run.run_scale(1, _quadratic(sizes[1]), x, settings)
    return run, [loss for _, _, loss in run.history[start:]]


def test_a_scale_that_resumes_the_last_scale_s_curvature_gets_further_in_the_same_steps():
    _, fresh = _two_scales(carry=False, final_steps=6)
    _, resumed = _two_scales(carry=True, final_steps=6)
    assert resumed[0] == pytest.approx(fresh[0])  # both start from the same upsampled image
    # Resumed, the first step takes the curvature's full step; fresh, a cautious gradient step.
    assert min(resumed) < 0.5 * min(fresh)


def test_resumed_curvature_is_resampled_to_the_new_size_and_kept_for_the_next_scale():
    run, _ = _two_scales(carry=True, final_steps=4)
    shape, s_hist, y_hist = run.curvature
    assert shape == (36, 48, 3)
    assert s_hist and all(s.shape == (36 * 48 * 3,) for s in s_hist + y_hist)
    assert all(float(np.dot(s, y)) > 0 for s, y in zip(s_hist, y_hist))


def test_without_carry_every_scale_starts_with_no_memory():
    run_fresh, fresh = _two_scales(carry=False, final_steps=6)
    assert min(fresh) < fresh[0]  # still descends, only more slowly
    assert run_fresh.stop_reasons == ["budget", "budget"]
