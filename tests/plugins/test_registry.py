"""Discovery, isolation of failures, parameter checks, and the built-ins' presence."""

import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nst.errors import ParameterError
from nst.plugin import RunInputs
from nst.registry import PluginError, Registry
from nst.targets import StyleInput
from tests.factories import make_painting, make_photo

INVERT = """
    import numpy as np
    from nst.params import Param
    from nst.plugin import Filter, FilterResult, Needs

    class Invert(Filter):
        id = "{id}"
        name = "Invert"
        version = "0.1"
        needs = Needs(content=True, min_styles=0, max_styles=0)
        params = (Param("amount", "float", 1.0, "How much to invert.", min=0.0, max=1.0),)
        calls = 0

        def run(self, inputs, params, progress):
            type(self).calls += 1
            photo = np.asarray(inputs.content, dtype=np.float32) / 255
            return FilterResult(photo + params["amount"] * (1 - 2 * photo), metrics={{"amount": params["amount"]}})

    FILTERS = [Invert()]
"""


def photo_inputs(**kwargs):
    return RunInputs(content=make_photo(64, 48), styles=[], style_weights=[], **kwargs)


def test_a_plugin_written_at_test_time_is_discovered_and_runs(plugin_dir):
    plugin_dir.write("invert.py", INVERT.format(id="invert"))
    registry = Registry.discover([plugin_dir])
    assert "invert" in [f.id for f in registry.filters()]
    info = next(p for p in registry.plugins if p.id == "invert")
    assert info.ok and info.origin == "folder" and info.filters == ["invert"]
    result = registry.run("invert", photo_inputs(), {"amount": "1"})
    photo = np.asarray(make_photo(64, 48), dtype=np.float32) / 255
    np.testing.assert_allclose(result.array(), 1 - photo, atol=1e-6)
    assert result.metrics["amount"] == 1.0 and "seconds" in result.metrics


def test_files_starting_with_underscore_are_skipped(plugin_dir):
    plugin_dir.write("_private.py", INVERT.format(id="private"))
    registry = Registry.discover([plugin_dir], builtin=False, entry_points=False)
    assert registry.plugins == [] and registry.filters() == []


def test_the_builtins_load_through_the_same_path():
    registry = Registry.discover([], entry_points=False)
    ids = {f.id for f in registry.filters()}
    assert {"style_transfer", "texture_synthesis", "palette"} <= ids
    assert all(p.origin == "builtin" and p.ok for p in registry.plugins)
    assert {f.id for f in registry.filters(content=False)} >= {"texture_synthesis"}
    assert "texture_synthesis" not in {f.id for f in registry.filters(content=True)}


