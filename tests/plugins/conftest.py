"""Fixtures for the plugin tests: a folder to write plugins into at test time."""

import os
import textwrap
from pathlib import Path

import pytest


class PluginFolder(os.PathLike):
    """A temporary plugin folder (usable wherever a path is) that plugin files can be written into."""

    def __init__(self, path: Path):
        self.path = path

    def __fspath__(self) -> str:
        return str(self.path)

    def write(self, name: str, source: str) -> Path:
        target = self.path / name
        target.write_text(textwrap.dedent(source))
        return target


@pytest.fixture
def plugin_dir(tmp_path) -> PluginFolder:
    folder = tmp_path / "my_plugins"
    folder.mkdir()
    return PluginFolder(folder)
