"""Shared test setup.

Every test runs with its own data directory and the default (SQLite) library
in it, so the suite never reads or writes a user's real data, and a
``NST_DATABASE_URL`` or ``NST_PLUGIN_PATH`` set in the shell does not leak in.
"""

import pytest


@pytest.fixture(autouse=True)
def isolated_data_dir(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("NST_DATA_DIR", str(tmp_path_factory.mktemp("nst-data")))
    monkeypatch.delenv("NST_DATABASE_URL", raising=False)
    monkeypatch.delenv("NST_PLUGIN_PATH", raising=False)
