"""One source of bounds: each option's bounds are written once, in its Param declaration (nst/options.py),
and the CLI, the app's widgets (built from a filter's Params) and Settings all follow it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nst import options, presets
from nst.errors import ParameterError
from nst.settings import Settings

ROOT = Path(__file__).resolve().parents[2]

#: Settings fields checked by a declaration of the same name (``optimizer`` is the field ``method``): every
#: bounded number of either operation, texture-only ones (``stroke_scale``) included.
NUMBERS = list({p.name: p for p in options.declared("transfer") + options.declared("texture")
                if p.kind in ("int", "float") and p.max is not None}.values())


@pytest.mark.parametrize("param", NUMBERS, ids=lambda p: p.name)
def test_settings_take_the_declared_bounds(param):
    base = Settings()
    high = int(param.max) if param.kind == "int" else param.max
    low = int(param.min) if param.kind == "int" else param.min
    assert base.replace(**{param.name: high}).as_dict()[param.name] == high
    assert base.replace(**{param.name: low}).as_dict()[param.name] == low
    with pytest.raises(ParameterError, match=param.name):
        base.replace(**{param.name: high + (1 if param.kind == "int" else param.max * 0.5 + 1)})
    if param.min > 0:
        with pytest.raises(ParameterError, match=param.name):
            base.replace(**{param.name: low - (1 if param.kind == "int" else param.min * 0.5)})


def test_the_numbers_checked_include_the_texture_only_and_the_unset_ones():
    assert {"stroke_scale", "style_size", "final_steps", "steps"} <= {p.name for p in NUMBERS}


@pytest.fixture(scope="module")
def registry():
    from nst.registry import Registry

    return Registry.discover([], entry_points=False)


def _photo_inputs():
    from nst.plugin import RunInputs
    from nst.targets import StyleInput
    from tests.factories import make_painting, make_photo

    return RunInputs(content=make_photo(), styles=[StyleInput.of(make_painting())], style_weights=[1.0])


@pytest.mark.parametrize("name, low, high", [("style_size", 32, 2048), ("final_steps", 1, 1_000_000)])
def test_a_number_whose_zero_means_not_set_is_zero_or_within_its_bounds_at_admission(registry, name, low, high):
    """``style_size`` and ``final_steps`` are 0 (not set) or within their declared bounds; admission refuses
    the rest, whatever the preset, so the engine never receives them."""
    from nst.settings import settings_of

    for filter_id, operation in (("style_transfer", "transfer"), ("texture_synthesis", "texture")):
        inputs = _photo_inputs()
        for value in (0, low, high):
            admitted = registry.admit(filter_id, inputs, {name: value, "preset": "fast"}).params
            assert getattr(settings_of(operation, admitted), name) == (value or None)
        for value in (low - 1, high + 1) if low > 1 else (high + 1, -1):
            with pytest.raises(ParameterError, match=f"{name} must be 0 \\(not set\\) or between"):
                registry.admit(filter_id, inputs, {name: value, "preset": "fast"})
    with pytest.raises(ParameterError, match=name):
        Settings(**{name: 0})  # in Settings, None (not 0) means not set
    with pytest.raises(ParameterError, match=name):
        Settings(**{name: low - 1})


def test_the_steps_and_style_scale_bounds_agree_everywhere():
    steps = options.STEPS
    Settings(steps=int(steps.max))
    with pytest.raises(ParameterError, match="steps must be between 1 and 20000"):
        Settings(steps=int(steps.max) + 1)
    with pytest.raises(ParameterError, match="style_scale must be between 0.1 and 4"):
        Settings(style_scale=0.05)


def test_style_layers_take_optional_weights_and_read_back_exactly():
    from nst.settings import layers_of, layers_text

    assert layers_of(" block1_conv1 , block3_conv1:2,block5_conv1 : 0.5,") == (
        ("block1_conv1", "block3_conv1", "block5_conv1"), (1.0, 2.0, 0.5))
    assert layers_text(("block1_conv1", "block3_conv1", "block5_conv1"), (1.0, 2.0, 0.5)) == \
        "block1_conv1,block3_conv1:2,block5_conv1:0.5"
    odd = (1 / 3, 1e-7, 1e12)
    assert layers_of(layers_text(("block1_conv1", "block2_conv1", "block3_conv1"), odd))[1] == odd


@pytest.mark.parametrize("text, message", [
    ("block9_conv1", "'block9_conv1' is not one of them"),
    ("block1_conv1:2:3", "weight of style layer block1_conv1 must be a number above 0 and at most 1e\\+12"),
    ("block1_conv1:", "weight of style layer block1_conv1 must be a number"),
    ("block1_conv1:heavy", "weight of style layer block1_conv1 must be a number"),
    ("block1_conv1:-1", "weight of style layer block1_conv1 must be a number"),
    ("block1_conv1:nan", "must be a number"), ("block1_conv1:inf", "must be a number"),
    ("block1_conv1:1e400", "must be a number"), ("block1_conv1:1e308,block2_conv1:1e308", "at most 1e\\+12"),
    ("block1_conv1:1_0", "must be a number"), ("block1_conv1:\u0663", "must be a number"),
    ("block1_conv1:\uff11", "must be a number"), ("block1_conv1:-0,block2_conv1", "must be a number"),
    ("block1_conv1:0,block2_conv1", "leave a layer out to turn it off"),
    ("block1_conv1,block1_conv1:2", "must not repeat"),
    (" , ", "must name at least one"),
])
def test_bad_style_layers_are_refused_at_admission(registry, text, message):
    for filter_id in ("style_transfer", "texture_synthesis"):
        with pytest.raises(ParameterError, match=message):
            registry.admit(filter_id, _photo_inputs(), {"style_layers": text, "preset": "fast"})


def test_settings_refuse_a_layer_weight_whose_sum_could_overflow():
    Settings(style_layer_weights=(1e12,) * 5)
    with pytest.raises(ParameterError, match="at most 1e\\+12"):
        Settings(style_layer_weights=(1e308,) * 5)


def test_the_layer_weights_given_at_admission_reach_the_render(registry):
    from nst.settings import settings_of

    admitted = registry.admit("style_transfer", _photo_inputs(),
                              {"style_layers": "block2_conv1:3,block4_conv1", "preset": "fast"}).params
    settings = settings_of("transfer", admitted)
    assert (settings.style_layers, settings.style_layer_weights) == (("block2_conv1", "block4_conv1"), (3.0, 1.0))


def test_every_preset_validates():
    for name in presets.names():
        for operation in presets.OPERATIONS:
            presets.get(name, operation).validate()
    tutorial = presets.get("tutorial", "texture")
    assert tutorial.steps == 5000 and tutorial.optimizer.method == "adam"


CHILD = textwrap.dedent("""
    import contextlib, io, sys
    from nst.errors import ParameterError
    from nst.registry import Registry
    from nst.settings import Settings
    from studio.cli import build_parser

    Settings(steps=30000)  # within the new bound
    try:
        Settings(steps=30001)
        raise SystemExit("Settings took steps=30001")
    except ParameterError:
        pass
    flt = Registry.discover([], entry_points=False).get("style_transfer")
    steps = next(p for p in flt.params if p.name == "steps")  # the app's widget is built from this
    assert steps.max == 30000, steps
    help_text = io.StringIO()
    with contextlib.redirect_stdout(help_text), contextlib.suppress(SystemExit):
        build_parser().parse_args(["transfer", "--help"])
    assert "between 1 and 30000" in " ".join(help_text.getvalue().split()), help_text.getvalue()
    print("ok")
""")


def test_a_bound_changed_in_its_declaration_changes_it_everywhere(tmp_path):
    """A copy of the code with the bound of ``steps`` changed in nst/options.py alone: Settings, the
    filter's parameters (the app's widgets) and the CLI's help all take the new bound."""
    for package in ("nst", "studio", "db", "plugins"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    declarations = tmp_path / "nst" / "options.py"
    text = declarations.read_text()
    assert text.count("max=20000") == 1
    declarations.write_text(text.replace("max=20000", "max=30000"))
    done = subprocess.run([sys.executable, "-c", CHILD], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


@pytest.mark.parametrize("operation", presets.OPERATIONS)
def test_every_preset_survives_admission_whole(operation):
    """A preset becomes plain values at the registry and Settings again in the filter: no field may be
    lost on the way (a Settings field with no declaration would silently fall back to its default)."""
    for name in presets.names():
        preset = presets.get(name, operation)
        again = presets.settings_of(operation, presets.values_of(preset, operation))
        differ = {k: (v, again.as_dict()[k]) for k, v in preset.as_dict().items()
                  if again.as_dict()[k] != v and (operation == "transfer" or k not in ("size", "square"))}
        assert not differ, f"{name} {operation}: {differ}"
