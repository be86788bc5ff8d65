"""The live panel's cost does not grow with the queue: a refresh reads a row per render it shows, and a
queued render's place is one count (not the list of every queued record)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, update

from tests.app.conftest import jpeg_bytes
from tests.app.test_pages import texts
from tests.factories import make_photo


class _CountingCursor:
    """A DB-API cursor that counts the rows fetched through it."""

    def __init__(self, cursor, reads: "Reads"):
        self._cursor, self._reads = cursor, reads

    def __getattr__(self, name):
        return getattr(self._cursor, name)

    def fetchone(self):
        row = self._cursor.fetchone()
        self._reads.rows += row is not None
        return row

    def fetchmany(self, *args):
        rows = self._cursor.fetchmany(*args)
        self._reads.rows += len(rows)
        return rows

    def fetchall(self):
        rows = self._cursor.fetchall()
        self._reads.rows += len(rows)
        return rows


class Reads:
    """SQL statements run (besides BEGIN), and rows fetched, on an engine while the block runs."""

    def __init__(self, engine):
        self.engine = engine
        self.statements = 0
        self.rows = 0

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith("BEGIN"):  # SQLite's BEGIN, emitted by the library
            self.statements += 1

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        if context is not None:
            context.cursor = _CountingCursor(cursor, self)

    def __enter__(self) -> "Reads":
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)

    @property
    def counts(self) -> tuple[int, int]:
        return self.statements, self.rows


def queue_renders(library, count: int, photo: bytes, style_id: int, priority: int = 0) -> list[int]:
    return [library.create_render("palette", {"colors": 4}, photo, [(style_id, 1.0)], priority=priority).id
            for _ in range(count)]


def test_a_refresh_reads_the_same_whatever_the_queue_length(app, monkeypatch):
    """Five renders shown on Stylize, with 5 and then 50 renders queued: the page's run (the panel
    included) runs as many statements and fetches as many rows."""
    from ui import services

    monkeypatch.setenv("NST_APP_WORKERS", "0")  # nothing takes the renders: they stay queued
    at = app().run()
    library = services.library()
    style = library.list_styles()[0]
    photo = jpeg_bytes(make_photo())
    shown = queue_renders(library, 5, photo, style.id)
    at.session_state["stylize:jobs"] = shown
    at.switch_page("ui/stylize.py").run()

    def one_run() -> tuple[int, int]:
        at.run()  # warm: what a page caches once is not a refresh's cost
        with Reads(library.engine) as reads:
            at.run()
        assert not at.exception, at.exception
        return reads.counts

    few = one_run()
    queue_renders(library, 45, photo, style.id)
    many = one_run()
    assert many == few, f"(statements, rows) with 5 queued: {few}; with 50 queued: {many}"
    shown_text = texts(at)
    for position, render_id in enumerate(shown, 1):
        assert f"**Render #{render_id}** · Waiting in the queue (position {position})" in shown_text


def test_a_view_is_one_statement_and_knows_its_place_in_the_queue(fresh_app, monkeypatch):
    """Farm.view: one statement and one row per render, and the place :meth:`queued` gives it (higher
    priority first, then the oldest, then the lowest id), for any queue length."""
    from ui import services

    monkeypatch.setenv("NST_APP_WORKERS", "0")
    library, farm = services.library(), services.farm()
    style = library.list_styles()[0]
    photo = jpeg_bytes(make_photo())
    ids = queue_renders(library, 6, photo, style.id) + queue_renders(library, 2, photo, style.id, priority=5)
    with library.session() as s:  # two renders recorded in the same instant: the lower id goes first
        from db.models import Render

        first = library.get_render(ids[3]).created_at
        s.execute(update(Render).where(Render.id.in_(ids[3:5])).values(created_at=first))
        s.execute(update(Render).where(Render.id == ids[0]).values(created_at=first + timedelta(hours=1)))
    library.start_render(ids[1], "elsewhere")
    order = [r.id for r in library.queued_renders()]
    assert ids[1] not in order and order[:2] == ids[6:8] and order[-1] == ids[0]
    for render_id in ids:
        with Reads(library.engine) as reads:
            view = farm.view(render_id)
        assert reads.counts == (1, 1), reads.counts
        assert view.queue_position == (order.index(render_id) + 1 if render_id in order else None)
    assert farm.view(ids[1]).status == "running"


def test_history_shows_the_queues_head_and_reads_the_same_whatever_its_length(app, monkeypatch):
    """History's "Now": the first ten queued renders live and a count of the others; with 12 and then 40
    queued, a run of the page runs as many statements and fetches as many rows."""
    from ui import services

    monkeypatch.setenv("NST_APP_WORKERS", "0")
    at = app().run()
    library = services.library()
    style = library.list_styles()[0]
    photo = jpeg_bytes(make_photo())
    ids = queue_renders(library, 12, photo, style.id)
    at.switch_page("ui/history.py").run()

    def one_run() -> tuple[int, int]:
        at.run()
        with Reads(library.engine) as reads:
            at.run()
        assert not at.exception, at.exception
        return reads.counts

    few = one_run()
    shown = texts(at)
    assert all(f"**Render #{render_id}** · Waiting in the queue (position {position})" in shown
               for position, render_id in enumerate(ids[:10], 1))
    assert f"Render #{ids[10]}**" not in shown and "2 more waiting in the queue" in shown
    queue_renders(library, 28, photo, style.id)
    many = one_run()
    assert many == few, f"(statements, rows) with 12 queued: {few}; with 40 queued: {many}"
    assert "30 more waiting in the queue" in texts(at)


def test_history_survives_a_running_render_with_tampered_progress(app, monkeypatch):
    """A running render whose progress was written by other means (text for numbers, a list, losses that
    are not named values) is shown, and the renders below it keep their buttons."""
    from sqlalchemy import text

    from ui import services

    monkeypatch.setenv("NST_APP_WORKERS", "0")
    at = app().run()
    library = services.library()
    style = library.list_styles()[0]
    photo = jpeg_bytes(make_photo())
    running, done = queue_renders(library, 2, photo, style.id)
    with library.session() as s:
        s.execute(text("UPDATE renders SET status = 'done' WHERE id = :i"), {"i": done})
    at.switch_page("ui/history.py")
    for progress in ('{"step": "a", "total": 5, "losses": [1], "eta": "soon", "fraction": "x", "size": 7}',
                     '[1, "x"]', '{"step": 2, "total": 5, "losses": "high", "eta": 1e999, "fraction": 0.4}'):
        with library.session() as s:
            s.execute(text("UPDATE renders SET status = 'running', owner = 'w', progress = :p WHERE id = :i"),
                      {"p": progress, "i": running})
        at.run()
        assert not at.exception, (progress, at.exception)
        assert f"**Render #{running}** · Painting" in texts(at)
        assert any(button.key == f"delete:{done}" for button in at.button), progress
