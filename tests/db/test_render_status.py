"""One status type for a render's life, shared by the record, the farm's live view and the app."""

import pytest

from db.models import RENDER_STATUSES
from db.lifecycle import RenderStatus
from tests.db import db_images


@pytest.fixture
def styles(library):
    return (library.add_style(db_images.png(seed=1), name="Starry Night"),)


def test_the_status_type_is_the_tables_and_says_what_the_app_shows():
    assert tuple(s.value for s in RenderStatus) == RENDER_STATUSES
    assert [s for s in RenderStatus if s.active] == [RenderStatus.QUEUED, RenderStatus.RUNNING]
    assert RenderStatus("done") == "done" and f"{RenderStatus.DONE}" == "done"
    assert RenderStatus.of("finished") is None
    from ui.job_panel import status_text

    assert status_text("cancelled") == "Stopped: best image so far" and status_text("odd") == "odd"


def test_records_and_live_views_carry_the_status_type(library, styles):
    render = library.create_render("texture", {}, None, [(1, 1.0)])
    assert render.status is RenderStatus.QUEUED and render.active
    assert library.renders.live(render.id).status is RenderStatus.QUEUED
    started = library.start_render(render.id, owner="w")
    assert started.status is RenderStatus.RUNNING
    assert library.get_render(render.id).status is RenderStatus.RUNNING
    ended = library.request_cancel(render.id)
    assert ended.status is RenderStatus.RUNNING and ended.cancel_requested


def test_a_result_is_stored_from_the_picture_without_decoding_a_png(library, styles, monkeypatch):
    import numpy as np
    from PIL import Image

    from nst import images, targets

    picture = Image.fromarray((np.random.default_rng(3).random((40, 56, 3)) * 255).astype(np.uint8))
    render = library.create_render("texture", {}, None, [(1, 1.0)])
    library.start_render(render.id, owner="w")
    decoded = []
    monkeypatch.setattr(images, "open_checked", lambda *a, **k: decoded.append(a) or Image.new("RGB", (1, 1)))
    done = library.finish_render(render.id, picture, {"total": 1.0}, {"seconds": 1.0}, owner="w")
    assert decoded == []  # nothing read back from the PNG it made
    monkeypatch.undo()
    stored = library.get_image(done.result_image_id)
    assert (stored.width, stored.height, stored.format) == (56, 40, "PNG")
    assert stored.pixel_digest == targets.image_digest(picture)
    again = images.load(library.image_bytes(done.result_image_id), as_input=False)
    assert np.array_equal(np.asarray(again), np.asarray(picture))


def test_every_status_change_goes_through_one_move_checked_against_the_allowed_moves(library, styles):
    from PIL import Image

    from db.errors import LibraryError
    from db.lifecycle import NEXT, RenderStatus as S

    assert all(not NEXT[s] for s in S if not s.active)  # an ended render never moves again
    render = library.create_render("texture", {}, None, [(1, 1.0)])
    library.start_render(render.id, owner="w")
    library.release_render(render.id, "w", "its worker was shutting down")
    again = library.get_render(render.id)
    assert again.status is S.QUEUED and again.owner is None and again.events[-1]["event"] == "released"
    library.request_cancel(render.id)
    ended = library.get_render(render.id)
    assert ended.status is S.CANCELLED and ended.finished_at is not None
    with pytest.raises(LibraryError, match=f"Render {render.id} is cancelled; it cannot be finished"):
        library.finish_render(render.id, Image.new("RGB", (8, 8)))
    with pytest.raises(LibraryError, match="it cannot be started"):
        library.start_render(render.id, owner="w")
    assert [e["event"] for e in library.get_render(render.id).events] == ["queued", "started", "released",
                                                                            "cancelled"]
