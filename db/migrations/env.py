"""Alembic environment for the style library.

At run time :func:`db.database.upgrade` passes an open connection (already in a
locked transaction) through ``config.attributes["connection"]``. Run by hand
(``alembic -c db/alembic.ini upgrade head``), this opens the database named by
``NST_DATABASE_URL`` (or ``sqlalchemy.url`` in the ini file) the same way.
"""

from __future__ import annotations

from alembic import context

from db.database import BEGIN_OPTION, create_db_engine, database_url, lock_for_migrations
from db.models import Base

config = context.config
if config.config_file_name is not None:  # run from the alembic command line
    from logging.config import fileConfig

    fileConfig(config.config_file_name)
target_metadata = Base.metadata


def _configure(**kwargs) -> None:
    context.configure(target_metadata=target_metadata, render_as_batch=True, compare_type=True, **kwargs)


def run_offline() -> None:
    _configure(url=database_url(config.get_main_option("sqlalchemy.url") or None), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_db_engine(config.get_main_option("sqlalchemy.url") or None)
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                connection.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
            with connection.begin():
                lock_for_migrations(connection)
                _configure(connection=connection)
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
