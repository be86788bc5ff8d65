"""``styles`` sub-commands, called through an argparse parser built here."""

from __future__ import annotations

import argparse

import pytest

from db import DuplicateStyleError, StyleNotFoundError, open_library
from studio.styles_cli import register
from nst.errors import ImageError, NSTError

import db_images
from db_procs import run_python


@pytest.fixture
def cli(sqlite_url, monkeypatch, capsys):
    monkeypatch.setenv("NST_DATABASE_URL", sqlite_url)
    parser = argparse.ArgumentParser(prog="nst")
    register(parser.add_subparsers(dest="command", required=True))

    def run(*argv: str) -> tuple[int, str]:
        args = parser.parse_args(["styles", *map(str, argv)])
        code = args.func(args)
        return code, capsys.readouterr().out

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


def test_errors_are_raised_for_the_caller(cli, files):
    cli("add", files["starry.png"], "--name", "Starry Night")
    with pytest.raises(DuplicateStyleError):
        cli("add", files["scream.jpg"], "--name", "STARRY NIGHT")
    with pytest.raises(ImageError, match="notes.txt is not an image"):
        cli("add", files["notes.txt"], "--name", "Notes")
    with pytest.raises(StyleNotFoundError):
        cli("show", "Nope")
    with pytest.raises(NSTError):
        cli("import", files["notes.txt"])
    with pytest.raises(SystemExit):
        cli("import", files["notes.txt"], "--on-conflict", "overwrite")


def test_runs_as_a_program(sqlite_url, files, monkeypatch):
    """The way the lead will wire it: NSTError printed as one line, exit code from the handler."""
    script = """
    import argparse, sys
    from studio.styles_cli import register
    from nst.errors import NSTError
    parser = argparse.ArgumentParser(prog="nst")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(sys.argv[1:])
    try:
        sys.exit(args.func(args))
    except NSTError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    """
    monkeypatch.setenv("NST_DATABASE_URL", sqlite_url)
    ok = run_python(script, "styles", "add", files["starry.png"], "--name", "Starry Night")
    assert ok.returncode == 0 and "Added" in ok.stdout
    bad = run_python(script, "styles", "add", files["notes.txt"], "--name", "Notes")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "is not an image" in bad.stderr
