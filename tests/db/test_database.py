"""Connecting, configuring and migrating the database."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, make_url, text

from db import LibraryError, open_library
from db.database import create_db_engine, database_url, upgrade
from db.models import Base

import db_images


def test_url_defaults_and_rewrites(tmp_path, monkeypatch):
    monkeypatch.delenv("NST_DATABASE_URL", raising=False)
    monkeypatch.setenv("NST_DATA_DIR", str(tmp_path / "data"))
    assert database_url() == make_url(f"sqlite:///{tmp_path / 'data' / 'library.db'}")
    monkeypatch.setenv("NST_DATABASE_URL", "postgresql://me:secret@db.example/nst")
    url = database_url()
    assert url.drivername == "postgresql+psycopg" and url.password == "secret"
    assert database_url("postgres://h/d").drivername == "postgresql+psycopg"
    assert database_url("postgresql+psycopg://h/d").drivername == "postgresql+psycopg"
    with pytest.raises(LibraryError, match="SQLite or PostgreSQL"):
        database_url("mysql://h/d")
    with pytest.raises(LibraryError, match="not a database URL"):
        database_url("not a url")


def test_default_library_lives_in_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("NST_DATABASE_URL", raising=False)
    monkeypatch.setenv("NST_DATA_DIR", str(tmp_path / "data"))
    with open_library() as library:
        assert library.stats().styles == 0
    assert (tmp_path / "data" / "library.db").is_file()


def test_open_errors_are_clear(tmp_path):
    with pytest.raises(LibraryError, match="does not exist"):
        open_library(f"sqlite:///{tmp_path / 'missing' / 'library.db'}")
    with pytest.raises(LibraryError, match=r"Cannot open the style library at postgresql\+psycopg://u:\*\*\*@"):
        open_library("postgresql://u:secret@127.0.0.1:1/nst?connect_timeout=2")


def test_sqlite_connection_settings(sqlite_library):
    with sqlite_library.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000


def test_migrations_match_the_models(library):
    with library.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
        assert diff == []
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0002"


def test_a_library_from_before_the_farm_keeps_its_renders(db_url):
    """0001 -> 0002: renders recorded by the first release stay, with the farm's columns defaulted."""
    engine = create_db_engine(db_url)
    try:
        upgrade(engine, "0001")
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO renders (id, created_at, status, filter_id, params) "
                "VALUES (7, CURRENT_TIMESTAMP, 'queued', 'palette', '{}')"))
        upgrade(engine)
    finally:
        engine.dispose()
    with open_library(db_url) as library:
        record = library.get_render(7)
        assert record.status == "queued" and record.attempts == 0 and not record.cancel_requested
        assert record.priority == 0 and record.events == ()
        assert [r.id for r in library.renders_to_enqueue(0)] == [7], "an old queued render is sent to the queue"


def test_postgres_tables_and_version_live_in_the_test_schema(postgres_url):
    schema = make_url(postgres_url).query["options"].split("=", 1)[1]
    with open_library(postgres_url) as library, library.engine.connect() as connection:
        tables = set(inspect(connection).get_table_names(schema=schema))
        assert {"alembic_version", "styles", "images", "gram_entries", "renders"} <= tables
        assert connection.execute(text("SELECT current_schema()")).scalar() == schema


def test_upgrade_is_idempotent(db_url):
    engine = create_db_engine(db_url)
    try:
        upgrade(engine)
        upgrade(engine)
    finally:
        engine.dispose()
    with open_library(db_url) as library:
        library.add_style(db_images.png(), name="After two upgrades")
    with open_library(db_url) as library:
        assert [s.name for s in library.list_styles()] == ["After two upgrades"]


def test_downgrade_and_upgrade_again(sqlite_url):
    from alembic import command

    from db.database import alembic_config

    engine = create_db_engine(sqlite_url)
    try:
        upgrade(engine)
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "base")
        assert "styles" not in inspect(engine).get_table_names()
        upgrade(engine)
        assert "styles" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
