"""Print-size transfers: large scales computed tile by tile (exact), no seam, resumable, bounded inputs.

Real VGG19 weights on images of 96 to 200 px with 64-px tiles (a 96-px margin each: every window is most
of the image, which is what makes the tiles cheap to test and still exact).
"""

import numpy as np
import pytest

import nst.engine as engine_module
from nst import objective, presets, terms, tiling
from nst.errors import ParameterError
from nst.features import CHANNELS
from nst.settings import STYLE_LAYERS, Settings
from tests.factories import make_photo
from tests.nst import quality



@pytest.fixture
def small_tiles(monkeypatch):
    """Scales above 64x64 px are computed tile by tile, in tiles of 64 px."""
    monkeypatch.setattr(engine_module, "TRANSFER_UNTILED_MAX_PIXELS", 64 * 64)
    monkeypatch.setattr(engine_module, "TRANSFER_TILE_SIDE", 64)


def _arguments(engine, size, rng):
    """Every term a transfer can have, with targets: (terms, arguments)."""
    width, height = size
    render_terms = (terms.Style(STYLE_LAYERS), terms.TotalVariation(), terms.Content(("block4_conv2",)))
    targets = [rng.random((CHANNELS[n], CHANNELS[n]), dtype=np.float32) * 50 for n in STYLE_LAYERS]
    content = engine.features(rng.random((height, width, 3), dtype=np.float32), "block4_conv2")
    return render_terms, [[targets, np.array([1.0, 0.5, 2.0, 1e-3, 0.1], np.float32)], [2.0], [content, 3.0]]


def test_the_tiled_transfer_loss_and_gradient_equal_the_whole_images(engine32):
    """An ordinary image (zero padding at its edges, sides not multiples of 16, a narrow last column of
    tiles): the Gram matrices summed over tiles, the content per tile and the TV give the whole image's
    loss, each term's value and the gradient."""
    rng = np.random.default_rng(0)
    size = (200, 150)
    render_terms, arguments = _arguments(engine32, size, rng)
    whole = objective.bind(engine32._objective_function(render_terms), render_terms, terms.tensors(arguments))
    tiled = engine32._tiled_objective(render_terms, arguments, size, wrap=False)
    small = tiling.TiledObjective((tiled.grams_fn, tiled.grad_fn), {
        render_terms[1]: engine32._whole_function(render_terms[1], False)}, render_terms, arguments, size, 64,
        wrap=False)
    assert len(small.tiles) == 12 and small.tiles[-1].width == 8  # block5 has no position in the last column
    image = rng.random((150, 200, 3), dtype=np.float32)
    loss, values, grad = small(image)
    loss_whole, values_whole, grad_whole = whole(image)
    assert list(values) == ["style", "tv", "content"]
    for name in values:
        assert values[name] == pytest.approx(values_whole[name], rel=1e-5), name
    assert loss == pytest.approx(loss_whole, rel=1e-5)
    assert np.abs(grad - grad_whole).max() < 1e-4 * np.abs(grad_whole).max()


def test_the_photos_features_computed_tile_by_tile_are_the_whole_images(engine32):
    image = np.random.default_rng(1).random((150, 200, 3), dtype=np.float32)
    for layer in ("block4_conv2", "block5_conv2", "block2_conv2"):
        tiled = tiling.features(engine32._features_function(layer), image, layer, 64)
        whole = engine32.features(image, layer)
        assert tiled.shape == whole.shape
        assert np.abs(tiled - whole).max() <= 1e-4 * np.abs(whole).max(), layer


@pytest.mark.parametrize("cls", terms.TERMS, ids=lambda cls: cls.name)
def test_every_term_is_computed_tile_by_tile_or_refused_before_a_step(cls, engine32, small_tiles):
    """Each term of the list, on with a weight: a tiled render's losses hold it at the whole image's value,
    or the render is refused with the setting to change."""
    settings = presets.settings("transfer", {"size": 96, "steps": 1, "start_size": 96, cls.weight: 0.5})
    term = cls.configure(settings, texture=False)
    assert term is not None
    if term.of_grams is None and not term.whole_image and term.on_tile is None:
        with pytest.raises(ParameterError, match=f"set {cls.weight} to 0"):
            engine32.transfer(make_photo(96, 72), [make_photo(80, 80, seed=3)], settings)
        return
    result = engine32.transfer(make_photo(96, 72), [make_photo(80, 80, seed=3)], settings)
    assert result.losses[cls.name] > 0 and list(result.losses)[:-1] == [t.name for t in terms.of(settings, False)]


