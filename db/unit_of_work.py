"""One transaction per user action, shared by the library's repositories.

A :class:`UnitOfWork` owns the database engine and its session factories.
:meth:`UnitOfWork.write` and :meth:`UnitOfWork.read` run ``work(session)`` in
one transaction: it commits when ``work`` returns and rolls back when it
raises, so an action either does all it says or leaves the library exactly as
it was. The repositories (:mod:`db.styles`, :mod:`db.images`,
:mod:`db.renders`, :mod:`db.leases`) and :class:`db.gram_store.GramStore` all
run their work through one shared unit of work; their methods that take a
``session`` join the caller's transaction, so several repositories can act in
one (a style pack's import adds many styles and images at once).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import DatabaseError, DataError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from .database import describe, session_factories
from .errors import LibraryError

T = TypeVar("T")


class UnitOfWork:
    """Transactions on one database; thread-safe (each transaction has its own session)."""

    def __init__(self, engine: Engine, read_only: bool = False):
        self.engine = engine
        #: Opened for browsing only (the file cannot be written here); every change is refused.
        self.read_only = read_only
        self._write_sessions, self._read_sessions = session_factories(engine)

    @property
    def url(self) -> str:
        return describe(self.engine.url)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One read-write transaction: commits at the end of the block, rolls back on an error."""
        with self._write_sessions.begin() as session:
            yield session

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A read-only transaction (on SQLite it does not take the write lock)."""
        with self._read_sessions.begin() as session:
            yield session

    def write(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in one transaction; retried once after a conflict with another writer."""
        if self.read_only:
            raise LibraryError(f"The style library {self.url} is open read-only (it cannot be written here): "
                               f"it can be browsed, not changed.")
        for attempt in (1, 2):
            try:
                with self.session() as session:
                    return work(session)
            except IntegrityError:
                if attempt == 2:
                    raise LibraryError("The library was changed by someone else at the same time; try again.") from None
            except DatabaseError as exc:
                raise unavailable(exc) from None
        raise AssertionError("unreachable")

    def read(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in one read-only transaction."""
        try:
            with self.read_session() as session:
                return work(session)
        except DatabaseError as exc:
            raise unavailable(exc) from None


def unavailable(exc: DatabaseError) -> LibraryError:
    """The library's own error for a database error, saying what to do."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    if isinstance(exc, DataError):
        return LibraryError(f"The database refused a value ({reason}); nothing was changed.")
    if "readonly" in reason.replace("-", "").replace(" ", "").lower():
        return LibraryError(f"The style library is read-only here ({reason}): it can be browsed, not changed.")
    if isinstance(exc, OperationalError):
        return LibraryError(f"The style library's database is unavailable ({reason}).")
    return LibraryError(f"The style library's database is damaged or is not a library ({reason}); restore it "
                        f"from a backup, or use another one (NST_DATA_DIR or NST_DATABASE_URL).")
