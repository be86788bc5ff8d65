"""Fixtures for the style library tests: a library on SQLite and on PostgreSQL (``postgres_url``,
from the suite's ``tests/conftest.py``)."""

from __future__ import annotations

import pytest

from db import open_library
from tests.conftest import migrated_copy


@pytest.fixture
def sqlite_library(sqlite_url, migrated_sqlite):
    """An empty library on SQLite (a copy of the session's migrated template), at ``sqlite_url``."""
    migrated_copy(migrated_sqlite, sqlite_url)
    lib = open_library(sqlite_url)
    yield lib
    lib.close()
