"""Fixtures for the style library tests: a library on SQLite and on PostgreSQL.

PostgreSQL comes from ``NST_TEST_POSTGRES_URL`` (default: the local server,
user postgres, database ``test``). Each test gets a fresh, randomly named
schema (set as the connections' search_path through the URL, so subprocesses
use it too), dropped afterwards. If the server does not answer, the
PostgreSQL variants are skipped, unless ``NST_REQUIRE_POSTGRES=1``.
"""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from db import open_library
from db.database import database_url

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def postgres_admin():
    """An AUTOCOMMIT engine on the test server (skips, or fails if required, when it does not answer)."""
    url = database_url(os.environ.get("NST_TEST_POSTGRES_URL", PG_DEFAULT))
    engine = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except OperationalError as exc:
        engine.dispose()
        reason = f"PostgreSQL does not answer at {url.render_as_string(hide_password=True)}: {exc.orig}"
        if os.environ.get("NST_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason + " (NST_REQUIRE_POSTGRES=1)", pytrace=False)
        pytest.skip(reason)
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_url(postgres_admin):
    """A URL whose connections use a fresh empty schema."""
    schema = f"nst_test_{uuid.uuid4().hex[:16]}"
    with postgres_admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = postgres_admin.url.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with postgres_admin.connect() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


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
