"""Connecting, configuring and migrating the database."""

from __future__ import annotations

import hashlib
import uuid

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, make_url, text

from db import GramStore, LibraryError, open_library
from alembic.script import ScriptDirectory

from db.database import alembic_config, create_db_engine, database_url, upgrade
from db.models import Base
from nst.targets import TargetKey

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


def _migrated_step_by_step(url: str):
    """An engine on ``url`` brought to the newest schema one migration after another (as a library of the
    first release is), not built at once from the models as a new library is."""
    engine = create_db_engine(url)
    upgrade(engine, "0001")
    upgrade(engine)
    return engine


def _schema(engine) -> dict:
    """Everything of the schema that decides what the library stores and refuses, read back from the
    database: columns (with types, nullability and server defaults), keys, indexes, unique and check
    constraints, and on SQLite whether ids are never reused (AUTOINCREMENT). Column order aside."""
    inspector = inspect(engine)
    tables = {}
    for name in inspector.get_table_names():
        tables[name] = {
            "columns": sorted((c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                              for c in inspector.get_columns(name)),
            "primary key": sorted(inspector.get_pk_constraint(name)["constrained_columns"]),
            "foreign keys": sorted((fk["name"], tuple(fk["constrained_columns"]), fk["referred_table"],
                                    tuple(fk["referred_columns"]), str(sorted((fk.get("options") or {}).items())))
                                   for fk in inspector.get_foreign_keys(name)),
            "indexes": sorted((i["name"], str(i["column_names"]), str(i.get("expressions")), bool(i["unique"]),
                               str(i.get("column_sorting"))) for i in inspector.get_indexes(name)),
            "unique": sorted((u["name"], tuple(u["column_names"])) for u in inspector.get_unique_constraints(name)),
            "checks": sorted((c["name"], " ".join(c["sqltext"].split())) for c in inspector.get_check_constraints(name)),
        }
        if engine.dialect.name == "sqlite":
            with engine.connect() as connection:
                sql = connection.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = ?", (name,)).scalar()
            tables[name]["ids never reused"] = "AUTOINCREMENT" in sql.upper()
    return tables


@pytest.fixture
def second_db_url(db_url, tmp_path, request):
    """Another empty database of the same kind as ``db_url``: a second SQLite file, or a second fresh schema."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'second.db'}"
    else:
        yield from _second_schema(request.getfixturevalue("postgres_admin"))


def _second_schema(admin):
    schema = f"nst_test_{uuid.uuid4().hex[:16]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield admin.url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_migrations_match_the_models(db_url):
    engine = _migrated_step_by_step(db_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            head = ScriptDirectory.from_config(alembic_config()).get_current_head()
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == head == "0008"
    finally:
        engine.dispose()


def test_a_new_library_is_built_at_once_with_the_schema_the_migrations_build_step_by_step(db_url, second_db_url):
    """A new, empty library gets the newest schema from the models in one step, stamped with the newest
    revision; it must be exactly what a library of the first release has after every migration."""
    stepwise = _migrated_step_by_step(db_url)
    with open_library(second_db_url) as library:
        with library.engine.connect() as connection:
            head = ScriptDirectory.from_config(alembic_config()).get_current_head()
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == head
        try:
            assert _schema(library.engine) == _schema(stepwise)
        finally:
            stepwise.dispose()
    with open_library(second_db_url) as again:  # and opening it again changes nothing
        assert _schema(again.engine)["renders"]["checks"]


def test_a_library_from_before_the_farm_keeps_its_renders(db_url):
    """0001 -> 0002: renders recorded by the first release stay, with the farm's columns defaulted."""
    engine = create_db_engine(db_url)
    try:
        upgrade(engine, "0001")
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO images (id, sha256, pixel_sha256, data, width, height, format, thumbnail, size_bytes, "
                "created_at) VALUES (5, 'a', 'b', :png, 64, 48, 'PNG', :png, 1, CURRENT_TIMESTAMP)"),
                {"png": db_images.png(64, 48)})
            connection.execute(text(
                "INSERT INTO styles (id, name, name_key, source, image_id, created_at, updated_at) "
                "VALUES (3, 'Old', 'old', 'upload', 5, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
            connection.execute(text(
                "INSERT INTO renders (id, created_at, status, filter_id, params, content_image_id) "
                "VALUES (7, CURRENT_TIMESTAMP, 'queued', 'palette', '{}', 5)"))
            connection.execute(text(
                "INSERT INTO render_styles (render_id, position, style_id, style_name, weight) "
                "VALUES (7, 0, 3, 'Old', 1.0)"))
        upgrade(engine)
    finally:
        engine.dispose()
    with open_library(db_url) as library:
        record = library.get_render(7)
        assert record.status == "queued" and record.attempts == 0 and not record.cancel_requested
        assert record.priority == 0 and record.events == ()
        assert record.content_image_id == 5 and [(s.style_id, s.style_name) for s in record.styles] == [(3, "Old")]
        assert [r.id for r in library.renders_to_enqueue(0)] == [7], "an old queued render is sent to the queue"


def test_a_library_from_0004_keeps_its_images_and_gram_cache_under_pixel_digest(db_url):
    """0004 -> 0005: the pixel digest's two columns are renamed; images, styles, renders and cached Gram
    entries stay, and an entry stored before the rename is still found by the same target key."""
    from db.gram_store import encode

    grams = {"block1_conv1": np.eye(64, dtype=np.float32)}
    key = TargetKey("c" * 64, 64, 48, ("block1_conv1",), "vgg19-test-float32")
    payload = encode(grams)
    engine = create_db_engine(db_url)
    try:
        upgrade(engine, "0004")
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO images (id, sha256, pixel_sha256, data, width, height, format, thumbnail, size_bytes, "
                "created_at) VALUES (5, 'a', :digest, :png, 64, 48, 'PNG', :png, 1, CURRENT_TIMESTAMP)"),
                {"png": db_images.png(64, 48), "digest": "c" * 64})
            connection.execute(text(
                "INSERT INTO styles (id, name, name_key, source, image_id, created_at, updated_at) "
                "VALUES (3, 'Old', 'old', 'upload', 5, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
            connection.execute(text(
                "INSERT INTO renders (id, created_at, status, filter_id, params, content_image_id) "
                "VALUES (7, CURRENT_TIMESTAMP, 'done', 'palette', '{}', 5)"))
            connection.execute(text(
                "INSERT INTO gram_entries (key, image_sha256, payload, checksum, size_bytes, created_at, "
                "last_used_at) VALUES (:key, :digest, :payload, :checksum, :size, CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP)"),
                {"key": str(key), "digest": "c" * 64, "payload": payload,
                 "checksum": hashlib.sha256(payload).hexdigest(), "size": len(payload)})
        upgrade(engine)
        columns = {table: {c["name"] for c in inspect(engine).get_columns(table)} for table in ("images", "gram_entries")}
        assert "pixel_digest" in columns["images"] and "pixel_sha256" not in columns["images"]
        assert "pixel_digest" in columns["gram_entries"] and "image_sha256" not in columns["gram_entries"]
        if engine.dialect.name == "sqlite":
            with engine.connect() as connection:
                sql = connection.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'images'").scalar()
            assert "AUTOINCREMENT" in sql, "ids are still never reused after the rename"
    finally:
        engine.dispose()
    with open_library(db_url) as library:
        style = library.get_style("Old")
        assert (style.id, style.image_id, style.sha256, style.pixel_digest) == (3, 5, "a", "c" * 64)
        assert library.get_image(5).pixel_digest == "c" * 64
        assert library.image_bytes(5) == db_images.png(64, 48)
        assert library.get_render(7).content_image_id == 5
        store = GramStore(library)
        assert np.array_equal(store.get(key)["block1_conv1"], grams["block1_conv1"]) and store.hits == 1
        library.delete_style(3)  # the renamed columns still drive the clean-up: the style's entry goes
        assert len(store) == 0


def test_ids_are_never_reused(library):
    """A deleted render's id must not name the next one (SQLite reuses the largest id without AUTOINCREMENT)."""
    first = library.create_render("palette", {}, db_images.png(64, 48, seed=1))
    library.cancel_render(first.id)
    library.delete_render(first.id)
    second = library.create_render("palette", {}, db_images.png(64, 48, seed=2))
    assert second.id > first.id and second.content_image_id > first.content_image_id


def test_a_library_from_a_newer_release_is_refused_with_what_to_do(sqlite_url):
    with open_library(sqlite_url) as library:
        with library.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    with pytest.raises(LibraryError, match="newer release of the app .* update the app"):
        open_library(sqlite_url)


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
