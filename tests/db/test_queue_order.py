"""The queue's order in the library: a queued render's place is counted, and the queue's head read, in one
index (status, priority DESC, created_at, id), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, select, update

from db.models import Render


def _queue(library, priorities: list[int]) -> list[int]:
    ids = [library.create_render("palette", {"colors": 4}, None, [], priority=p).id for p in priorities]
    with library.session() as s:  # two renders recorded in the same instant: the lower id goes first
        first = s.scalar(select(Render.created_at).where(Render.id == ids[0]))
        s.execute(update(Render).where(Render.id.in_(ids[2:4])).values(created_at=first))
        s.execute(update(Render).where(Render.id == ids[0]).values(created_at=first + timedelta(hours=1)))
    return ids


def test_a_place_and_the_queues_head_follow_the_queue_order(library):
    ids = _queue(library, [0, 0, 0, 0, 5, 0, 5, 0, 0])
    library.start_render(ids[1], "elsewhere")
    order = [render_id for render_id in _expected_order(library)]
    assert order[:2] == [ids[4], ids[6]] and order[-1] == ids[0] and ids[1] not in order
    assert order.index(ids[2]) + 1 == order.index(ids[3])  # same instant: the lower id first
    for render_id in ids:
        expected = order.index(render_id) + 1 if render_id in order else None
        assert library.renders.live(render_id).queue_position == expected
    running, head, waiting = library.renders.now(running_limit=50, queued_limit=3)
    assert (running, head, waiting) == ([ids[1]], order[:3], len(order))
    assert library.renders.now(queued_limit=0)[1] == []


def _expected_order(library) -> list[int]:
    """The queue's order spelled out in Python from every queued row."""
    with library.session() as s:
        rows = s.execute(select(Render.id, Render.priority, Render.created_at).where(Render.status == "queued")).all()
    return [row.id for row in sorted(rows, key=lambda row: (-row.priority, row.created_at, row.id))]


def test_a_place_is_counted_and_the_head_read_in_the_index_alone(sqlite_library):
    """SQLite's plans: both counts of a render's place, and the queue's head, are ranges of the queue-order
    index read without the table's rows (before it, each read every queued row, and the head sorted them)."""
    library = sqlite_library
    render_id = _queue(library, [0, 0, 0, 0, 1])[-1]
    live, head, count = (_plan(library, statement) for statement in _statements(library, render_id))
    counts = [step for step in live if "ahead" in step]
    assert len(counts) == 2 and all("COVERING INDEX ix_renders_queue_order" in step for step in counts), live
    assert any("COVERING INDEX ix_renders_queue_order" in step for step in head), head
    assert not any("TEMP B-TREE" in step for step in head), head


def _statements(library, render_id: int) -> list[tuple[str, tuple]]:
    """The SQL a live view and a read of the queue's head run (the running renders' read left out)."""
    seen = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(library.engine, "before_cursor_execute", before)
    try:
        library.renders.live(render_id)
        library.renders.now()
    finally:
        event.remove(library.engine, "before_cursor_execute", before)
    assert len(seen) == 4, seen
    return [seen[0], *seen[2:]]


def _plan(library, statement: tuple[str, tuple]) -> list[str]:
    sql, parameters = statement
    with library.engine.connect() as connection:
        return [row[-1] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, parameters)]
