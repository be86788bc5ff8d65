"""Tiny real renders with the real VGG19 (64 to 96 px, a few steps)."""

import threading

import numpy as np
import pytest

from nst import backend, images, presets
from nst.pyramid import plan_sizes
from nst.errors import ParameterError
from nst.settings import Settings

from tests.factories import make_painting, make_photo
from tests.nst.quality import chroma_distance, luma

TINY = Settings(size=64, start_size=64, steps=6, content_weight=0.1)


def test_a_tiny_transfer_lowers_the_loss(any_precision_engine, photo, painting):
    engine = any_precision_engine
    # Fewer steps in the path ``auto`` does not pick: emulated bfloat16 costs a second a step on an AVX2 CPU.
    steps = 6 if engine.extractor.precision == backend.resolve_precision("auto") else 4
    result = engine.transfer(photo, [painting], TINY.replace(steps=steps))
    losses = [loss for _, _, loss in result.history]
    assert result.image.shape == (48, 64, 3)
    assert result.image.dtype == np.float32 and 0 <= result.image.min() and result.image.max() <= 1
    # The returned image is the best one evaluated (the last evaluation may be a rejected trial step).
    assert result.losses["total"] == min(losses) < 0.85 * losses[0]
    assert result.steps == len(losses) <= steps
    assert set(result.losses) == {"total", "style", "content", "tv"}
    assert engine.extractor.id.endswith(engine.extractor.precision)


def test_a_tiny_texture_lowers_the_loss(engine, painting):
    result = engine.texture([painting], TINY.replace(steps=8))
    losses = [loss for _, _, loss in result.history]
    assert result.image.shape == (64, 64, 3)
    assert result.losses["total"] == min(losses) < 0.5 * losses[0]
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
    # Three image sizes, and still one trace per compiled function (the torus network of seamless textures,
    # which other tests of this session engine use, is traced per size: its padding is cut to the shape; a
    # function other tests of the session compiled but never called, such as the whole image's objective
    # when every scale of theirs was tiled, has none).
    counts = {key: count for key, count in engine.tracing_counts().items() if not key.endswith("/wrap")}
    assert any(count == 1 for count in counts.values()) and all(count <= 1 for count in counts.values()), counts


def test_plan_sizes():
    assert plan_sizes((512, 384), 128) == [(128, 96), (181, 136), (256, 192), (362, 272), (512, 384)]
    assert plan_sizes((64, 64), 128) == [(64, 64)]


#: Adam with a large step: its loss goes up now and then, so the last image is not always the best one.
BUMPY = dict(method="adam", lr=0.2, tolerance=0.0)


def cancel_after_a_worse_step(cancel: threading.Event, losses: list[float], at_most: int) -> None:
    """Cancel right after a step that made the image worse than the best so far (or after ``at_most``)."""
    if (len(losses) >= 3 and losses[-1] > min(losses)) or len(losses) >= at_most:
        cancel.set()


def test_cancellation_returns_the_best_image_so_far(engine, photo, painting):
    cancel = threading.Event()
    seen = []

    def progress(p):
        seen.append((p.step, p.losses["total"], dict(p.losses), p.image.copy()))
        cancel_after_a_worse_step(cancel, [loss for _, loss, _, _ in seen], at_most=30)

    result = engine.transfer(photo, [painting], TINY.replace(steps=50, **BUMPY), progress=progress,
                             cancel=cancel, preview_every=1)
    assert result.cancelled and result.stop_reasons == ["cancelled"]
    assert result.steps == len(seen) and [step for step, *_ in seen] == list(range(1, len(seen) + 1))
    _, best_loss, best_terms, best_image = min(seen, key=lambda s: s[1])
    assert seen[-1][1] > best_loss, "cancelled after a step that made things worse"
    assert result.losses == best_terms
    np.testing.assert_array_equal(result.image, best_image)
    photo_pixels = seen[0][3]  # the first evaluation is of the starting point, the photo itself
    assert np.abs(result.image - photo_pixels).mean() > 0.005


def test_cancel_in_the_middle_of_a_multi_scale_render_keeps_the_best_image_of_that_scale(engine, photo):
    """Cancelled at the second of three scales, right after a step that made the image worse: the result is
    that scale's best image (its preview, upsampled to the final size), not the last one, and the third
    scale never starts."""
    from tests.nst.quality import starry_night

    cancel = threading.Event()
    seen = []

    def progress(p):
        seen.append((p.scale, p.losses["total"], dict(p.losses), p.image.copy()))
        if p.scale == 1:
            cancel_after_a_worse_step(cancel, [loss for scale, loss, _, _ in seen if scale == 1], at_most=8)

    settings = Settings(size=96, start_size=48, steps=10, coarse_steps=1.0, content_weight=0.1).replace(**BUMPY)
    result = engine.transfer(photo, [starry_night()], settings, progress=progress, cancel=cancel, preview_every=1)
    assert result.cancelled and result.stop_reasons == ["budget", "cancelled"]
    assert result.scale_sizes == [(48, 36), (68, 51)] and result.image.shape == (72, 96, 3)
    middle = [entry for entry in seen if entry[0] == 1]
    assert result.steps == len(seen) == 10 + len(middle) and result.scale_steps == [10, len(middle)]
    _, best_loss, best_terms, best_image = min(middle, key=lambda entry: entry[1])
    assert middle[-1][1] > best_loss, "cancelled after a step that made things worse"
    assert result.losses == best_terms
    np.testing.assert_array_equal(result.image, np.clip(images.resize_array(best_image, (96, 72)), 0, 1))
    photo_pixels = images.to_array(images.resize(photo, (96, 72)))
    assert np.abs(result.image - photo_pixels).mean() > 0.01, "the painting's strokes are in it"


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