BROKEN = {
    "syntax.py": ("def broken(:\n", "syntax error at line 1"),
    "raises.py": ("raise RuntimeError('database of brushes missing')\n", "RuntimeError: database of brushes missing"),
    "dup.py": (INVERT.format(id="style_transfer"), "duplicate filter id 'style_transfer'"),
    "invalid.py": ("""
        from nst.plugin import Filter, Needs
        class Bad(Filter):
            id = "Bad Id!"
            name = ""
            needs = Needs(content=True, min_styles=3, max_styles=1)
            def run(self, inputs, params, progress):
                pass
        FILTERS = [Bad()]
    """, "must be 2-64 characters"),
    "notafilter.py": ("FILTERS = [object()]\n", "is not an nst.plugin.Filter"),
    "empty.py": ("x = 1\n", "defines neither FILTERS nor STYLES"),
    "badparam.py": ("""
        from nst.params import Param
        from nst.plugin import Filter, Needs
        class BadParam(Filter):
            id = "bad_param"
            name = "Bad parameter"
            needs = Needs(content=True, min_styles=0, max_styles=0)
            params = [Param.__new__(Param)]
            def run(self, inputs, params, progress):
                pass
        FILTERS = [BadParam()]
    """, "refused"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_plugin_is_reported_and_the_rest_still_work(plugin_dir, name):
    source, reason = BROKEN[name]
    plugin_dir.write(name, textwrap.dedent(source))
    plugin_dir.write("invert.py", INVERT.format(id="invert"))
    registry = Registry.discover([plugin_dir], entry_points=False)
    broken = next(p for p in registry.plugins if p.location.endswith(name))
    assert reason in (broken.error + " ".join(broken.problems))
    assert broken in registry.failures()
    # The registry keeps working: the good plugin and the built-ins are there and run.
    assert registry.run("invert", photo_inputs()).array().shape == (48, 64, 3)
    assert registry.get("style_transfer").name == "Style transfer"


def test_a_filter_whose_run_raises_is_isolated_and_reported(plugin_dir):
    plugin_dir.write("explode.py", """
        from nst.plugin import Filter, Needs
        class Explode(Filter):
            id = "explode"
            name = "Explode"
            needs = Needs(content=True, min_styles=0, max_styles=0)
            def run(self, inputs, params, progress):
                raise ZeroDivisionError("division by zero in the brush engine")
        FILTERS = [Explode()]
    """)
    plugin_dir.write("invert.py", INVERT.format(id="invert"))
    registry = Registry.discover([plugin_dir], entry_points=False)
    with pytest.raises(PluginError, match="'explode' failed: ZeroDivisionError: division by zero in the brush"):
        registry.run("explode", photo_inputs())
    assert registry.run_errors() == {"explode": "ZeroDivisionError: division by zero in the brush engine"}
    assert any(p.id == "explode" for p in registry.failures())
    assert registry.run("invert", photo_inputs()).array().shape == (48, 64, 3)


def test_a_filter_returning_garbage_is_reported(plugin_dir):
    plugin_dir.write("garbage.py", """
        from nst.plugin import Filter, Needs
        class Garbage(Filter):
            id = "garbage"
            name = "Garbage"
            needs = Needs(content=True, min_styles=0, max_styles=0)
            def run(self, inputs, params, progress):
                return "not an image"
        FILTERS = [Garbage()]
    """)
    registry = Registry.discover([plugin_dir], builtin=False, entry_points=False)
    with pytest.raises(PluginError, match="not a FilterResult"):
        registry.run("garbage", photo_inputs())


@pytest.mark.parametrize("params, message", [
    ({"amount": 2}, "amount must be between 0 and 1; got 2"),
    ({"amount": "lots"}, "amount must be between 0 and 1; got 'lots' (not a number)"),
    ({"colour": 1}, "Unknown parameter 'colour'"),
])
def test_out_of_bounds_parameters_are_refused_before_any_work(plugin_dir, params, message):
    plugin_dir.write("invert.py", INVERT.format(id="invert"))
    registry = Registry.discover([plugin_dir], builtin=False, entry_points=False)
    with pytest.raises(ParameterError) as caught:
        registry.run("invert", photo_inputs(), params)
    assert message in str(caught.value)
    assert type(registry.get("invert")).calls == 0


def test_missing_inputs_are_refused_before_any_work():
    registry = Registry.discover([], entry_points=False)
    no_photo = RunInputs(content=None, styles=[StyleInput.of(make_painting())], style_weights=[1.0])
    with pytest.raises(ParameterError, match="needs a content image"):
        registry.run("style_transfer", no_photo)
    too_many = RunInputs(content=make_photo(), styles=[StyleInput.of(make_painting(seed=i)) for i in range(2)],
                         style_weights=[1.0, 1.0])
    with pytest.raises(ParameterError, match="takes 1 style image"):
        registry.run("palette", too_many)
    with pytest.raises(PluginError, match="No filter 'nope'"):
        registry.run("nope", too_many)


def test_parameters_drive_presets():
    registry = Registry.discover([], entry_points=False)
    inputs = RunInputs(content=make_photo(), styles=[StyleInput.of(make_painting())], style_weights=[1.0])
    checked = registry.check("palette", inputs, {"preset": "poster"})
    assert checked["colors"] == 4 and checked["dither"] is False
    with pytest.raises(ParameterError, match="no preset 'loud'"):
        registry.check("palette", inputs, {"preset": "loud"})


def test_the_example_palette_filter_uses_the_style_colours():
    registry = Registry.discover([], entry_points=False)
    style = Image.new("RGB", (64, 64), (200, 30, 30))
    style.paste((20, 20, 180), (0, 0, 32, 64))
    inputs = RunInputs(content=make_photo(), styles=[StyleInput.of(style)], style_weights=[1.0])
    result = registry.run("palette", inputs, {"colors": 2, "dither": False, "size": 64})
    colours = {c for _, c in result.pil().getcolors()}
    assert colours <= {(200, 30, 30), (20, 20, 180)}


def test_entry_point_plugins_are_discovered(tmp_path, monkeypatch):
    (tmp_path / "fancy_filters.py").write_text(textwrap.dedent(INVERT.format(id="fancy_invert")))
    dist = tmp_path / "fancy_filters-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fancy-filters\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[nst.plugins]\nfancy = fancy_filters\nbroken = no_such_module\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry.discover([], builtin=False)
    fancy = next(p for p in registry.plugins if p.id == "fancy")
    assert fancy.ok and fancy.origin == "entry point" and fancy.filters == ["fancy_invert"]
    broken = next(p for p in registry.plugins if p.id == "broken")
    assert not broken.ok and "No module named 'no_such_module'" in broken.error


def test_a_plugin_that_ends_the_interpreter_at_import_is_reported_not_obeyed(tmp_path, monkeypatch):
    """Run as a program: ``os._exit(3)`` at import used to end ``plugins list`` silently with status 3."""
    import subprocess
    import sys

    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "quits.py").write_text("import os\nos._exit(3)\n")
    (folder / "exits.py").write_text("import sys\nsys.exit(0)\n")
    env = dict(__import__("os").environ, NST_PLUGIN_PATH=str(folder), NST_DATA_DIR=str(tmp_path / "data"))
    done = subprocess.run([sys.executable, "-m", "nst", "plugins", "list"], capture_output=True, text=True, env=env,
                          timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert "FAILED quits" in done.stdout and "ended the program while it was imported (exit status 3)" in done.stdout
    assert "FAILED exits" in done.stdout
    assert "filter palette" in done.stdout, "the other plugins load as usual"


def test_a_plugin_that_hangs_at_import_is_given_up_on(tmp_path, monkeypatch):
    monkeypatch.setenv("NST_PLUGIN_PROBE_SECONDS", "2")
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "hangs.py").write_text("import time\ntime.sleep(3600)\n")
    registry = Registry.discover([folder], entry_points=False)
    info = next(p for p in registry.plugins if p.id == "hangs")
    assert not info.ok and "took more than 2 s to import" in info.error


def test_a_probed_plugin_is_probed_again_only_when_it_changes(tmp_path, monkeypatch):
    import nst.plugin_probe

    probed = []
    real_run = nst.plugin_probe._run_child
    monkeypatch.setattr(nst.plugin_probe, "_run_child",
                        lambda files, limit: probed.extend(Path(p).name for _, p, _ in files) or real_run(files, limit))
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "fine.py").write_text(textwrap.dedent(INVERT))
    Registry.discover([folder], entry_points=False)
    Registry.discover([folder], entry_points=False)
    assert probed.count("fine.py") == 1
    (folder / "fine.py").write_text((folder / "fine.py").read_text() + "\n# changed\n")
    Registry.discover([folder], entry_points=False)
    assert probed.count("fine.py") == 2


