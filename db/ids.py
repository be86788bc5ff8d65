"""Row ids as people type them: one parser for the command line, the app's links and the library.

An id is a whole number from 1 to 2**63 - 1 (a 64-bit integer column on SQLite and PostgreSQL) written
in ASCII digits only: ``"²"`` and ``"٣"`` are digits to :meth:`str.isdigit` but not ids, and a number
of 2**63 or more would overflow the database's integer before any lookup.
"""

from __future__ import annotations

#: The largest id a row can have (a signed 64-bit integer).
MAX_ID = 2 ** 63 - 1
_DIGITS = frozenset("0123456789")
#: More digits than this cannot be an id (MAX_ID has 19): refused before int() reads them.
_MAX_DIGITS = 19


def is_id(value: object) -> bool:
    """Whether ``value`` is an ``int`` (not a bool) a row can have as its id."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def parse_id(text: object) -> int | None:
    """The id written in ``text`` (surrounding spaces allowed), or None if it is not one."""
    if is_id(text):
        return text  # type: ignore[return-value]
    if not isinstance(text, str):
        return None
    text = text.strip()
    if not text or len(text) > _MAX_DIGITS or not _DIGITS.issuperset(text):
        return None
    value = int(text)
    return value if is_id(value) else None
