"""Fixtures for the style library tests: a library on SQLite and on PostgreSQL (``postgres_url``,
from the suite's ``tests/conftest.py``)."""

from __future__ import annotations

import pytest

from db import open_library


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'library.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request) -> str:
    """The database of a test, once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue({"sqlite": "sqlite_url", "postgresql": "postgres_url"}[request.param])


@pytest.fixture
def library(db_url):
    lib = open_library(db_url)
    yield lib
    lib.close()


@pytest.fixture
def sqlite_library(sqlite_url):
    lib = open_library(sqlite_url)
    yield lib
    lib.close()