@pytest.mark.slow
def test_a_tiled_transfer_paints_as_the_whole_one_without_a_seam(engine, small_tiles, monkeypatch):
    """Same seed, same steps: the tiled painting is as close to the painting and to the photo (within 5%),
    and its tile boundaries do not show (the steps across them are at most 1.1 times those inside)."""
    photo, painting = make_photo(128, 96, seed=2), quality.starry_night()
    settings = presets.settings("transfer", {"size": 128, "steps": 4, "start_size": 90, "seed": 0})
    tiled = engine.transfer(photo, [painting], settings)
    monkeypatch.setattr(engine_module, "TRANSFER_UNTILED_MAX_PIXELS", 10**9)
    whole = engine.transfer(photo, [painting], settings)
    assert tiled.scale_sizes == whole.scale_sizes == [(91, 68), (128, 96)]
    target = quality.at_size(photo, whole.image)
    gram = [quality.style_distance(engine, r.image, painting) for r in (tiled, whole)]
    content = [quality.content_distance(engine, r.image, target) for r in (tiled, whole)]
    assert gram[0] <= 1.05 * gram[1] and content[0] <= 1.05 * content[1], (gram, content)
    assert tiling.seam_ratio(tiled.image, 64) <= 1.1


def test_the_seam_measure_sees_a_seam():
    rng = np.random.default_rng(2)
    smooth = np.clip(0.5 + 0.05 * rng.standard_normal((96, 128, 3)), 0, 1)
    assert tiling.seam_ratio(smooth, 64) == pytest.approx(1.0, abs=0.1)
    seamed = smooth.copy()
    seamed[:, 64:] += 0.2
    seamed[64:, :] -= 0.2
    assert tiling.seam_ratio(seamed, 64) > 1.5
    with pytest.raises(ParameterError, match="no tile boundary"):
        tiling.seam_ratio(smooth, 256)


def test_print_sizes_are_accepted_up_to_6144_px_and_refused_beyond():
    assert Settings(size=6144).size == 6144
    for bad in (6145, 100_000):
        with pytest.raises(ParameterError, match="size must be between 32 and 6144"):
            Settings(size=bad)


def test_a_print_size_render_with_a_term_tiles_cannot_compute_is_refused_before_a_step(engine, monkeypatch):
    """The histogram term sorts every position of the image: it cannot be summed over tiles."""
    monkeypatch.setattr(engine_module, "TRANSFER_UNTILED_MAX_PIXELS", 64 * 64)
    seen = []
    settings = presets.settings("transfer", {"size": 96, "steps": 1, "start_size": 64, "histogram_weight": 1.0})
    with pytest.raises(ParameterError, match="histogram term cannot be computed tile by tile.*histogram_weight"):
        engine.transfer(make_photo(96, 72), [make_photo(80, 80, seed=3)], settings, progress=seen.append)
    assert seen == []


def test_a_render_resumes_after_a_finished_scale_and_its_progress_covers_the_whole_render(engine):
    photo, painting = make_photo(96, 72, seed=4), make_photo(80, 80, seed=5)
    settings = presets.settings("transfer", {"size": 96, "steps": 2, "start_size": 48, "seed": 0})
    stored = []
    full = engine.transfer(photo, [painting], settings, checkpoint=lambda i, image: stored.append((i, image.copy())))
    assert full.scale_sizes == [(48, 36), (68, 51), (96, 72)]
    assert [(i, image.shape) for i, image in stored] == [(0, (36, 48, 3)), (1, (51, 68, 3))]  # not the result
    reports = []
    resumed = engine.transfer(photo, [painting], settings, resume=stored[1], progress=reports.append)
    assert resumed.stop_reasons[:2] == ["resumed", "resumed"] and resumed.stop_reasons[2] != "resumed"
    assert resumed.image.shape == full.image.shape == (72, 96, 3)
    first = reports[0]
    assert first.scale == 2 and first.scales == 3
    assert first.step > sum(resumed.scale_steps[:2]) and first.fraction > 0.3  # the finished scales count
    assert np.abs(resumed.image - full.image).mean() < 0.05  # the same painting, from the same start


@pytest.mark.parametrize("resume, message", [
    ((2, np.zeros((72, 96, 3), np.float32)), "after one of its first 2 scales"),
    (("1", np.zeros((51, 68, 3), np.float32)), "after one of its first 2 scales"),
    ((True, np.zeros((51, 68, 3), np.float32)), "after one of its first 2 scales"),
    ((1, np.zeros((36, 48, 3), np.float32)), "must be 68x51 RGB"),
    ((1, np.full((51, 68, 3), np.nan, np.float32)), "numbers from 0 to 1"),
    ((1, np.full((51, 68, 3), 2.0, np.float32)), "numbers from 0 to 1"),
    ((1,), "the scale it finished and that scale's image"),
], ids=["the-last-scale", "a-text-index", "a-bool-index", "another-size", "nan", "above-1", "no-image"])
def test_a_resume_point_that_does_not_fit_the_render_is_refused_before_a_step(engine, resume, message):
    settings = presets.settings("transfer", {"size": 96, "steps": 2, "start_size": 48})
    seen = []
    with pytest.raises(ParameterError, match=message):
        engine.transfer(make_photo(96, 72), [make_photo(80, 80)], settings, resume=resume, progress=seen.append)
    assert seen == []


