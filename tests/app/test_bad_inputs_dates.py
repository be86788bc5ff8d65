"""A date in the library that is not a date: SQLite keeps whatever text was written into a DATETIME column
(the file edited by hand, an old version's junk). Such a date reads as unknown (None) with one logged line;
the row's other data is still there and nothing is deleted, and Stylize, the gallery and History draw
without a traceback. (PostgreSQL cannot hold such text in a timestamp column: nothing to test there.)"""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from tests.app.conftest import jpeg_bytes
from tests.factories import make_painting, make_photo

GARBAGE = "1999-99-99 not a date"  # starts with a digit: SQL's text order puts it among real dates


@pytest.fixture
def tampered(app):
    """A fresh app whose photo, render and one style hold a garbage date in every date column they have."""
    from ui import services

    at = app().run()
    library = services.library()
    style = library.add_style(jpeg_bytes(make_painting()), name="Hand-edited")
    render = library.create_render("palette", {"size": 64}, jpeg_bytes(make_photo()), [(style.id, 1.0)])
    with library.session() as s:
        s.execute(text("UPDATE images SET created_at = :g WHERE id = :id"), {"g": GARBAGE, "id": render.content_image_id})
        s.execute(text("UPDATE styles SET created_at = :g, updated_at = :g WHERE id = :id"), {"g": GARBAGE, "id": style.id})
        s.execute(text("UPDATE renders SET created_at = :g, started_at = :g, finished_at = :g, queued_at = :g, "
                       "heartbeat_at = :g WHERE id = :id"), {"g": GARBAGE, "id": render.id})
    return at, library, style, render


def test_a_garbage_date_reads_as_unknown_through_the_library(tampered, caplog):
    _, library, style, render = tampered
    with caplog.at_level(logging.WARNING, logger="db.models"):
        photo = library.recent_content_images()[0]
        got_style = library.get_style(style.id)
        listed = [s for s in library.list_styles(sort="used") if s.id == style.id]
        got_render = library.get_render(render.id)
        usage = library.style_usage()
    assert photo.id == render.content_image_id and photo.created_at is None
    assert (photo.width, photo.height) == make_photo().size  # the rest of the row is intact
    assert library.image_bytes(photo.id)
    assert got_style.created_at is None and got_style.updated_at is None and got_style.name == "Hand-edited"
    assert len(listed) == 1
    assert got_render.created_at is None and got_render.started_at is None and got_render.finished_at is None
    assert got_render.status == "queued" and [s.style_id for s in got_render.styles] == [style.id]
    assert usage[style.id].last_used_at is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings and all(GARBAGE in w and "\n" not in w for w in warnings), warnings
    with library.session() as s:  # nothing was rewritten or deleted by reading
        assert s.execute(text("SELECT created_at FROM images WHERE id = :id"),
                         {"id": photo.id}).scalar_one() == GARBAGE


def test_stylize_the_gallery_and_history_draw_with_a_garbage_date(tampered):
    at, _, style, render = tampered
    at.switch_page("ui/stylize.py").run()
    assert not at.exception, at.exception
    recent = at.checkbox(key=f"stylize:recent:{render.content_image_id}")
    assert "unknown" in recent.label.lower(), recent.label
    at.switch_page("ui/gallery.py").run()
    assert not at.exception, at.exception
    assert r"**Hand\-edited**" in " ".join(m.value for m in at.markdown)  # its card is there
    at.switch_page("ui/history.py").run()
    assert not at.exception, at.exception


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_running_render_whose_heartbeat_is_not_a_date_is_taken_back(library):
    """The stale-render sweep finds it (in SQL, text below any real time) and takes it back for a retry,
    saying its worker left no readable heartbeat, instead of failing on the unknown time."""
    record = library.create_render("palette", {"size": 64}, jpeg_bytes(make_photo()))
    library.start_render(record.id, "owner-1")
    with library.session() as s:
        s.execute(text("UPDATE renders SET heartbeat_at = '0000 junk' WHERE id = :id"), {"id": record.id})
    taken = library.recover_stale(stale_seconds=60)
    assert [(t.render_id, t.status) for t in taken] == [(record.id, "queued")]
    events = library.get_render(record.id).events
    assert "no readable heartbeat" in str(events[-1]), events
