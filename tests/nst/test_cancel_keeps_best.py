"""Cancel keeps the best image seen, not the last one and not the last improving one.

The optimizer on a scripted objective (no VGG19): its losses go down, up, then partly recover while
still above the best, and Cancel comes right after that recovery. The best image and the last
improving one differ there, so a loop that keeps "the last step that improved on the one before"
returns the wrong image. Once with L-BFGS (the default optimizer), once with Adam.
"""

from __future__ import annotations

import numpy as np
import pytest

from nst.optimize import OptimizerSettings, Run, ScalePlan

SIZE = (8, 6)  # (width, height)
#: down (the best), up, partly back (better than the step before, still worse than the best)
LOSSES = [5.0, 3.0, 6.0, 4.0]


def scripted(losses: list[float]):
    """An objective that returns ``losses`` in turn, with a gradient that pulls every pixel towards 0.3,
    and remembers every image it was asked about."""
    seen: list[np.ndarray] = []

    def fun(image: np.ndarray):
        seen.append(image.copy())
        loss = losses[len(seen) - 1]
        return loss, {"style": loss / 2}, (image - 0.3).astype(np.float32)

    return fun, seen


@pytest.mark.parametrize("method", ["lbfgs", "adam"])
def test_cancel_after_a_partial_recovery_keeps_the_best_image_not_the_last_improving_one(method):
    fun, seen = scripted(LOSSES)
    run = Run([ScalePlan(SIZE, 100)], cancel=lambda: len(seen) >= len(LOSSES))
    start = np.random.default_rng(0).random((SIZE[1], SIZE[0], 3), dtype=np.float32)
    result = run.run_scale(0, fun, start, OptimizerSettings(method=method, tolerance=0.0))
    assert run.cancelled and run.stop_reasons == ["cancelled"]
    assert [loss for _, _, loss in run.history] == LOSSES
    assert len({image.tobytes() for image in seen}) == len(LOSSES), "every step saw another image"
    np.testing.assert_array_equal(result, seen[1])  # the best: loss 3
    assert run.best_terms == {"style": 1.5, "total": 3.0}
    assert run.last_terms["total"] == 4.0  # the last improving step, which is not the best


def after_a_partial_recovery(losses: list[float]) -> bool:
    """The last step improved on the one before it, and is still worse than the best."""
    return len(losses) >= 3 and min(losses) < losses[-1] < losses[-2]


def test_a_real_render_cancelled_after_a_partial_recovery_returns_its_best_image(engine, photo, painting):
    """The same with the real VGG19: Adam with a large step goes down, up and partly back within its first
    steps; Cancel comes right after such a step (or after 40 steps, and then the test fails)."""
    import threading

    from nst.settings import Settings

    cancel = threading.Event()
    seen = []

    def progress(p):
        seen.append((p.losses["total"], dict(p.losses), p.image.copy()))
        losses = [loss for loss, _, _ in seen]
        if after_a_partial_recovery(losses) or len(losses) >= 40:
            cancel.set()

    settings = Settings(size=64, start_size=64, steps=100, content_weight=0.1).replace(method="adam", lr=0.2,
                                                                                  tolerance=0.0)
    result = engine.transfer(photo, [painting], settings, progress=progress, cancel=cancel, preview_every=1)
    losses = [loss for loss, _, _ in seen]
    assert after_a_partial_recovery(losses), losses
    assert result.cancelled and result.steps == len(seen)
    best_loss, best_terms, best_image = min(seen, key=lambda s: s[0])
    assert result.losses == best_terms
    np.testing.assert_array_equal(result.image, best_image)
