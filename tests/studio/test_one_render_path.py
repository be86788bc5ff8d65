"""One render path and one assembly: the CLI's ``transfer`` and ``texture`` are admitted and run by the registry
as the app's and the workers' renders are; the built-in filters are one class whose default preset and previews
come from the preset table; the app, the workers and the CLI open the library and find the plugins in one place.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from PIL import Image

from nst import presets
from nst.builtin_filters import FILTER_IDS, builtin_filter
from nst.errors import NSTError
from nst.plugin import Filter, FilterResult, Needs, Preset, default_preset, filter_problems
from nst.registry import Registry
from studio import cli
from tests.factories import make_painting, make_photo

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def files(tmp_path):
    photo, painting = tmp_path / "photo.png", tmp_path / "painting.png"
    make_photo(96, 72).save(photo)
    make_painting(96, 96).save(painting)
    return photo, painting


@pytest.fixture
def admissions(monkeypatch):
    """Every render the registry admits, as (filter id, checked values, inputs)."""
    seen = []
    admit = Registry.admit

    def recording(self, filter_id, inputs, params=None):
        admitted = admit(self, filter_id, inputs, params)
        seen.append((filter_id, admitted.params, inputs))
        return admitted

    monkeypatch.setattr(Registry, "admit", recording)
    return seen


@pytest.mark.slow
def test_the_cli_transfer_is_admitted_and_run_by_the_registry(tmp_path, files, engine, monkeypatch, capsys,
                                                              admissions):
    """What the filter sees (a plugin-visible effect): the checked values, the snapshots and the progress in
    its run's inputs; what the CLI writes is the filter's result."""
    monkeypatch.setattr(cli, "make_engine", lambda open_library: engine)
    flt = cli.builtin("transfer")
    runs = []
    run = flt.run

    def recording_run(inputs, params, progress):
        seen = []
        result = run(inputs, params, lambda p: (seen.append(p.step), progress(p)))
        runs.append((inputs, params, seen))
        return result

    monkeypatch.setattr(flt, "run", recording_run)
    photo, painting = files
    out, snaps = tmp_path / "out.png", tmp_path / "snaps"
    code = cli.main([str(a) for a in ("transfer", photo, painting, "-o", out, "--size", "64", "--start-size", "64",
                                      "--steps", "2", "--seed", "3", "--snapshots", snaps, "--snapshot-every", "1")])
    captured = capsys.readouterr()
    assert code == 0, captured.err

    assert [(filter_id, params["size"], params["seed"]) for filter_id, params, _ in admissions] == \
        [("style_transfer", 64, 3)]
    assert "preset" not in admissions[0][1]  # resolved at admission into the default preset's values
    assert admissions[0][1]["content_weight"] == presets.get(presets.DEFAULT, "transfer").content_weight
    [(inputs, params, steps)] = runs
    assert params == admissions[0][1]
    assert (inputs.snapshot_every, inputs.snapshot_dir, list(inputs.style_names)) == (1, snaps, [str(painting)])
    assert steps and steps[-1] == 2  # the progress reached the filter's caller through the registry
    assert sorted(p.name for p in snaps.iterdir()) == ["step_00001.png", "step_00002.png"]
    assert Image.open(out).size == (64, 48)
    assert captured.out.startswith(f"Wrote {out} (64x48) in ") and ", 2 steps, loss " in captured.out


def test_the_cli_texture_goes_through_the_same_admission(tmp_path, files, monkeypatch, capsys, admissions):
    """The filter's own check (a crop box outside its painting, named as the user named it) and a run that
    stops with the user's error: no engine is ever built by the CLI itself."""
    monkeypatch.setattr(cli, "make_engine", lambda open_library: pytest.fail("the filter was not asked to run"))
    flt = cli.builtin("texture")
    monkeypatch.setattr(flt, "run", lambda inputs, params, progress: (_ for _ in ()).throw(NSTError("ran")))
    _, painting = files
    args = ["texture", str(painting), "-o", str(tmp_path / "t.png"), "-q", "--preset", "fast"]
    assert cli.main([*args, "--crop", "50,50,64,64"]) == 2
    assert "painting.png (96x96 px)" in capsys.readouterr().err
    assert cli.main(args) == 2 and "error: ran" in capsys.readouterr().err
    assert [filter_id for filter_id, _, _ in admissions] == ["texture_synthesis"]
    fast = cli._builtins().resolve("texture_synthesis", {"preset": "fast"})  # the preset asked for, resolved
    assert admissions[0][1] == fast != cli._builtins().resolve("texture_synthesis", {})


