"""The L-BFGS history at print sizes: float16 pairs (half the memory) that steer as the float32 ones do,
and the previous scale's pairs let go once resampled. No VGG19: fast."""

from __future__ import annotations

import numpy as np
import pytest

from nst import history, images
from nst.optimize import OptimizerSettings, Run, ScalePlan, _two_loop
from tests.nst.test_optimize import _quadratic


def test_a_half_vector_keeps_11_bits_of_its_largest_entry_even_far_below_float16s_range():
    """A gradient change at a print size is ~1e-9 per pixel: cast to float16 it would be 0."""
    rng = np.random.default_rng(0)
    for magnitude in (1e-9, 1e-3, 1.0, 1e6):
        a = (rng.standard_normal(3 * history.BLOCK // 2) * magnitude).astype(np.float32)
        b = (rng.standard_normal(a.size) * magnitude).astype(np.float32)
        half = history.Half.of_difference(a, b)
        exact = a - b
        assert half.data.dtype == np.float16 and half.nbytes == exact.nbytes // 2
        assert np.abs(half.full() - exact).max() <= 2.0 ** -11 * np.abs(exact).max(), magnitude
        assert history.dot(half, exact) == pytest.approx(float(np.dot(exact, exact)), rel=2e-3)
        q = np.ones(a.size, np.float32)
        history.add_scaled(q, 0.5 / magnitude, half)
        assert np.abs(q - (1 + 0.5 / magnitude * exact)).max() <= 2.0 ** -10 * (1 + 0.5 * np.abs(exact / magnitude).max())


def _pairs(size: int, count: int, seed: int = 1):
    """Curvature pairs of a diagonal quadratic whose curvature varies 50-fold: y = A s."""
    rng = np.random.default_rng(seed)
    a = np.linspace(1.0, 50.0, size, dtype=np.float32) * np.float32(1e-7)  # a print size's tiny gradients
    s_hist = [rng.standard_normal(size).astype(np.float32) * 0.01 for _ in range(count)]
    return s_hist, [a * s for s in s_hist], rng.standard_normal(size).astype(np.float32) * np.float32(1e-7)


def test_the_two_loop_recursion_on_half_pairs_gives_the_float32_direction_within_a_percent():
    s_hist, y_hist, grad = _pairs(200_000, 3)
    rho = [1.0 / float(np.dot(s, y)) for s, y in zip(s_hist, y_hist)]
    exact = _two_loop(grad, s_hist, y_hist, rho)
    halves = [history.Half.of(v) for v in s_hist], [history.Half.of(v) for v in y_hist]
    rho_half = [1.0 / history.dot(s, y) for s, y in zip(*halves)]
    approx = _two_loop(grad, *halves, rho_half)
    assert np.linalg.norm(approx - exact) <= 0.01 * np.linalg.norm(exact)
    in_place = grad.copy()
    assert _two_loop(in_place, *halves, rho_half, in_place=True) is in_place
    assert np.array_equal(in_place, approx)


def _scales(half: bool, final_steps: int = 8):
    """Two scales of the quadratic, carrying the curvature; returns the run and the last scale's losses, and
    what the run held of the first scale's pairs while the second scale evaluated."""
    sizes = [(24, 18), (48, 36)]
    run = Run([ScalePlan(sizes[0], 30), ScalePlan(sizes[1], final_steps)])
    settings = OptimizerSettings(carry=True, tolerance=0.0)
    x = run.run_scale(0, _quadratic(sizes[0]), np.full((18, 24, 3), 0.5, np.float32), settings, half_history=half)
    held = []
    fine = _quadratic(sizes[1])

    def watched(image):
        held.append(run.curvature)
        return fine(image)

    start = len(run.history)
    run.run_scale(1, watched, np.clip(images.resize_array(x, sizes[1]), 0.0, 1.0), settings, half_history=half)
    return run, [loss for _, _, loss in run.history[start:]], held


def test_l_bfgs_with_a_half_history_descends_as_the_float32_one_and_keeps_half_the_bytes():
    run32, losses32, _ = _scales(half=False)
    run16, losses16, _ = _scales(half=True)
    assert losses16[0] == pytest.approx(losses32[0], rel=0.01)  # both scales kept their pairs in float16
    removed = [1 - min(losses) / losses[0] for losses in (losses32, losses16)]
    assert removed[0] > 0.99 and removed[1] == pytest.approx(removed[0], abs=0.005), removed
    _, s32, y32 = run32.curvature
    _, s16, y16 = run16.curvature
    assert len(s16) == len(s32) > 0
    assert all(isinstance(v, history.Half) and v.nbytes == 2 * v.size for v in s16 + y16)
    assert all(isinstance(v, np.ndarray) and v.dtype == np.float32 for v in s32 + y32)


@pytest.mark.parametrize("half", [False, True])
def test_the_previous_scales_pairs_are_let_go_before_the_next_scale_evaluates(half):
    _, _, held = _scales(half)
    assert held and all(curvature is None for curvature in held)


def test_without_carry_no_pairs_are_kept_after_a_scale():
    run = Run([ScalePlan((24, 18), 5)])
    run.run_scale(0, _quadratic((24, 18)), np.full((18, 24, 3), 0.5, np.float32), OptimizerSettings(tolerance=0.0))
    assert run.curvature is None


def test_an_evaluation_at_a_tiled_scale_holds_five_images_and_the_half_pairs_beside_the_objectives_own():
    """What the optimizer has alive (numpy, traced) when the objective is called, in copies of the image: the
    scale's start image (the caller's), the current image and the candidate, the gradient and the direction,
    and three float16 pairs (three copies' worth): 8. The loop used to hold 13.3 (float32 pairs, copies of the
    start and of the best image, the pinned pixels' mask, and the previous scale's pairs)."""
    import tracemalloc

    size = (256, 192)
    image_bytes = size[0] * size[1] * 3 * 4
    settings = OptimizerSettings(carry=True, tolerance=0.0, history=3)
    run = Run([ScalePlan((128, 96), 8), ScalePlan(size, 8)])
    x = run.run_scale(0, _quadratic((128, 96)), np.full((96, 128, 3), 0.5, np.float32), settings, half_history=True)
    x = np.clip(images.resize_array(x, size), 0.0, 1.0)
    objective = _quadratic(size)
    alive = []

    def measured(image):
        alive.append(tracemalloc.get_traced_memory()[0] - baseline)
        return objective(image)

    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0] - x.nbytes  # the start image counts as one
        run.run_scale(1, measured, x, settings, half_history=True)
    finally:
        tracemalloc.stop()
    assert len(alive) >= 8 and max(alive) <= 8.1 * image_bytes, [round(a / image_bytes, 2) for a in alive]
