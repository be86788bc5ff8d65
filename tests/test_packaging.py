"""The installable package: a wheel built from the repository holds everything the app reads beside its
code (the migrations, the built-in plugins, the starter collection's paintings), and its dependencies are
requirements.txt's runtime section. Nothing is installed: the wheel is only listed."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: What pyproject.toml packages, as folders of the repository (and the one top-level module).
PACKAGED = ("nst", "db", "studio", "ui", "plugins")
MODULES = ("streamlit_app.py",)


def _shipped_files() -> set[str]:
    """Every file under the packaged folders (caches aside), as paths inside the wheel."""
    files = set(MODULES)
    for folder in PACKAGED:
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                files.add(path.relative_to(ROOT).as_posix())
    return files


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    # Built from a copy: setuptools writes build/ and *.egg-info beside the sources it builds.
    source = tmp_path_factory.mktemp("source")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in PACKAGED:
        shutil.copytree(ROOT / folder, source / folder, ignore=ignore)
    for name in MODULES + ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(out), str(source)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    (path,) = out.glob("nst_gallery-*.whl")
    with zipfile.ZipFile(path) as archive:
        yield archive


@pytest.mark.slow  # building the wheel takes seconds
def test_the_wheel_holds_every_file_the_app_reads_beside_its_code(wheel):
    names = set(wheel.namelist())
    missing = sorted(_shipped_files() - names)
    assert not missing, f"not in the wheel: {missing}"
    # The parts found by their place on disk rather than imported (each of them named here once more, so
    # that a glob which stops matching cannot pass unseen).
    for needed in ("db/alembic.ini", "db/migrations/env.py", "db/migrations/script.py.mako",
                   "db/migrations/versions/0001_initial.py", "plugins/style_transfer.py",
                   "plugins/starter_collection/starry-night.jpg",
                   "plugins/starter_collection/samples/starry-night.jpg"):
        assert needed in names


@pytest.mark.slow
def test_the_wheel_gives_the_nst_command(wheel):
    (entry_points,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    text = wheel.read(entry_points).decode()
    assert re.search(r"^nst = nst\.__main__:run$", text, re.M), text


def test_the_package_depends_on_requirements_runtime_section():
    runtime = (ROOT / "requirements.txt").read_text().split("# Tests")[0]
    required = [line.split("#")[0].strip() for line in runtime.splitlines()]
    required = [line for line in required if line]
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert sorted(declared, key=str.lower) == sorted(required, key=str.lower)