def test_a_paintings_gram_matrices_summed_over_tiles_are_the_whole_images(engine32, monkeypatch):
    """A painting measured at a print size's scale is measured window by window, exactly."""
    from nst import images
    from nst.targets import StyleInput

    painting = StyleInput.of(make_photo(200, 150, seed=6))
    whole = engine32.style_grams(painting, (200, 150), STYLE_LAYERS)
    grams_fn = engine32._transfer_tiled_functions(STYLE_LAYERS, ())[0]
    tiled = dict(zip(STYLE_LAYERS, tiling.grams(grams_fn, images.to_array(painting.image), STYLE_LAYERS, 64)))
    for name in STYLE_LAYERS:
        assert np.abs(tiled[name] - whole[name]).max() <= 1e-4 * np.abs(whole[name]).max(), name
    calls = []
    monkeypatch.setattr(engine_module, "TRANSFER_UNTILED_MAX_PIXELS", 64 * 64)
    monkeypatch.setattr(tiling, "grams", lambda *args: calls.append(args[1].shape) or [whole[n] for n in args[2]])
    engine32.style_grams(painting, (198, 149), STYLE_LAYERS)  # a size not cached yet
    assert calls == [(149, 198, 3)]


def test_the_photos_features_kept_in_float16_are_the_float32_ones_rounded(engine32):
    """Half the memory (400 MB to 200 MB at 4096x3072 px), each feature within float16's rounding."""
    image = np.random.default_rng(7).random((150, 200, 3), dtype=np.float32)
    fn = engine32._features_function("block4_conv2")
    full = tiling.features(fn, image, "block4_conv2", 64)
    half = tiling.features(fn, image, "block4_conv2", 64, np.float16)
    assert half.dtype == np.float16 and half.nbytes * 2 == full.nbytes
    assert np.all(np.abs(half.astype(np.float32) - full) <= 2.0 ** -11 * np.abs(full) + 1e-6)


def test_features_beyond_float16s_range_are_kept_in_float32():
    import tensorflow as tf

    image = np.full((40, 40, 3), 0.5, np.float32)
    image[30, 30] = 1.0  # in the last tile: the tiles before were written in float16 already

    def loud(window):
        return tf.cast(window, tf.float32) * 1e5

    out = tiling.features(loud, image, "block1_conv1", 16, np.float16)
    assert out.dtype == np.float32 and out[0, 30, 30, 0] == 1e5  # not float16's inf
    assert out[0, 0, 0, 0] == np.float16(5e4)  # written before, within range: rounded as float16 rounds


def test_a_tiled_scale_makes_no_pass_over_the_whole_image_for_a_tv_of_weight_0(engine32):
    """Its value 0 and no gradient, as the whole image's objective gives them."""
    rng = np.random.default_rng(3)
    size = (136, 80)  # 3 x 2 tiles of 64 px
    render_terms, arguments = _arguments(engine32, size, rng)
    arguments[1] = [0.0]

    def whole_pass(*_):
        raise AssertionError("a pass over the whole image")

    tiled = tiling.TiledObjective(engine32._transfer_tiled_functions(
        tiling.gram_layers(render_terms), tiling.local_terms(render_terms)), {render_terms[1]: whole_pass},
        render_terms, arguments, size, 64, wrap=False)
    whole = objective.bind(engine32._objective_function(render_terms), render_terms, terms.tensors(arguments))
    image = rng.random((size[1], size[0], 3), dtype=np.float32)
    (loss, values, grad), (loss_whole, values_whole, grad_whole) = tiled(image), whole(image)
    assert list(values) == ["style", "tv", "content"] and values["tv"] == values_whole["tv"] == 0.0
    assert loss == pytest.approx(loss_whole, rel=1e-5)
    assert np.abs(grad - grad_whole).max() < 1e-4 * np.abs(grad_whole).max()


def test_a_tiled_render_in_half_memory_paints_as_in_float32_within_a_percent(engine, small_tiles, monkeypatch):
    """The photo's features and the L-BFGS pairs in float16 at the tiled scales, against both in float32:
    the same seed and steps give Gram and content distances within 1% (the pictures differ by rounding)."""
    from nst.optimize import Run

    photo, painting = make_photo(128, 96, seed=2), quality.starry_night()
    settings = presets.settings("transfer", {"size": 128, "steps": 4, "start_size": 90, "seed": 0})
    seen = []
    half_scale = Run.run_scale
    monkeypatch.setattr(Run, "run_scale", lambda self, i, fun, x, o, half_history=False: seen.append(
        (half_history, [a[0].dtype for t, a in getattr(fun, "local", [])])) or half_scale(self, i, fun, x, o, half_history))
    half = engine.transfer(photo, [painting], settings)
    assert seen == [(True, [np.float16])] * 2  # both scales are tiled
    features = tiling.features
    monkeypatch.setattr(tiling, "features", lambda fn, image, layer, tile, dtype=None: features(fn, image, layer, tile))
    monkeypatch.setattr(Run, "run_scale", lambda self, i, fun, x, o, half_history=False: half_scale(self, i, fun, x, o))
    full = engine.transfer(photo, [painting], settings)
    target = quality.at_size(photo, full.image)
    gram = [quality.style_distance(engine, r.image, painting) for r in (half, full)]
    content = [quality.content_distance(engine, r.image, target) for r in (half, full)]
    assert gram[0] == pytest.approx(gram[1], rel=0.01) and content[0] == pytest.approx(content[1], rel=0.01), \
        (gram, content)
