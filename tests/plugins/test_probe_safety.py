"""The plugin probe's reproductions: a plugin that fakes its success, one that passed and then blocks, one
dropped into the built-in folder, the probe's own cache. Each failed before the probe decided by the child's
exit, remembered failures, had a hard limit and probed the built-in folder too."""

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import nst.plugin_probe
import nst.registry
from nst.registry import SHIPPED, Registry
from tests.plugins.test_registry import INVERT

ROOT = Path(__file__).resolve().parents[2]
FAKE_SUCCESS = """
    import os, sys
    sys.stdout.write("nst-plugin-probe-ok")
    sys.stdout.flush()
    sys.stderr.write("Traceback (most recent call last):\\n  fake\\nRuntimeError: nothing to see\\n")
    sys.stderr.flush()
    os._exit(1)
"""


@pytest.fixture
def counted(tmp_path):
    """A plugin (an Invert filter with the id ``flaky``) that appends a line to a marker file whenever it is
    imported, in the probe's child or in the host: (its folder, its path, a function counting the imports)."""
    folder = tmp_path / "counted"
    folder.mkdir()
    marker = tmp_path / "imports.txt"
    plugin = folder / "flaky.py"
    plugin.write_text(f"open({str(marker)!r}, 'a').write('imported\\n')\n" + textwrap.dedent(INVERT.format(id="flaky")))
    return folder, plugin, lambda: len(marker.read_text().splitlines()) if marker.exists() else 0


