"""``python -m nst styles ...``: in this process through the command line's own ``main`` (its parser,
its one-line errors), and as the program a user runs."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from db import open_library
from studio import cli as nst_cli

import db_images
from db_procs import ROOT


@pytest.fixture
def cli(sqlite_url, monkeypatch, capsys):
    """``python -m nst styles ARGS`` in this process: (exit code, stdout); stderr must stay empty."""
    monkeypatch.setenv("NST_DATABASE_URL", sqlite_url)

    def run(*argv: str) -> tuple[int, str]:
        code = nst_cli.main(["styles", *map(str, argv)])
        captured = capsys.readouterr()
        assert captured.err == "", captured.err
        return code, captured.out

    return run


@pytest.fixture
def cli_error(sqlite_url, monkeypatch, capsys):
    """``python -m nst styles ARGS`` that must fail: (exit code, the one line on stderr)."""
    monkeypatch.setenv("NST_DATABASE_URL", sqlite_url)

    def run(*argv: str) -> tuple[int, str]:
        try:
            code = nst_cli.main(["styles", *map(str, argv)])
        except SystemExit as exc:  # argparse refuses the usage itself
            code = exc.code
        captured = capsys.readouterr()
        return code, captured.err

    return run


@pytest.fixture
def files(tmp_path):
    paths = {}
    for n, name in enumerate(("starry.png", "scream.jpg")):
        paths[name] = tmp_path / name
        paths[name].write_bytes(db_images.png(seed=n) if name.endswith("png") else db_images.jpeg(seed=n))
    (tmp_path / "notes.txt").write_text("not an image")
    paths["notes.txt"] = tmp_path / "notes.txt"
    return paths


def test_add_list_show(cli, files):
    code, out = cli("add", files["starry.png"], "--name", "Starry Night", "--artist", "Van Gogh",
                    "--tags", "night, oil", "--description", "Swirls.")
    assert code == 0 and out == 'Added "Starry Night" (96x64 PNG, id 1).\n'
    cli("add", files["scream.jpg"], "--name", "The Scream", "--artist", "Munch")
    code, out = cli("list")
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["ID", "NAME", "ARTIST", "TAGS", "SIZE", "SOURCE"]
    assert "Starry Night" in lines[2] and "night, oil" in lines[2] and "The Scream" in lines[3]
    assert lines[-1] == "2 styles."
    assert "The Scream" not in cli("list", "--search", "NIGHT")[1]
    assert "Starry Night" not in cli("list", "--search", "munch")[1]
    assert cli("list", "--tag", "watercolour")[1] == "No styles match.\n"
    code, out = cli("show", "starry night")
    assert code == 0 and "Artist:      Van Gogh" in out and "Tags:        night, oil" in out
    assert "Description: Swirls." in out


def test_rename_tag_remove(cli, files):
    cli("add", files["starry.png"], "--name", "Starry")
    assert cli("rename", "starry", "Starry Night") == (0, 'Renamed "Starry" to "Starry Night".\n')
    assert cli("tag", "Starry Night", "Night,OIL") == (0, 'Tags of "Starry Night": night, oil.\n')
    assert cli("tag", "Starry Night", "") == (0, '"Starry Night" has no tags now.\n')
    assert cli("remove", "Starry Night") == (1, "Not confirmed (no terminal); add --yes to remove without asking.\n"
                                                 "Nothing removed.\n")
    assert cli("remove", "Starry Night", "--yes") == (0, 'Removed "Starry Night".\n')
    assert cli("list")[1].startswith("No styles yet")


def test_export_import(cli, files, tmp_path, sqlite_url):
    cli("add", files["starry.png"], "--name", "Starry Night")
    cli("add", files["scream.jpg"], "--name", "The Scream")
    pack = tmp_path / "pack.zip"
    assert cli("export", pack) == (0, f"Exported 2 styles to {pack}.\n")
    assert cli("export", tmp_path / "one.zip", "the scream")[1] == f"Exported 1 style to {tmp_path / 'one.zip'}.\n"
    code, out = cli("import", pack)
    assert code == 0 and out.startswith("0 styles imported, 2 skipped")
    code, out = cli("import", tmp_path / "one.zip", "--on-conflict", "rename")
    assert out.splitlines() == ["1 style imported, 1 renamed.", '  "The Scream" was imported as "The Scream (2)".']
    with open_library(sqlite_url) as library:
        assert library.stats().styles == 3


def test_errors_are_one_line_and_exit_2(cli, cli_error, files):
    cli("add", files["starry.png"], "--name", "Starry Night")
    for argv, message in [
        (("add", files["scream.jpg"], "--name", "STARRY NIGHT"), 'A style named "Starry Night" already exists'),
        (("add", files["notes.txt"], "--name", "Notes"), "notes.txt is not an image"),
        (("show", "Nope"), "No style"),
        (("import", files["notes.txt"]), "notes.txt"),
    ]:
        code, err = cli_error(*argv)
        assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, (argv, err)
        assert message in err and "Traceback" not in err, (argv, err)
    code, err = cli_error("import", files["notes.txt"], "--on-conflict", "overwrite")
    assert code == 2 and "invalid choice: 'overwrite'" in err
    with open_library(os.environ["NST_DATABASE_URL"]) as library:
        assert [s.name for s in library.list_styles()] == ["Starry Night"], "nothing changed"


@pytest.mark.slow
def test_runs_as_a_program(sqlite_url, files, tmp_path):
    """``python -m nst styles`` as a user runs it: the ``styles`` command is wired into the real program."""
    env = dict(os.environ, NST_DATABASE_URL=sqlite_url, PYTHONPATH=str(ROOT))

    def nst(*argv):
        return subprocess.run([sys.executable, "-m", "nst", "styles", *map(str, argv)], capture_output=True,
                              text=True, env=env, cwd=tmp_path, timeout=120)

    ok = nst("add", files["starry.png"], "--name", "Starry Night", "--tags", "night")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == 'Added "Starry Night" (96x64 PNG, id 1).\n' and ok.stderr == ""
    listed = nst("list", "--tag", "night")
    assert listed.returncode == 0 and "Starry Night" in listed.stdout and listed.stdout.endswith("1 style.\n")
    bad = nst("add", files["notes.txt"], "--name", "Notes")
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.startswith("error: ") and bad.stderr.count("\n") == 1 and "is not an image" in bad.stderr
