"""The built-in filters match the core API, and plugin styles land in the library once."""

import numpy as np
import pytest

from db import open_library
from nst import options
from nst.plugin import RunInputs
from nst.registry import Registry
from nst.targets import StyleInput
from tests.factories import make_painting, make_photo

TINY = {"size": 64, "start_size": 64, "steps": 4, "seed": 3}


@pytest.fixture(scope="module")
def registry():
    return Registry.discover([], entry_points=False)


def test_style_transfer_through_the_plugin_equals_the_core_api(registry, engine):
    photo, style = make_photo(), make_painting()
    inputs = RunInputs(content=photo, styles=[StyleInput.of(style)], style_weights=[1.0],
                       engine_provider=lambda: engine)
    through_plugin = registry.run("style_transfer", inputs, TINY)
    direct = engine.transfer(photo, [style], options.to_settings("transfer", TINY))
    np.testing.assert_array_equal(through_plugin.array(), direct.image)
    assert through_plugin.metrics["steps"] == direct.steps
    assert set(through_plugin.metrics["losses"]) == {"total", "style", "content", "tv"}


def test_texture_through_the_plugin_equals_the_core_api(registry, engine):
    style = make_painting(seed=9)
    inputs = RunInputs(content=None, styles=[StyleInput.of(style)], style_weights=[1.0],
                       engine_provider=lambda: engine)
    tiny = {"size": "128x128", "start_size": 128, "steps": 3, "seed": 3, "stroke_scale": 0.125, "crop": "8,8,64,64"}
    through_plugin = registry.run("texture_synthesis", inputs, tiny)
    direct = engine.texture([style], options.to_settings("texture", tiny))
    np.testing.assert_array_equal(through_plugin.array(), direct.image)


def test_the_texture_filter_refuses_a_crop_outside_its_style_before_the_render(registry):
    from nst.errors import ParameterError

    inputs = RunInputs(content=None, styles=[StyleInput.of(make_painting(80, 60))], style_weights=[1.0])
    assert registry.check("texture_synthesis", inputs, {"crop": "0,0,80,60"})["crop"] == "0,0,80,60"
    with pytest.raises(ParameterError, match=r"reaches \(90, 60\), outside the style image \(80x60 px\)"):
        registry.check("texture_synthesis", inputs, {"crop": "10,0,80,60"})
    with pytest.raises(ParameterError, match="size must be WIDTHxHEIGHT"):
        registry.check("texture_synthesis", inputs, {"size": "64x64"})


def test_builtin_presets_reproduce_the_engine_presets(registry):
    from nst import presets

    flt = registry.get("style_transfer")
    for name in presets.names():
        assert options.to_settings("transfer", registry.check(
            "style_transfer", RunInputs(content=make_photo(), styles=[StyleInput.of(make_painting())],
                                        style_weights=[1.0]), {"preset": name})) == presets.get(name, "transfer")
        assert options.to_settings("texture", registry.check(
            "texture_synthesis", RunInputs(content=None, styles=[StyleInput.of(make_painting())], style_weights=[1.0]),
            {"preset": name})) == presets.get(name, "texture")
    assert set(flt.presets) == set(presets.names())


def test_plugin_styles_appear_in_the_library_once(tmp_path, registry):
    library = open_library(f"sqlite:///{tmp_path / 'lib.db'}")
    try:
        assert registry.sync_styles(library) == []
        first = {s.name: s for s in library.list_styles()}
        assert {"Blue waves", "Embers", "Mosaic"} <= set(first)
        assert first["Mosaic"].source == "plugin:example_palette"
        # A restart (a new registry, the same library) adds nothing.
        Registry.discover([], entry_points=False).sync_styles(library)
        again = library.list_styles()
        assert len(again) == len(first)
    finally:
        library.close()
