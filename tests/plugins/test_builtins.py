"""The built-in filters match the core API, and plugin styles land in the library once."""

import numpy as np
import pytest

from db import open_library
from nst import options, presets, pyramid
from nst.plugin import FilterResult, Preset, RunInputs
from nst.registry import Registry
from nst.targets import StyleInput
from tests.factories import make_painting, make_photo
from tests.plugins.test_registry import run_stored

TINY = {"size": 64, "start_size": 64, "steps": 4, "seed": 3}


@pytest.fixture(scope="module")
def registry():
    return Registry.discover([], entry_points=False)


def test_style_transfer_through_the_plugin_equals_the_core_api(registry, engine):
    photo, style = make_photo(), make_painting()
    inputs = RunInputs(content=photo, styles=[StyleInput.of(style)], style_weights=[1.0],
                       engine_provider=lambda: engine)
    through_plugin = registry.run("style_transfer", inputs, TINY)
    direct = engine.transfer(photo, [style], presets.settings("transfer", TINY))
    np.testing.assert_array_equal(through_plugin.array(), direct.image)
    assert through_plugin.metrics["steps"] == direct.steps
    assert set(through_plugin.metrics["losses"]) == {"total", "style", "content", "tv"}


def test_texture_through_the_plugin_equals_the_core_api(registry, engine):
    style = make_painting(seed=9)
    inputs = RunInputs(content=None, styles=[StyleInput.of(style)], style_weights=[1.0],
                       engine_provider=lambda: engine)
    tiny = {"size": "128x128", "start_size": 128, "steps": 3, "seed": 3, "stroke_scale": 0.125, "crop": "8,8,64,64"}
    through_plugin = registry.run("texture_synthesis", inputs, tiny)
    direct = engine.texture([style], presets.settings("texture", tiny))
    np.testing.assert_array_equal(through_plugin.array(), direct.image)


def test_the_texture_filter_refuses_a_crop_outside_its_style_before_the_render(registry):
    from nst.errors import ParameterError

    inputs = RunInputs(content=None, styles=[StyleInput.of(make_painting(80, 60))], style_weights=[1.0])
    assert registry.check("texture_synthesis", inputs, {"crop": "0,0,80,60"})["crop"] == ((0, 0, 80, 60),)
    with pytest.raises(ParameterError, match=r"reaches \(90, 60\), outside the style image \(80x60 px\)"):
        registry.check("texture_synthesis", inputs, {"crop": "10,0,80,60"})
    with pytest.raises(ParameterError, match="size must be WIDTHxHEIGHT"):
        registry.check("texture_synthesis", inputs, {"size": "64x64"})


def test_builtin_presets_reproduce_the_engine_presets(registry):
    from nst.settings import settings_of

    flt = registry.get("style_transfer")
    for name in presets.names():
        transfer = registry.check("style_transfer", RunInputs(content=make_photo(), styles=[StyleInput.of(
            make_painting())], style_weights=[1.0]), {"preset": name})
        assert "preset" not in transfer  # resolved at admission into plain values
        assert settings_of("transfer", transfer) == presets.get(name, "transfer")
        texture = registry.check("texture_synthesis", RunInputs(content=None, styles=[StyleInput.of(
            make_painting())], style_weights=[1.0]), {"preset": name})
        expected, got = presets.get(name, "texture"), settings_of("texture", texture)
        # A texture's width and height rule: its long side ``size`` is not among the options (the
        # tutorial's 224 comes back as the default 512) and plans nothing, so the same texture is made.
        assert expected.width is not None
        assert got == expected.replace(size=got.size)
        assert pyramid.texture(got, [(300, 200)]) == pyramid.texture(expected, [(300, 200)])
    assert set(flt.presets) == set(presets.names())


@pytest.mark.parametrize("filter_id, operation", [("style_transfer", "transfer"), ("texture_synthesis", "texture")])
def test_builtin_filters_declare_their_presets_with_their_descriptions(registry, filter_id, operation):
    flt = registry.get(filter_id)
    for name, preset in flt.presets.items():
        assert isinstance(preset, Preset) and preset.description == presets.DESCRIPTIONS[name]
        assert preset.preview == (name == "fast")
    assert not any(p.name == "preset" for p in flt.params)


def test_admission_says_which_renders_are_quick_previews(registry):
    inputs = RunInputs(content=make_photo(), styles=[StyleInput.of(make_painting())], style_weights=[1.0])
    assert registry.admit("style_transfer", inputs, {"preset": "fast"}).preview
    assert not registry.admit("style_transfer", inputs, {"preset": "quality"}).preview
    assert not registry.admit("style_transfer", inputs, {}).preview


def test_a_render_recorded_with_its_preset_name_still_runs_as_that_preset(registry, monkeypatch):
    """Renders recorded before presets were resolved on the way in kept the preset's name and the options
    a user sees; the registry resolves the name when such a render runs, and the filter gets plain values."""
    from nst.settings import settings_of, values_of

    flt = registry.get("style_transfer")
    received = []

    def run(self, inputs, params, progress):
        received.append(dict(params))
        return FilterResult(np.zeros((4, 4, 3), dtype=np.float32))

    monkeypatch.setattr(type(flt), "run", run)
    tutorial = values_of(presets.get("tutorial", "transfer"), "transfer")
    old_record = {"preset": "tutorial", **{p.name: tutorial[p.name] for p in options.TRANSFER}, "seed": 7}
    inputs = RunInputs(content=make_photo(), styles=[StyleInput.of(make_painting())], style_weights=[1.0])
    run_stored(registry, "style_transfer", inputs, old_record)
    assert "preset" not in received[0]
    assert settings_of("transfer", received[0]) == presets.get("tutorial", "transfer").replace(seed=7)
    # A render recorded now holds plain values, and runs with them as they are.
    checked = registry.check("style_transfer", inputs, {"preset": "fast", "seed": 2})
    run_stored(registry, "style_transfer", inputs, checked)
    assert received[1] == checked


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
