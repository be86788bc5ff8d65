"""Connecting to the style library's database, and keeping its schema current.

The URL comes from ``NST_DATABASE_URL``; by default the library is a SQLite
file in the data directory (:func:`nst.config.data_dir`). ``postgresql://``
URLs are sent to the psycopg 3 driver.

SQLite is configured on every connection: WAL (readers never block the
writer), foreign keys on, and a 30 s busy timeout so that two processes
writing at once wait for each other instead of failing. SQLAlchemy emits the
``BEGIN`` itself (the sqlite3 module's own transaction handling is turned
off), so a transaction really is one transaction; write sessions use
``BEGIN IMMEDIATE`` so that they queue for the write lock up front rather than
failing when a read snapshot cannot be upgraded.

:func:`db.library.open_library` applies the Alembic migrations (``upgrade head``) under a
lock: ``BEGIN IMMEDIATE`` on SQLite, a transaction-scoped advisory lock on
PostgreSQL, so two processes starting at once on a new database both succeed.

A new SQLite library file is created 0600 before SQLite opens it (:func:`nst.files.private_file`);
SQLite gives its ``-wal`` and ``-shm`` files the same permissions.

``sqlite://`` (in memory) works for quick experiments in a single thread only:
each thread would see its own empty database.
"""

from __future__ import annotations

from pathlib import Path
from sqlalchemy import URL, Connection, Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from nst import config
from nst.files import private_file

from .errors import LibraryError

ENV_VAR = "NST_DATABASE_URL"
#: How long a SQLite writer waits for another process's write to finish.
SQLITE_BUSY_TIMEOUT_S = 30
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: Execution option read by the SQLite ``begin`` listener: "DEFERRED" or "IMMEDIATE".
BEGIN_OPTION = "nst_sqlite_begin"


def database_url(url: str | URL | None = None) -> URL:
    """The library's URL: ``url``, else ``NST_DATABASE_URL``, else SQLite in the data directory."""
    raw = url if url is not None else config.value(ENV_VAR)
    if raw is None:
        return make_url(f"sqlite:///{config.data_dir() / 'library.db'}")
    try:
        parsed = make_url(raw) if isinstance(raw, str) else raw
    except ArgumentError:
        raise LibraryError(f"{raw!r} is not a database URL (expected sqlite:///path or postgresql://...).") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise LibraryError(f"The style library needs SQLite or PostgreSQL, not {parsed.get_backend_name()}.")
    return parsed


def describe(url: URL) -> str:
    """The URL with its password hidden, for messages."""
    return url.render_as_string(hide_password=True)


def create_db_engine(url: str | URL | None = None) -> Engine:
    """An engine for the library's database, configured for concurrent use."""
    url = database_url(url)
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            folder = Path(database).expanduser().resolve().parent
            if not folder.is_dir():
                raise LibraryError(f"Cannot create the style library {database}: the folder {folder} does not exist.")
            private_file(Path(database).expanduser())  # 0600 from the start; its -wal and -shm files follow it
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


def read_only_url(url: URL) -> URL | None:
    """A read-only URL for a SQLite library file (None for other databases): for a library on a
    read-only disk or without write permission, which can then still be browsed."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database.startswith("file:"):
        return None
    path = Path(url.database).expanduser().resolve()
    return url.set(database=f"file:{path}?immutable=1", query={"uri": "true"})


def _configure_sqlite(engine: Engine) -> None:
    read_only = "immutable=1" in (engine.url.database or "")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN (below), not the sqlite3 module
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_S * 1000}")
            if not read_only:
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def session_factories(engine: Engine) -> tuple[sessionmaker[Session], sessionmaker[Session]]:
    """(write, read) session factories. On SQLite a write session starts with BEGIN IMMEDIATE."""
    write_bind = engine
    if engine.dialect.name == "sqlite":
        write_bind = engine.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
    write = sessionmaker(write_bind, expire_on_commit=False)
    read = sessionmaker(engine, expire_on_commit=False)
    return write, read


def alembic_config(connection: Connection | None = None):
    """Alembic's configuration, built in code (no alembic.ini needed)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def lock_for_migrations(connection: Connection) -> None:
    """Serialise schema upgrades between processes (call inside the migration's transaction)."""
    if connection.dialect.name == "postgresql":
        connection.execute(
            text("SELECT pg_advisory_xact_lock(hashtext('nst-library:' || coalesce(current_schema(), '')))")
        )
    # SQLite: the transaction was opened with BEGIN IMMEDIATE, which already holds the write lock.


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` in one locked transaction.

    A library whose schema is newer than this release knows is refused with a clear message (it was
    opened by a newer version of the app). On SQLite, foreign keys are off while a migration copies
    a table (as SQLite's own procedure for schema changes says: dropping the old table would
    otherwise cascade to the rows that refer to it), and checked before the transaction commits.
    """
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:
            connection.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
            raw = connection.connection.driver_connection
            raw.execute("PRAGMA foreign_keys = OFF")  # outside any transaction, or SQLite ignores it
        try:
            with connection.begin():
                lock_for_migrations(connection)
                config = alembic_config(connection)
                current = MigrationContext.configure(connection).get_current_revision()
                scripts = ScriptDirectory.from_config(config)
                if current is not None and current not in {s.revision for s in scripts.walk_revisions()}:
                    raise LibraryError(
                        f"This library was last opened by a newer release of the app (its schema is {current!r}, "
                        f"this release knows up to {scripts.get_current_head()!r}): update the app, or open "
                        f"another library (NST_DATA_DIR or NST_DATABASE_URL).")
                if current is None and revision == "head" and not inspect(connection).get_table_names():
                    _create_newest_schema(connection, scripts)
                elif current != scripts.get_current_head() or revision != "head":
                    command.upgrade(config, revision)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise LibraryError(f"The library's upgrade would break {len(broken)} references; "
                                           f"nothing was changed.")
        finally:
            if sqlite:
                raw.execute("PRAGMA foreign_keys = ON")


def _create_newest_schema(connection: Connection, scripts) -> None:
    """A new, empty database gets the newest schema at once, from the models, stamped with the newest
    revision, instead of every migration in turn (Alembic's way of building a database from scratch):
    the same tables, keys, indexes and constraints (``tests/db/test_database.py`` compares the two on
    SQLite and PostgreSQL) in a fraction of the time, a tenth of a second on SQLite, more on a server."""
    from alembic.runtime.migration import MigrationContext

    from .models import Base

    Base.metadata.create_all(connection)
    MigrationContext.configure(connection).stamp(scripts, "head")