@pytest.mark.parametrize("extra, message", [
    (["--snapshot-every", "0", "--snapshots", "{tmp}/s"], "--snapshot-every must be at least 1"),
    (["--snapshots", "{photo}"], "it is a file; name a folder"),
])
def test_bad_snapshot_options_are_refused_before_admission(tmp_path, files, monkeypatch, capsys, admissions,
                                                          extra, message):
    photo, painting = files
    monkeypatch.setattr(cli, "make_engine", lambda open_library: pytest.fail("refused before the engine"))
    extra = [e.format(tmp=tmp_path, photo=photo) for e in extra]
    code = cli.main(["transfer", str(photo), str(painting), "-o", str(tmp_path / "o.png"), "-q", *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert admissions == []


def test_the_built_in_filters_are_one_class_with_the_preset_tables_default_and_previews():
    transfer, texture = builtin_filter("transfer"), builtin_filter("texture")
    assert type(transfer) is type(texture)
    assert {transfer.id, texture.id} == set(FILTER_IDS.values())
    for flt in (transfer, texture):
        assert filter_problems(flt) == []
        assert default_preset(flt) == presets.DEFAULT
        assert {name for name, preset in flt.presets.items() if preset.preview} == set(presets.PREVIEWS)
    with pytest.raises(NSTError, match="Unknown operation"):
        builtin_filter("collage")


class _Plain(Filter):
    id = "plain"
    name = "Plain"
    needs = Needs(content=False, min_styles=0, max_styles=0)
    presets = {"small": {}, "large": {}}

    def run(self, inputs, params, progress):
        return FilterResult(make_photo(8, 8))


def test_a_filters_default_preset_is_its_own_declaration_else_its_first():
    assert default_preset(_Plain()) == "small"
    chosen = type("Chosen", (_Plain,), {"default_preset": "large"})()
    assert default_preset(chosen) == "large" and filter_problems(chosen) == []
    wrong = type("Wrong", (_Plain,), {"default_preset": "huge"})()
    assert filter_problems(wrong) == ["default_preset 'huge' is not one of its presets"]
    assert default_preset(type("Bare", (_Plain,), {"presets": {}})()) is None
    preview = type("Preview", (_Plain,), {"presets": {"quick": Preset({}, preview=True)}})()
    assert preview.presets["quick"].preview and filter_problems(preview) == []


def _string_constants(path: Path) -> list[tuple[int, str]]:
    return [(node.lineno, node.value) for node in ast.walk(ast.parse(path.read_text(), str(path)))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def test_no_preset_name_is_written_outside_the_preset_table():
    """Which preset is the default and which is a preview is read from nst/presets.py wherever it matters
    (the one exception: a plugin's preset declared as a plain mapping is a preview when named ``fast``)."""
    names = set(presets.names())
    allowed = {ROOT / "nst" / "presets.py": names, ROOT / "nst" / "plugin.py": {"fast"}}
    sources = [ROOT / "streamlit_app.py", *(p for package in ("nst", "db", "studio", "ui", "plugins")
                                            for p in sorted((ROOT / package).rglob("*.py")))]
    found = [f"{path.relative_to(ROOT)}:{line} {value!r}" for path in sources
             for line, value in _string_constants(path) if value in names - allowed.get(path, set())]
    assert found == []


#: The modules that assemble the app's parts, and what they must take from studio/assembly.py instead.
ASSEMBLERS = ("ui/services.py", "studio/consumer.py", "studio/cli_support.py", "studio/farm_cli.py",
              "studio/plugin_cli.py", "studio/styles_cli.py")


@pytest.mark.parametrize("module", ASSEMBLERS)
def test_the_app_the_workers_and_the_cli_assemble_in_one_place(module):
    """No second copy of "open the library, discover the plugins, add their styles, build the engine"."""
    tree = ast.parse((ROOT / module).read_text())
    offences = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("db", "db.library", "db.gram_store", "nst.engine"):
            offences += [f"imports {node.module}.{a.name}" for a in node.names
                         if a.name in ("open_library", "GramStore", "Engine")]
        if isinstance(node, ast.Attribute) and node.attr in ("discover", "sync_styles"):
            offences.append(f"calls .{node.attr} at line {node.lineno}")
    assert offences == []
    assert "assembly" in {alias.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                          for alias in n.names} | {n.module.rpartition(".")[2] for n in ast.walk(tree)
                                                   if isinstance(n, ast.ImportFrom) and n.module}


@pytest.mark.slow
def test_the_assembly_opens_the_library_with_the_plugins_styles_and_builds_no_engine_until_asked(tmp_path):
    from studio.assembly import assemble

    app = assemble(url=f"sqlite:///{tmp_path / 'lib.db'}")
    try:
        assert {"style_transfer", "texture_synthesis"} <= {f.id for f in app.registry.filters()}
        assert {s.plugin_id for s in app.library.list_styles()} >= {"starter_collection"}
        farm = app.farm(f"sqlite:///{tmp_path / 'queue.db'}")
        assert farm.library is app.library and farm.registry is app.registry
        farm.queue.close()
        before = app.registry
        assert app.reload_plugins() is app.registry is not before
    finally:
        app.close()
    bare = assemble(sync_styles=False, url=f"sqlite:///{tmp_path / 'bare.db'}")
    try:
        assert bare.library.list_styles() == []
    finally:
        bare.close()


def test_the_progress_bar_shows_a_stage_before_the_first_step_on_a_terminal_and_not_in_a_log():
    """A built-in render says what it does before its first step (loading the network, measuring the style)."""
    import io

    from nst.progress import Progress
    from studio.cli_support import ProgressBar

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stage = Progress(0, 0, 0.1, fraction=0.4, stage="Measuring the style: 2 of 5 sizes")
    log = io.StringIO()
    ProgressBar(log)(stage)
    assert log.getvalue() == ""
    bar = ProgressBar(Terminal())
    try:
        bar(stage)
        assert bar._bar.tasks[0].fields["scale"] == stage.stage and bar._bar.tasks[0].completed == 0
    finally:
        bar.close()