@pytest.mark.parametrize("command", [["plugins", "list"], ["renders", "list"]])
def test_a_plugin_that_prints_a_success_and_a_traceback_then_exits_is_not_imported(tmp_path, command):
    """It used to end both commands with status 1 and no message: its traceback made it look harmless."""
    folder = tmp_path / "liars"
    folder.mkdir()
    (folder / "liar.py").write_text(textwrap.dedent(FAKE_SUCCESS))
    env = dict(os.environ, NST_PLUGIN_PATH=str(folder))
    done = subprocess.run([sys.executable, "-m", "nst", *command], capture_output=True, text=True, env=env,
                          timeout=180, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    if command[0] == "plugins":
        assert "FAILED liar" in done.stdout
        assert "ended the program while it was imported (exit status 1); it was not loaded" in done.stdout
        assert "filter palette" in done.stdout, "the other plugins load as usual"


def test_a_plugin_that_passed_and_then_blocks_costs_one_time_limit_once(counted, monkeypatch):
    folder, plugin, imports = counted
    first = Registry.discover([folder], entry_points=False)
    assert next(p for p in first.plugins if p.id == "flaky").ok
    assert imports() == 2, "once in the probe's child, once here"
    monkeypatch.setenv("NST_PLUGIN_PROBE_SECONDS", "2")  # the built-ins passed under the default limit

    plugin.write_text(plugin.read_text() + "\nimport time\ntime.sleep(3600)\n")
    second = Registry.discover([folder], entry_points=False)  # not a hang: the probe gives up after 2 s
    info = next(p for p in second.plugins if p.id == "flaky")
    assert not info.ok and "took more than 2 s to import; it was not loaded" in info.error
    assert {f.id for f in second.filters()} >= {"style_transfer", "palette"}
    assert imports() == 3, "tried in the child only"

    third = Registry.discover([folder], entry_points=False)
    info = next(p for p in third.plugins if p.id == "flaky")
    assert not info.ok and "took more than 2 s" in info.error and "remembered" in info.error
    assert imports() == 3, "the failure is remembered: not probed again"

    stat = plugin.stat()
    os.utime(plugin, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # touched: tried again
    Registry.discover([folder], entry_points=False)
    assert imports() == 4


def test_a_remembered_pass_does_not_outlive_the_files_identity(counted):
    folder, plugin, imports = counted
    Registry.discover([folder], builtin=False, entry_points=False)
    assert imports() == 2
    copy = plugin.with_name("copy.tmp")
    shutil.copy2(plugin, copy)  # the same bytes and modification time, another file
    copy.replace(plugin)
    Registry.discover([folder], builtin=False, entry_points=False)
    assert imports() == 4, "probed again, then imported"


def test_the_host_imports_the_bytes_that_were_probed(counted):
    folder, plugin, imports = counted
    probed = nst.plugin_probe.probe_file(plugin)
    assert probed.ok
    plugin.write_text("import os\nos._exit(7)\n")  # changed between the probe and the import
    registry = Registry()
    registry.probe = True
    info = registry.load_file(plugin, probed=probed)
    assert info.ok and info.filters == ["flaky"]


def test_the_plugins_are_probed_in_one_child_and_a_bad_file_among_them_is_singled_out(plugin_dir, monkeypatch):
    runs = []
    real_run = nst.plugin_probe._run_child
    monkeypatch.setattr(nst.plugin_probe, "_run_child",
                        lambda files, limit: runs.append([Path(p).stem for _, p, _ in files]) or real_run(files, limit))
    plugin_dir.write("a_first.py", INVERT.format(id="first"))
    plugin_dir.write("b_exits.py", "import os\nos._exit(5)\n")
    plugin_dir.write("c_last.py", INVERT.format(id="last"))
    registry = Registry.discover([plugin_dir], entry_points=False)
    shipped = sorted(p.removesuffix(".py") for p in SHIPPED)
    assert runs[0] == shipped + ["a_first", "b_exits", "c_last"], "the built-in folder's and the others: one child"
    assert runs[1:] == [["b_exits"], shipped + ["a_first", "c_last"]], \
        "the file it stopped in alone, the others again together"
    by_id = {p.id: p for p in registry.plugins}
    assert by_id["a_first"].ok and by_id["c_last"].ok
    assert not by_id["b_exits"].ok and "(exit status 5)" in by_id["b_exits"].error


@pytest.mark.parametrize("source, reason", [
    ("import atexit, os\natexit.register(os._exit, 3)\nFILTERS = []\n",
     "was imported but the program then ended with exit status 3"),
    ("import threading, time\nthreading.Thread(target=time.sleep, args=(3600,)).start()\nFILTERS = []\n",
     "kept the program from ending for more than 2 s"),
    ("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n", "(killed by SIGSEGV)"),
])
def test_a_plugin_that_ends_its_program_badly_after_or_during_its_import_is_refused(plugin_dir, monkeypatch,
                                                                                   source, reason):
    monkeypatch.setenv("NST_PLUGIN_PROBE_SECONDS", "2")
    plugin_dir.write("bad.py", source)
    registry = Registry.discover([plugin_dir], builtin=False, entry_points=False)
    info = registry.plugins[0]
    assert not info.ok and reason in info.error


def test_a_time_limit_ends_what_the_plugin_started_too(plugin_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("NST_PLUGIN_PROBE_SECONDS", "2")
    pid_file = tmp_path / "helper.pid"
    plugin_dir.write("spawns.py", f"""
        import subprocess, time
        helper = subprocess.Popen(["sleep", "600"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        open({str(pid_file)!r}, "w").write(str(helper.pid))
        time.sleep(3600)
    """)
    registry = Registry.discover([plugin_dir], builtin=False, entry_points=False)
    assert "took more than 2 s" in registry.plugins[0].error
    helper = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while _alive(helper) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(helper), "the helper the plugin started was left running"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_a_plugin_dropped_into_the_builtin_folder_is_probed_and_labelled_as_such(tmp_path, monkeypatch, capsys):
    """Only the built-in folder's files were never probed: this one exits in any process but the host,
    so the host used to load it."""
    from studio.cli import main

    builtin = tmp_path / "builtin"
    builtin.mkdir()
    shutil.copy(ROOT / "plugins" / "example_palette.py", builtin)
    (builtin / "dropped.py").write_text(f"import os\nif os.getpid() != {os.getpid()}:\n    os._exit(4)\n"
                                        + textwrap.dedent(INVERT.format(id="dropped")))
    monkeypatch.setattr(nst.registry, "BUILTIN_DIR", builtin.resolve())
    assert main(["plugins", "list"]) == 0
    out = capsys.readouterr().out
    assert "FAILED dropped" in out and "plugins/" in out.split("FAILED dropped")[1].splitlines()[0]
    assert "ended the program while it was imported (exit status 4)" in out
    assert "ok     example_palette          builtin" in out


def test_the_shipped_plugins_are_the_files_in_the_repository():
    listed = subprocess.run(["git", "ls-files", "plugins/*.py"], capture_output=True, text=True, cwd=ROOT)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    assert {Path(name).name for name in listed.stdout.split()} == SHIPPED


def test_the_probes_memory_is_written_privately_and_never_through_a_link(plugin_dir):
    data = Path(os.environ["NST_DATA_DIR"])
    victim = data.parent / "victim.txt"
    victim.write_text("precious")
    for name in ("plugin-probes.part", ".plugin-probes.json.part"):
        (data / name).symlink_to(victim)
    plugin_dir.write("fine.py", INVERT.format(id="fine"))
    assert Registry.discover([plugin_dir], builtin=False, entry_points=False).plugins[0].ok
    assert victim.read_text() == "precious"
    assert (data / "plugin-probes.json").stat().st_mode & 0o777 == 0o600


def test_the_cli_probes_the_builtin_filters_it_builds_its_options_from(monkeypatch):
    """``transfer`` and ``texture`` take their options from two built-in plugin files, imported by every
    command: they are probed too, in one child."""
    from studio import cli

    runs = []
    real_run = nst.plugin_probe._run_child
    monkeypatch.setattr(nst.plugin_probe, "_run_child",
                        lambda files, limit: runs.append([Path(p).stem for _, p, _ in files]) or real_run(files, limit))
    registry = cli._builtins.__wrapped__()
    assert runs == [["style_transfer", "texture_synthesis"]]
    assert {f.id for f in registry.filters()} == {"style_transfer", "texture_synthesis"}


def test_a_time_out_under_a_short_limit_is_tried_again_under_a_longer_one(plugin_dir, tmp_path, monkeypatch):
    """A plugin too slow for a 2 s trial stayed failed under the usual 20 s until its file was touched."""
    go, marker = tmp_path / "go", tmp_path / "imports.txt"
    (plugin_dir.path / "slowish.py").write_text(
        f"import os, time\nopen({str(marker)!r}, 'a').write('imported\\n')\n"
        f"while not os.path.exists({str(go)!r}):  # stands for a heavy import on a busy machine\n"
        f"    time.sleep(0.01)\n" + textwrap.dedent(INVERT.format(id="slowish")))
    imports = lambda: len(marker.read_text().splitlines())  # noqa: E731
    monkeypatch.setenv("NST_PLUGIN_PROBE_SECONDS", "2")
    first = Registry.discover([plugin_dir], builtin=False, entry_points=False).plugins[0]
    assert not first.ok and "took more than 2 s" in first.error and imports() == 1
    go.touch()  # from now on it imports at once
    again = Registry.discover([plugin_dir], builtin=False, entry_points=False).plugins[0]
    assert "remembered" in again.error and imports() == 1, "under the same limit, the time-out stands"

    monkeypatch.setenv("NST_PLUGIN_PROBE_SECONDS", "3")
    longer = Registry.discover([plugin_dir], builtin=False, entry_points=False).plugins[0]
    assert longer.ok, longer.error
    assert imports() >= 2, "tried again under the longer limit"
    monkeypatch.setenv("NST_PLUGIN_PROBE_SECONDS", "2")
    count = imports()
    Registry.discover([plugin_dir], builtin=False, entry_points=False)
    assert imports() == count + 1, "the pass is remembered: imported in the host only"


_DISCOVER_STRANGE_FILES = """
import sys
from pathlib import Path
from nst.registry import Registry
for probe in (True, False):
    registry = Registry.discover([Path(sys.argv[1])], builtin=False, entry_points=False, probe=probe)
    for info in sorted(registry.plugins, key=lambda p: p.id):
        print(probe, info.id, info.status, info.error)
"""


def test_a_fifo_a_device_or_a_huge_file_in_a_plugin_folder_is_refused_without_blocking(plugin_dir):
    """``mkfifo hang.py`` hung every start for ever; a link to /dev/zero ended it with a MemoryError."""
    os.mkfifo(plugin_dir.path / "hang.py")
    (plugin_dir.path / "zero.py").symlink_to("/dev/zero")
    (plugin_dir.path / "huge.py").write_bytes(b"# padding\n" * 120_000)  # 1.2 MB
    (plugin_dir.path / "folder.py").mkdir()
    plugin_dir.write("fine.py", INVERT.format(id="fine"))
    done = subprocess.run([sys.executable, "-c", _DISCOVER_STRANGE_FILES, str(plugin_dir.path)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    for probe in ("True", "False"):
        by_id = {line.split()[1]: line for line in lines if line.startswith(probe + " ")}
        assert by_id["fine"].split()[2] == "loaded", by_id["fine"]
        for name in ("hang", "zero"):
            assert "failed cannot be read (it is not a regular file (a pipe or a device?))" in by_id[name]
        assert "larger than 1,048,576 bytes" in by_id["huge"]
        assert "it is a folder" in by_id["folder"]


@pytest.fixture
def broken_builtin(tmp_path, monkeypatch):
    """The CLI's built-in folder with a style_transfer.py that ends every process but the host."""
    from studio import cli

    builtin = tmp_path / "builtin"
    builtin.mkdir()
    shutil.copy(ROOT / "plugins" / "texture_synthesis.py", builtin)
    (builtin / "style_transfer.py").write_text("import os\nos._exit(3)\n")
    monkeypatch.setattr(cli, "BUILTIN_DIR", builtin)
    cli._builtins.cache_clear()
    yield
    cli._builtins.cache_clear()


@pytest.mark.parametrize("command", [["renders", "list"], ["plugins", "list"], ["styles", "list"],
                                     ["texture", "--help"]])
def test_commands_that_do_not_need_a_broken_builtin_filter_still_work(broken_builtin, capsys, command):
    from studio.cli import main

    try:
        code = main(command)
    except SystemExit as exit_:  # --help
        code = exit_.code
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err
    assert "Traceback" not in captured.err


@pytest.mark.parametrize("command", [["transfer", "photo.png", "style.png", "-o", "out.png", "--steps", "3"],
                                     ["transfer", "--help"], ["transfer"]])
def test_a_command_whose_builtin_filter_failed_says_why_in_one_line(broken_builtin, capsys, command):
    from studio.cli import main

    assert main(command) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: transfer is unavailable: No filter 'style_transfer' (its plugin failed to load: "
                          "ended the program while it was imported (exit status 3)") and err.count("\n") == 1, err


def test_a_disabled_builtin_filter_leaves_the_other_commands_working(monkeypatch):
    monkeypatch.setenv("NST_DISABLED_PLUGINS", "style_transfer")
    done = subprocess.run([sys.executable, "-m", "nst", "plugins", "list"], capture_output=True, text=True,
                          timeout=180, cwd=ROOT)
    assert done.returncode == 0 and "disabled" in done.stdout, done.stderr[-2000:]
    done = subprocess.run([sys.executable, "-m", "nst", "transfer", "a.png", "b.png", "-o", "c.png"],
                          capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "disabled by NST_DISABLED_PLUGINS" in done.stderr
