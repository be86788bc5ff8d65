"""The style library: the one entry point the CLI, the plugins and the app use.

:class:`Library` is a thin facade over small repositories that share one
:class:`~db.unit_of_work.UnitOfWork` (one transaction per user action):

- :attr:`Library.styles` (:mod:`db.styles`): styles, their tags, plugin styles, how they were used;
- :attr:`Library.images` (:mod:`db.images`): stored images, thumbnails, clean-up of unused ones;
- :attr:`Library.renders` (:mod:`db.renders`): the render queue's records;
- :attr:`Library.leases` (:mod:`db.leases`): the farm's side of a running render;
- the Gram cache on the same database is :class:`db.gram_store.GramStore` (``GramStore(library)``).

The facade's methods (``add_style``, ``create_render``, ``start_render``...)
are the repositories' own, under the names callers know. Every one of them is
one transaction: it either does all it says or, on any error, leaves the
library exactly as it was. Images are validated and normalised
(:mod:`db.ingest`, through :mod:`nst.images`) before a transaction starts, so
nothing half-read is ever stored. Methods return frozen records
(:mod:`db.records`), never live ORM objects, and a :class:`Library` may be
shared between threads.
"""

from __future__ import annotations

import functools
import logging
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Callable

from sqlalchemy import URL, Engine, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from .database import alembic_config, create_db_engine, database_url, describe, read_only_url, upgrade
from .errors import LibraryError
from .images import Images
from .leases import RenderLeases
from .models import GramEntry, Image, Render, Style
from .records import LibraryStats
from .renders import Renders
from .styles import STYLE_ORDERS, StyleRef, Styles
from .unit_of_work import UnitOfWork

__all__ = ["Library", "open_library", "STYLE_ORDERS", "StyleRef"]

log = logging.getLogger(__name__)


class _Delegate:
    """A facade method: ``name = _Delegate("styles", Styles.add)`` in :class:`Library` becomes a method
    ``name`` that calls ``self.styles.add``, with that method's signature and docstring."""

    def __init__(self, repository: str, function: Callable):
        self.repository, self.function = repository, function

    def __set_name__(self, owner: type, name: str) -> None:
        repository, method = self.repository, self.function.__name__

        @functools.wraps(self.function)
        def call(self, *args, **kwargs):
            return getattr(getattr(self, repository), method)(*args, **kwargs)

        call.__name__, call.__qualname__ = name, f"{owner.__qualname__}.{name}"
        setattr(owner, name, call)


