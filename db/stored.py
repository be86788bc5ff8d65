"""SQL expressions that measure and fetch a stored value as it is, without decoding it.

A value in a row may have been written by anyone who can write to the
database, not only by the library: its size is measured in the database, in
bytes (``length(CAST(x AS BLOB))`` on SQLite, whose ``length`` of a text
stops at its first NUL and counts characters; ``octet_length`` on
PostgreSQL), before it is fetched. SQLite measures a blob without reading it,
but reads a text once (in its own memory, not Python's) to measure it (its
``octet_length``, which would not, is younger than the SQLite Python ships):
:func:`sqlite_lengths`, which a worker uses before it reads a render's row, measures
both unread. A JSON column is fetched as its raw
text (bytes on SQLite, whose text may not even be UTF-8), for
:func:`db.validation.load_json` to decode within its bounds, never by the
database driver or SQLAlchemy's JSON type, which decode without any.
"""

from __future__ import annotations

from sqlalchemy import Integer, LargeBinary, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import NullType


class byte_length(FunctionElement):  # noqa: N801 - an SQL function
    """The stored value's length in bytes (NULL for NULL)."""

    type = Integer()
    inherit_cache = True


class raw(FunctionElement):  # noqa: N801 - an SQL function
    """The stored value as the database holds it: bytes on SQLite, text (or bytes) on PostgreSQL."""

    type = NullType()
    inherit_cache = True


def _binary(element) -> bool:
    return isinstance(next(iter(element.clauses)).type, LargeBinary)


@compiles(byte_length)
def _byte_length(element, compiler, **kw):
    # SQLite reads a blob's length from the row's header, without reading the blob (the CAST would); a text's
    # (or a number's) byte length needs the value itself, which SQLite then reads once, in its own memory.
    value = compiler.process(element.clauses, **kw)
    return f"CASE WHEN typeof({value}) IN ('blob', 'null') THEN length({value}) ELSE length(CAST({value} AS BLOB)) END"


@compiles(byte_length, "postgresql")
def _byte_length_pg(element, compiler, **kw):
    value = compiler.process(element.clauses, **kw)
    return f"octet_length({value})" if _binary(element) else f"octet_length(CAST({value} AS TEXT))"


@compiles(raw)
def _raw(element, compiler, **kw):
    return f"CAST({compiler.process(element.clauses, **kw)} AS BLOB)"


@compiles(raw, "postgresql")
def _raw_pg(element, compiler, **kw):
    value = compiler.process(element.clauses, **kw)
    return value if _binary(element) else f"CAST({value} AS TEXT)"


def sqlite_lengths(session, table, columns, row_id: int) -> dict[str, int | None] | None:
    """On SQLite, the length in bytes of each of ``columns`` of the row ``row_id`` of ``table`` (None for
    NULL; None for all if there is no such row), none of them read: through an incremental blob handle,
    which measures a text from the row's header as ``length`` measures a blob (a number counts as 8)."""
    kinds = session.execute(select(*(func.typeof(table.c[name]) for name in columns))
                            .where(table.primary_key.columns.values()[0] == row_id)).first()
    if kinds is None:
        return None
    connection = session.connection().connection.driver_connection
    sizes: dict[str, int | None] = {}
    for name, kind in zip(columns, kinds):
        if kind in ("text", "blob"):
            with connection.blobopen(table.name, name, row_id, readonly=True) as value:
                sizes[name] = len(value)
        else:
            sizes[name] = None if kind == "null" else 8
    return sizes
