"""Typed parameter kinds: a size, style layers with weights and crop boxes are parsed once at admission (from a
command line's text, the app's form or a stored render's JSON) into typed values, and never travel as text after
it; a render stored before (its values as text) is still admitted, and the worker's admission check stays strict."""

import json

import pytest

from nst.errors import ParameterError
from nst.options import CROP, STYLE_LAYERS_OPTION, TEXTURE_SIZE
from nst.params import blend_weights


@pytest.fixture(scope="module")
def registry():
    from nst.registry import Registry

    return Registry.discover([], entry_points=False)


@pytest.mark.parametrize("param, text, typed", [
    (TEXTURE_SIZE, "256x128", (256, 128)),
    (TEXTURE_SIZE, "256", (256, 256)),
    (STYLE_LAYERS_OPTION, "block1_conv1, block3_conv1:2", (("block1_conv1", 1.0), ("block3_conv1", 2.0))),
    (STYLE_LAYERS_OPTION, "block2_conv1:0.125", (("block2_conv1", 0.125),)),
    (CROP, "10,20,40,50", ((10, 20, 40, 50),)),
    (CROP, " ;0,0,64,64", (None, (0, 0, 64, 64))),
    (CROP, "", ()),
])
def test_text_json_and_typed_values_read_the_same(param, text, typed):
    assert param.coerce(text) == typed
    assert param.coerce(typed) == typed
    assert param.coerce(json.loads(json.dumps(typed))) == typed  # as a stored render's row holds it
    assert param.coerce(param.text(typed)) == typed  # the form's text reads back exactly


@pytest.mark.parametrize("param, value, message", [
    (TEXTURE_SIZE, [256, None], "not WIDTHxHEIGHT"),
    (TEXTURE_SIZE, [256, 128, 3], "not WIDTHxHEIGHT"),
    (TEXTURE_SIZE, [1e400, 128], "size must be WIDTHxHEIGHT"),
    (TEXTURE_SIZE, {"w": 256}, "not WIDTHxHEIGHT"),
    (STYLE_LAYERS_OPTION, [["block9_conv1", 1.0]], "'block9_conv1' is not one of them"),
    (STYLE_LAYERS_OPTION, [["block1_conv1", -1]], "weight of style layer block1_conv1 must be a number above 0"),
    (STYLE_LAYERS_OPTION, [["block1_conv1", True]], "weight of style layer block1_conv1 must be a number above 0"),
    (STYLE_LAYERS_OPTION, [["block1_conv1", "2"]], "weight of style layer block1_conv1 must be a number above 0"),
    (STYLE_LAYERS_OPTION, [["block1_conv1", 1e13]], "at most 1e\\+12"),
    (STYLE_LAYERS_OPTION, [["block1_conv1"]], "is not one of them"),
    (STYLE_LAYERS_OPTION, ["block1_conv1", "block1_conv1"], "must not repeat"),
    (STYLE_LAYERS_OPTION, [], "must name at least one"),
    (STYLE_LAYERS_OPTION, ["block1_conv1"] * 500, "style_layers must be"),
    (STYLE_LAYERS_OPTION, 7, "style_layers must be"),
    (CROP, [[0, 0, 64]], "a box is four whole numbers"),
    (CROP, [[0, 0, 64, 64.5]], "a box is four whole numbers"),
    (CROP, [[0, 0, 64, True]], "a box is four whole numbers"),
    (CROP, [[-1, 0, 64, 64]], "outside the image"),
    (CROP, [[0, 0, 8, 64]], "smaller than 32x32"),
    (CROP, [[0, 0, 64, 64]] * 65, "crop must be"),
    (CROP, {"x": 1}, "crop must be"),
    (CROP, "1,2,3", "x,y,w,h"),
])
def test_bad_stored_or_typed_values_are_refused_with_the_reason(param, value, message):
    with pytest.raises(ParameterError, match=message):
        param.coerce(value)


def test_checked_values_are_typed_and_old_rows_strings_still_admitted(registry):
    new = registry.admit_stored("texture_synthesis", {"size": [256, 128], "crop": [[0, 0, 64, 64]],
                                                      "style_layers": [["block1_conv1", 1.0], ["block3_conv1", 2.0]]},
                                content=False, style_weights=[1.0]).params
    old = registry.admit_stored("texture_synthesis", {"size": "256x128", "crop": "0,0,64,64",
                                                      "style_layers": "block1_conv1,block3_conv1:2"},
                                content=False, style_weights=[1.0]).params
    assert new == old
    assert old["size"] == (256, 128) and old["crop"] == ((0, 0, 64, 64),)
    assert old["style_layers"] == (("block1_conv1", 1.0), ("block3_conv1", 2.0))
    defaults = registry.resolve("style_transfer")
    assert not any(isinstance(defaults[name], str) for name in ("style_layers",))
    with pytest.raises(ParameterError, match="outside the image"):  # the worker's admission check stays strict
        registry.admit_stored("texture_synthesis", {"crop": [[-5, 0, 64, 64]]}, content=False, style_weights=[1.0])
    with pytest.raises(ParameterError, match="is not one of them"):
        registry.admit_stored("style_transfer", {"style_layers": [["pool5", 1]]}, content=True, style_weights=[1.0])


def test_a_texture_runs_from_typed_values_without_text(registry):
    from nst.settings import settings_of

    values = registry.resolve("texture_synthesis", {"size": "160x128", "crop": "0,0,64,64",
                                                    "style_layers": "block1_conv1:2,block2_conv1"})
    settings = settings_of("texture", values)
    assert (settings.width, settings.height, settings.crop) == (160, 128, ((0, 0, 64, 64),))
    assert settings.style_layers == ("block1_conv1", "block2_conv1") and settings.style_layer_weights == (2.0, 1.0)


@pytest.mark.parametrize("weights, count, message", [
    ([1.0], 2, "1 value for 2 styles"),
    ("1,2", None, "must be a list of numbers"),
    ([1.0, "x"], None, "must be numbers"),
    ([True], None, "must be numbers"),
    ([10**400], None, "must be numbers"),
    ([1.0, -1.0], None, "finite numbers of at least 0"),
    ([float("nan")], None, "finite numbers of at least 0"),
    ([0.0, 0.0], None, "must not all be 0"),
])
def test_blend_weights_are_checked_in_one_place(weights, count, message):
    with pytest.raises(ParameterError, match=message):
        blend_weights(weights, count)
    assert blend_weights([0, 2], 2) == (0.0, 2.0) and blend_weights([]) == ()


@pytest.mark.parametrize("param", [STYLE_LAYERS_OPTION, CROP])
def test_a_long_text_is_refused_before_it_is_parsed(param):
    with pytest.raises(ParameterError, match=f"{param.name} must be text of at most 1,000 characters"):
        param.coerce("block1_conv1" + "," * 5000 if param is STYLE_LAYERS_OPTION else ";" * 5000)