class Library:
    """The style library on one database (see :func:`open_library`)."""

    def __init__(self, engine: Engine, read_only: bool = False):
        self.unit_of_work = UnitOfWork(engine, read_only)
        self.images = Images(self.unit_of_work)
        self.styles = Styles(self.unit_of_work, self.images)
        self.renders = Renders(self.unit_of_work, self.images)
        self.leases = RenderLeases(self.unit_of_work)

    @property
    def engine(self) -> Engine:
        return self.unit_of_work.engine

    @property
    def read_only(self) -> bool:
        """Opened for browsing only (the file cannot be written here); every change is refused."""
        return self.unit_of_work.read_only

    @property
    def url(self) -> str:
        return self.unit_of_work.url

    def __repr__(self) -> str:
        return f"Library({self.url!r})"

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Library":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def session(self) -> AbstractContextManager[Session]:
        """One read-write transaction: commits at the end of the block, rolls back on an error."""
        return self.unit_of_work.session()

    def read_session(self) -> AbstractContextManager[Session]:
        """A read-only transaction (on SQLite it does not take the write lock)."""
        return self.unit_of_work.read_session()

    def stats(self) -> LibraryStats:
        """How much the library holds: styles, images, renders and the Gram cache."""
        def work(s: Session) -> LibraryStats:
            count = lambda model: s.scalar(select(func.count()).select_from(model))  # noqa: E731
            return LibraryStats(
                styles=count(Style), images=count(Image),
                image_bytes=int(s.scalar(select(func.coalesce(func.sum(Image.size_bytes), 0)))),
                renders=count(Render), gram_entries=count(GramEntry),
                gram_bytes=int(s.scalar(select(func.coalesce(func.sum(GramEntry.size_bytes), 0)))),
            )

        return self.unit_of_work.read(work)

    # styles
    add_style = _Delegate("styles", Styles.add)
    list_styles = _Delegate("styles", Styles.list)
    get_style = _Delegate("styles", Styles.get)
    rename_style = _Delegate("styles", Styles.rename)
    set_tags = _Delegate("styles", Styles.set_tags)
    update_style = _Delegate("styles", Styles.update)
    delete_style = _Delegate("styles", Styles.delete)
    style_image = _Delegate("styles", Styles.image)
    tags = _Delegate("styles", Styles.tags)
    ensure_plugin_style = _Delegate("styles", Styles.ensure_plugin)
    style_usage = _Delegate("styles", Styles.usage)

    # renders
    create_render = _Delegate("renders", Renders.create)
    update_render_progress = _Delegate("renders", Renders.update_progress)
    finish_render = _Delegate("renders", Renders.finish)
    fail_render = _Delegate("renders", Renders.fail)
    cancel_render = _Delegate("renders", Renders.cancel)
    queued_renders = _Delegate("renders", Renders.queued)
    list_renders = _Delegate("renders", Renders.list)
    get_render = _Delegate("renders", Renders.get)
    delete_render = _Delegate("renders", Renders.delete)
    recent_content_images = _Delegate("renders", Renders.recent_content_images)

    # the farm's side of a render
    start_render = _Delegate("leases", RenderLeases.start_render)
    heartbeat = _Delegate("leases", RenderLeases.heartbeat)
    request_cancel = _Delegate("leases", RenderLeases.request_cancel)
    release_render = _Delegate("leases", RenderLeases.release_render)
    recover_stale = _Delegate("leases", RenderLeases.recover_stale)
    recover_owned_by = _Delegate("leases", RenderLeases.recover_owned_by)
    renders_to_enqueue = _Delegate("leases", RenderLeases.renders_to_enqueue)
    mark_enqueued = _Delegate("leases", RenderLeases.mark_enqueued)
    render_preview = _Delegate("leases", RenderLeases.render_preview)

    # images
    get_image = _Delegate("images", Images.get)
    image_bytes = _Delegate("images", Images.data)
    thumbnail_bytes = _Delegate("images", Images.thumbnail)


def open_library(url: str | URL | None = None) -> Library:
    """Connect, migrate to the newest schema and return the :class:`~db.library.Library`.

    A SQLite library that cannot be written here (a read-only disk, no permission) but is already
    at the newest schema opens read-only: it can be browsed, and every change says why it is refused.
    """
    resolved = database_url(url)
    engine = create_db_engine(resolved)
    try:
        upgrade(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        browse = _open_read_only(resolved) if "readonly" in reason.replace(" ", "").lower() or \
            "unable to open" in reason else None
        if browse is not None:
            return browse
        raise LibraryError(f"Cannot open the style library at {describe(resolved)}: {reason}.") from None
    except BaseException:
        engine.dispose()
        raise
    return Library(engine)


def _open_read_only(url: URL) -> Library | None:
    """The library at ``url`` for browsing only, if it exists and its schema is current."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    ro = read_only_url(url)
    if ro is None or not Path(url.database).expanduser().is_file():
        return None
    engine = create_db_engine(ro)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
        if current != ScriptDirectory.from_config(alembic_config()).get_current_head():
            engine.dispose()
            return None
    except SQLAlchemyError:
        engine.dispose()
        return None
    log.warning("The style library %s cannot be written here; it is open read-only.", describe(url))
    return Library(engine, read_only=True)
