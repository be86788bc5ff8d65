"""Tiny real renders with the real VGG19 (64 to 96 px, a few steps)."""

import threading

import numpy as np
import pytest
from PIL import Image

from nst import colors, presets
from nst.engine import plan_sizes
from nst.errors import ParameterError
from nst.settings import Settings

from tests.factories import make_painting, make_photo

TINY = Settings(size=64, start_size=64, steps=6, content_weight=0.1)


def test_a_tiny_transfer_lowers_the_loss(engine, photo, painting):
    result = engine.transfer(photo, [painting], TINY)
    losses = [loss for _, _, loss in result.history]
    assert result.image.shape == (48, 64, 3)
    assert result.image.dtype == np.float32 and 0 <= result.image.min() and result.image.max() <= 1
    assert losses[-1] < 0.85 * losses[0]
    assert result.steps == len(losses) <= 6
    assert set(result.losses) == {"total", "style", "content", "tv"}


def test_a_tiny_texture_lowers_the_loss(engine, painting):
    result = engine.texture([painting], TINY.replace(steps=8))
    losses = [loss for _, _, loss in result.history]
    assert result.image.shape == (64, 64, 3)
    assert losses[-1] < 0.5 * losses[0]
    assert "content" not in result.losses


def test_adam_also_lowers_the_loss(engine, photo, painting):
    settings = TINY.replace(method="adam", lr=0.02, steps=6, tolerance=0.0)
    result = engine.transfer(photo, [painting], settings)
    losses = [loss for _, _, loss in result.history]
    assert losses[-1] < losses[0]


def test_coarse_to_fine_runs_every_scale_with_one_trace(engine, photo, painting):
    settings = Settings(size=96, start_size=48, steps=2, coarse_steps=1.0, content_weight=0.1)
    result = engine.transfer(photo, [painting], settings)
    assert result.scale_sizes == [(48, 36), (68, 51), (96, 72)]
    assert len(result.stop_reasons) == 3
    # Three image sizes, and still one trace per compiled function.
    assert all(count == 1 for count in engine.tracing_counts().values())


def test_plan_sizes():
    assert plan_sizes((512, 384), 128) == [(128, 96), (181, 136), (256, 192), (362, 272), (512, 384)]
    assert plan_sizes((64, 64), 128) == [(64, 64)]


def test_cancellation_returns_the_best_image_so_far(engine, photo, painting):
    cancel = threading.Event()
    seen = []

    def progress(p):
        seen.append(p.step)
        if p.step == 3:
            cancel.set()

    result = engine.transfer(photo, [painting], TINY.replace(steps=50, tolerance=0.0), progress=progress,
                             cancel=cancel)
    assert result.cancelled
    assert result.steps == 3 and seen == [1, 2, 3]
    assert result.image.shape == (48, 64, 3)
    assert np.isfinite(result.image).all()
    best = min(loss for _, _, loss in result.history)
    assert result.history[-1][2] >= best


def test_cancelled_before_starting_still_returns_an_image(engine, photo, painting):
    cancel = threading.Event()
    cancel.set()
    result = engine.transfer(photo, [painting], TINY, cancel=cancel)
    assert result.cancelled and result.steps == 0
    assert result.image.shape == (48, 64, 3)


def test_same_seed_same_image_other_seed_other_image(engine, painting):
    settings = TINY.replace(steps=4)
    first = engine.texture([painting], settings.replace(seed=7))
    again = engine.texture([painting], settings.replace(seed=7))
    other = engine.texture([painting], settings.replace(seed=8))
    np.testing.assert_array_equal(first.image, again.image)
    assert np.abs(first.image - other.image).mean() > 0.01


def test_style_targets_are_computed_once_per_size(engine, painting):
    before = engine.targets.computed
    engine.transfer(make_photo(seed=11), [painting], TINY.replace(steps=1))
    after_first = engine.targets.computed
    engine.transfer(make_photo(seed=12), [painting], TINY.replace(steps=1))
    assert after_first - before <= 1
    assert engine.targets.computed == after_first


def test_progress_reports_previews_and_snapshots(engine, photo, painting, tmp_path):
    reports = []
    engine.transfer(photo, [painting], TINY.replace(steps=4, tolerance=0.0), progress=reports.append,
                    preview_every=2, snapshot_every=2, snapshot_dir=tmp_path / "snaps")
    assert [r.step for r in reports] == [1, 2, 3, 4]
    assert reports[-1].total == 4 and reports[-1].fraction == 1.0
    assert reports[0].image is not None and reports[1].image is not None and reports[2].image is None
    assert reports[-1].eta is not None and reports[-1].elapsed > 0
    assert sorted(p.name for p in (tmp_path / "snaps").iterdir()) == ["step_00002.png", "step_00004.png"]


def test_greyscale_and_rgba_inputs_work(engine):
    grey = make_photo(seed=3).convert("L")
    rgba = make_painting(seed=4).convert("RGBA")
    result = engine.transfer(grey, [rgba], TINY.replace(steps=2))
    assert result.image.shape == (48, 64, 3)


def test_preserve_colors_keeps_the_photos_colours(engine, photo, painting):
    result = engine.transfer(photo, [painting], TINY.replace(steps=3, preserve_colors=True))
    content = np.asarray(photo.resize((64, 48), Image.LANCZOS), dtype=np.float32) / 255
    chroma_kept = np.abs(colors.rgb_to_yiq(result.image)[..., 1:] - colors.rgb_to_yiq(content)[..., 1:]).mean()
    assert chroma_kept < 0.03


def test_several_styles_blend(engine, photo):
    styles = [make_painting(seed=5), make_painting(seed=6)]
    result = engine.transfer(photo, styles, TINY.replace(steps=2), style_weights=[0.7, 0.3])
    assert result.image.shape == (48, 64, 3)
    with pytest.raises(ParameterError, match="2 styles but 1"):
        engine.transfer(photo, styles, TINY, style_weights=[1.0])


@pytest.mark.parametrize("changes, message", [
    (dict(size=10), "size"), (dict(style_layers=("block9_conv1",)), "Unknown layer"),
    (dict(content_weight=-1.0), "content_weight"), (dict(method="sgd"), "optimizer"),
    (dict(style_layer_weights=(1.0,)), "weights"),
])
def test_bad_settings_are_refused(changes, message):
    with pytest.raises(ParameterError, match=message):
        TINY.replace(**changes)


def test_presets_exist_for_both_operations():
    for name in presets.names():
        assert presets.get(name, "transfer").size >= 64
        assert presets.get(name, "texture").size >= 64
    tutorial = presets.get("tutorial", "transfer")
    assert tutorial.optimizer.method == "adam" and tutorial.content_layer == "block5_conv2"
    assert not tutorial.normalize


def test_raw_texture_objective_balances_its_layers_at_coarse_scales(engine, painting):
    raw = Settings(size=90, start_size=64, steps=2, coarse_steps=1.0, normalize=False, style_weight=0.1,
                   tv_weight=1e9, init="noise", noise="uniform")

    def first_losses_per_scale(settings):
        seen = {}
        engine.texture([painting], settings, progress=lambda p: seen.setdefault(p.scale, p.losses))
        return seen

    balanced = first_losses_per_scale(raw)
    assert balanced[0]["tv"] == 0.0 and balanced[0]["style"] < 10.0  # every layer about 1 at the start
    assert balanced[1]["tv"] > 0.0 and balanced[1]["style"] > 1e3  # the final scale: the raw objective
    plain = first_losses_per_scale(raw.replace(balance_coarse=False))
    assert plain[0]["tv"] > 0.0 and plain[0]["style"] > 1e3
