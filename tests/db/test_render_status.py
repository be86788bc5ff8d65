"""One status type for a render's life, shared by the record, the farm's live view and the app."""

import pytest

from db.models import RENDER_STATUSES
from db.records import RenderStatus
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