ECHO = """
    import numpy as np
    from nst.params import Param
    from nst.plugin import Filter, FilterResult, Needs

    class Echo(Filter):
        id = "echo"
        name = "Echo"
        needs = Needs(content=False, min_styles=1, max_styles=1)
        params = (Param("amount", "float", 1.0, "How much.", min=0.0, max=1.0),
                  Param("size", "int", 8, "Side.", min=1, max=64))
        presets = {"fast": {"size": 4}, "full": {"size": 64}}

        def run(self, inputs, params, progress):
            values = dict(params)
            values["old_digest"] = inputs.styles[0].digest  # the name plugins read before pixel_digest
            return FilterResult(np.zeros((2, 2, 3), np.float32), metrics={"params": values})

    FILTERS = [Echo()]
"""


def style_inputs():
    return RunInputs(content=None, styles=[StyleInput.of(make_painting(48, 48))], style_weights=[1.0])


def test_a_preset_named_fast_declared_as_a_plain_mapping_is_a_preview(plugin_dir):
    plugin_dir.write("echo.py", ECHO)
    registry = Registry.discover([plugin_dir], builtin=False, entry_points=False, probe=False)
    assert registry.admit("echo", style_inputs(), {"preset": "fast"}).preview
    assert not registry.admit("echo", style_inputs(), {"preset": "full"}).preview
    assert not registry.admit("echo", style_inputs(), {"size": 4}).preview


def test_a_plugin_reading_the_old_digest_name_still_runs(plugin_dir):
    plugin_dir.write("echo.py", ECHO)
    registry = Registry.discover([plugin_dir], builtin=False, entry_points=False, probe=False)
    inputs = style_inputs()
    result = registry.run("echo", inputs, {})
    assert result.metrics["params"]["old_digest"] == inputs.styles[0].pixel_digest
    with pytest.raises(AttributeError):
        inputs.styles[0].digest = "other"  # read-only: pixel_digest is the one to set


def test_a_stored_render_runs_under_the_filters_present_declarations(plugin_dir, caplog):
    """A record older than a parameter runs with that parameter's default; a value the filter no longer
    declares is left out, and logged."""
    plugin_dir.write("echo.py", ECHO)
    registry = Registry.discover([plugin_dir], builtin=False, entry_points=False, probe=False)
    missing = run_stored(registry, "echo", style_inputs(), {"size": 3}).metrics["params"]
    assert {k: missing[k] for k in ("amount", "size")} == {"amount": 1.0, "size": 3}
    with caplog.at_level("WARNING", logger="nst.registry"):
        extra = run_stored(registry, "echo", style_inputs(), {"amount": 0.5, "size": 3, "retired": 7}).metrics["params"]
    assert set(extra) == {"amount", "size", "old_digest"} and extra["amount"] == 0.5
    assert "retired" in caplog.text
    named = run_stored(registry, "echo", style_inputs(), {"preset": "fast", "retired": 7}).metrics["params"]
    assert named["size"] == 4 and "retired" not in named


def run_stored(registry, filter_id, inputs, params):
    """A stored render as a worker runs it: through the worker's admission check, then with its images."""
    admitted = registry.admit_stored(filter_id, params, content=inputs.content is not None,
                                     style_weights=inputs.style_weights)
    return registry.run_admitted(filter_id, inputs, admitted)