def test_style_targets_are_computed_once_per_size(fresh_targets, painting):
    engine = fresh_targets
    engine.transfer(make_photo(seed=11), [painting], TINY.replace(steps=1))
    assert engine.targets.computed == 1
    engine.transfer(make_photo(seed=12), [painting], TINY.replace(steps=1))
    assert engine.targets.computed == 1, "the second photo reuses the style's targets"
    engine.transfer(make_photo(seed=12), [painting], TINY.replace(steps=1, size=96, start_size=96))
    assert engine.targets.computed == 2, "another size, other targets"


def test_progress_reports_previews_and_snapshots(engine, photo, painting, tmp_path):
    reports = []
    engine.transfer(photo, [painting], TINY.replace(steps=4, tolerance=0.0), progress=reports.append,
                    preview_every=2, snapshot_every=2, snapshot_dir=tmp_path / "snaps")
    assert [r.step for r in reports] == [1, 2, 3, 4]
    assert reports[-1].total == 4 and reports[-1].fraction == 1.0
    assert reports[0].image is not None and reports[1].image is not None and reports[2].image is None
    assert reports[-1].eta is not None and reports[-1].elapsed > 0
    assert sorted(p.name for p in (tmp_path / "snaps").iterdir()) == ["step_00002.png", "step_00004.png"]
    # A snapshot is the image the progress callback saw at that step (with the photo's colours, when kept).
    kept = []
    engine.transfer(photo, [painting], TINY.replace(steps=2, tolerance=0.0, preserve_colors=True),
                    progress=kept.append, preview_every=2, snapshot_every=2, snapshot_dir=tmp_path / "kept")
    saved = images.to_array(images.load(tmp_path / "kept" / "step_00002.png"))
    np.testing.assert_array_equal(saved, images.to_array(images.to_pil(kept[1].image)))
    assert np.abs(saved - kept[1].image).max() <= 0.5 / 255 + 1e-6


def test_a_failing_progress_callback_does_not_end_the_render(engine, photo, painting, caplog):
    def fails(report):
        raise RuntimeError("a broken progress bar")

    result = engine.transfer(photo, [painting], TINY.replace(steps=2, tolerance=0.0), progress=fails)
    assert result.steps == 2 and "A progress callback failed" in caplog.text


def test_greyscale_and_rgba_inputs_work(engine):
    grey = make_photo(seed=3).convert("L")
    rgba = make_painting(seed=4).convert("RGBA")
    result = engine.transfer(grey, [rgba], TINY.replace(steps=2))
    assert result.image.shape == (48, 64, 3)


def test_preserve_colors_keeps_the_photos_colours_and_the_paintings_strokes(engine, photo, painting):
    settings = TINY.replace(steps=8)
    plain = engine.transfer(photo, [painting], settings)
    kept = engine.transfer(photo, [painting], settings.replace(preserve_colors=True))
    content = images.to_array(images.resize(photo, (64, 48)))
    # Without the option the painting's yellow and blue come in; with it, the photo's colours stay (up to
    # what clipping to [0, 1] forces where the brightness changed a lot).
    plain_chroma, kept_chroma = chroma_distance(plain.image, content), chroma_distance(kept.image, content)
    assert plain_chroma > 0.06 and kept_chroma < 0.03 and kept_chroma < plain_chroma / 3
    # The same strokes: the brightness is the plain render's, not the photo's.
    assert np.abs(luma(kept.image) - luma(plain.image)).mean() < 0.03
    assert np.abs(luma(kept.image) - luma(content)).mean() > 0.06


def test_several_styles_blend_by_their_weights(engine, photo):
    from tests.nst.quality import style_distance

    waves, other = make_painting(seed=5), make_painting(96, 96, seed=6).rotate(90)
    settings = TINY.replace(steps=6)
    alone = engine.transfer(photo, [waves], settings)
    only_first = engine.transfer(photo, [waves, other], settings, style_weights=[1.0, 0.0])
    np.testing.assert_array_equal(only_first.image, alone.image)
    mostly_first = engine.transfer(photo, [waves, other], settings, style_weights=[0.7, 0.3])
    mostly_second = engine.transfer(photo, [waves, other], settings, style_weights=[0.3, 0.7])
    assert np.abs(mostly_first.image - mostly_second.image).mean() > 0.005
    assert style_distance(engine, mostly_first.image, waves) < style_distance(engine, mostly_second.image, waves)
    assert style_distance(engine, mostly_second.image, other) < style_distance(engine, mostly_first.image, other)
    with pytest.raises(ParameterError, match="1 value for 2 styles"):
        engine.transfer(photo, [waves, other], TINY, style_weights=[1.0])
    for weights in ([0.0, 0.0], [1.0, -0.5], [1.0, float("nan")]):  # refused before any start is painted
        with pytest.raises(ParameterError, match="must be finite numbers of at least 0|must not all be 0"):
            engine.transfer(photo, [waves, other], TINY.replace(init="tones"), style_weights=weights)
    with pytest.raises(ParameterError, match="must be finite numbers of at least 0|must not all be 0"):
        engine.texture([waves], TINY, style_weights=[0.0])


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
