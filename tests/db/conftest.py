"""Fixtures for the style library tests: a library on SQLite and on PostgreSQL (``postgres_url``,
from the suite's ``tests/conftest.py``)."""

from __future__ import annotations

import pytest

from db import open_library


@pytest.fixture
def sqlite_library(sqlite_url):
    lib = open_library(sqlite_url)
    yield lib
    lib.close()
