"""Render history: a render's life from queued to done, failed, cancelled or interrupted."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from db import LibraryError, RenderNotFoundError, StyleNotFoundError
from db.records import RenderRecord
from nst.errors import ImageError

import db_images


@pytest.fixture
def styles(library):
    return (library.add_style(db_images.png(seed=1), name="Starry Night"),
            library.add_style(db_images.png(seed=2), name="The Scream"))


def test_life_cycle(library, styles):
    content = db_images.jpeg(80, 60, seed=10)
    render = library.create_render("style_transfer", {"size": 64, "steps": 2}, content,
                                   [("starry night", 0.7), (styles[1].id, 0.3)])
    assert isinstance(render, RenderRecord) and render.status == "queued" and render.active
    assert [(s.style_id, s.style_name, s.weight) for s in render.styles] == [
        (styles[0].id, "Starry Night", 0.7), (styles[1].id, "The Scream", 0.3)]
    assert library.image_bytes(render.content_image_id) == content
    assert [r.id for r in library.queued_renders()] == [render.id]

    started = library.start_render(render.id, "host:1:w1")
    assert started.status == "running" and started.started_at is not None and started.owner == "host:1:w1"
    assert library.queued_renders() == []
    assert library.update_render_progress(render.id, {"step": 1, "total": 2, "losses": {"style": 1.5}})
    assert library.get_render(render.id).progress == {"step": 1, "total": 2, "losses": {"style": 1.5}}

    result = db_images.png(64, 48, seed=11)
    done = library.finish_render(render.id, result, {"total": 2.5, "style": float("nan")}, {"seconds": 1.25})
    assert done.status == "done" and not done.active
    assert done.losses == {"total": 2.5, "style": None}, "NaN is stored as null (valid JSON everywhere)"
    assert done.timings == {"seconds": 1.25}
    assert done.finished_at >= done.started_at >= done.created_at
    assert library.image_bytes(done.result_image_id) == result
    assert Image.open(io.BytesIO(library.thumbnail_bytes(done.result_image_id))).size == (64, 48)
    assert not library.update_render_progress(render.id, {"step": 2}), "progress after the end is ignored"

    with pytest.raises(LibraryError, match=f"Render {render.id} is done; it cannot be started."):
        library.start_render(render.id)
    with pytest.raises(LibraryError, match="cannot be finished"):
        library.finish_render(render.id, result)


def test_fail_cancel_and_texture_without_content(library, styles):
    failed = library.create_render("texture", {}, None, [("The Scream", 1)], status="running")
    assert failed.content_image_id is None and failed.started_at is not None
    failed = library.fail_render(failed.id, "Out of memory.")
    assert failed.status == "failed" and failed.error == "Out of memory." and failed.finished_at

    cancelled = library.cancel_render(library.create_render("texture", {}, None, [(1, 1)]).id)
    assert cancelled.status == "cancelled" and cancelled.result_image_id is None

    partial = library.create_render("texture", {}, None, [(1, 1)], status="running")
    partial = library.cancel_render(partial.id, db_images.png(seed=3), losses={"total": 9.0})
    assert partial.result_image_id is not None and partial.losses == {"total": 9.0}
    assert [r.status for r in library.list_renders(status=["failed", "cancelled"])] == [
        "cancelled", "cancelled", "failed"]


def test_leases_heartbeats_cancel_and_taking_back_only_silent_renders(library, styles):
    from datetime import timedelta

    from db.models import Render, utcnow

    live, silent, cancelled = (library.create_render("texture", {}, None, [(1, 1)]) for _ in range(3))
    for render, owner in ((live, "a:1:w"), (silent, "b:2:w"), (cancelled, "c:3:w")):
        started = library.start_render(render.id, owner)
        assert started.owner == owner and started.attempts == 1 and started.heartbeat_at is not None
    assert library.heartbeat(live.id, "a:1:w", {"step": 1, "total": 9}, b"jpeg") == "ok"
    assert library.render_preview(live.id) == b"jpeg" and library.get_render(live.id).progress["step"] == 1
    assert library.heartbeat(live.id, "someone:else:w") == "lost"
    library.request_cancel(cancelled.id)
    assert library.heartbeat(cancelled.id, "c:3:w") == "cancel"
    with library.session() as s:  # two owners went silent a minute ago
        for render_id in (silent.id, cancelled.id):
            s.get(Render, render_id).heartbeat_at = utcnow() - timedelta(seconds=60)
    taken = {t.render_id: t.status for t in library.recover_stale(30)}
    assert taken == {silent.id: "queued", cancelled.id: "cancelled"}
    assert library.get_render(live.id).status == "running", "a live owner's render is never taken"
    with pytest.raises(LibraryError, match="taken back"):
        library.finish_render(silent.id, db_images.png(seed=4), owner="b:2:w")
    assert library.heartbeat(silent.id, "b:2:w") == "lost"
    retried = library.get_render(silent.id)
    assert retried.status == "queued" and retried.owner is None and retried.events[-1]["event"] == "retried"
    assert [r.id for r in library.renders_to_enqueue(0)] == [silent.id]
    library.mark_enqueued([silent.id])
    assert library.renders_to_enqueue(30) == []
    done = library.finish_render(live.id, db_images.png(seed=5), owner="a:1:w")
    assert done.status == "done" and done.owner is None and library.render_preview(live.id) is None



def test_deleted_style_keeps_history(library, styles):
    render = library.create_render("style_transfer", {}, db_images.png(seed=4), [("Starry Night", 1.0)])
    library.delete_style("Starry Night")
    kept = library.get_render(render.id)
    assert [(s.style_id, s.style_name) for s in kept.styles] == [(None, "Starry Night")]


def test_delete_render_removes_unused_images(library, styles):
    content = db_images.png(seed=5)
    first = library.create_render("style_transfer", {}, content, [(1, 1)], status="running")
    second = library.create_render("style_transfer", {}, content, [(1, 1)])
    assert first.content_image_id == second.content_image_id
    first = library.finish_render(first.id, db_images.png(seed=6))
    images = library.stats().images
    with pytest.raises(LibraryError, match="cancel it"):
        library.delete_render(library.create_render("t", {}, None, [], status="running").id)
    library.delete_render(first.id)
    assert library.stats().images == images - 1, "the result went, the content is still used"
    library.delete_render(second.id)
    assert library.stats().images == images - 2
    with pytest.raises(RenderNotFoundError, match=f"No render with id {first.id}."):
        library.get_render(first.id)


def test_recent_content_images_are_distinct_newest_first(library, styles):
    contents = [db_images.png(seed=20 + i) for i in range(4)]
    ids = [library.create_render("style_transfer", {}, data, [(1, 1)]).content_image_id for data in contents]
    library.create_render("style_transfer", {}, contents[1], [(1, 1)])  # used again: now the newest
    library.create_render("texture", {}, None, [(1, 1)])
    recent = library.recent_content_images()
    assert [i.id for i in recent] == [ids[1], ids[3], ids[2], ids[0]]
    assert [i.id for i in library.recent_content_images(limit=2)] == [ids[1], ids[3]]
    assert recent[0].width == 96 and recent[0].format == "PNG"


def test_list_renders_newest_first_with_limit(library, styles):
    made = [library.create_render("texture", {"n": n}, None, [(1, 1)]).id for n in range(5)]
    assert [r.id for r in library.list_renders()] == made[::-1]
    assert [r.id for r in library.list_renders(limit=2)] == made[:2:-1]
    with pytest.raises(LibraryError, match="Unknown render status"):
        library.list_renders(status="finished")


def test_bad_render_input_changes_nothing(library, styles):
    before = library.stats()
    with pytest.raises(StyleNotFoundError):
        library.create_render("texture", {}, db_images.png(seed=30), [(1, 1.0), ("Nope", 1.0)])
    with pytest.raises(ImageError):
        library.create_render("style_transfer", {}, b"not an image", [(1, 1.0)])
    with pytest.raises(LibraryError, match="weight"):
        library.create_render("texture", {}, None, [(1, float("inf"))])
    with pytest.raises(LibraryError, match="JSON"):
        library.create_render("texture", {"callback": print}, None, [(1, 1)])
    with pytest.raises(LibraryError, match="filter id"):
        library.create_render("", {}, None, [(1, 1)])
    with pytest.raises(RenderNotFoundError):
        library.start_render(12345)
    with pytest.raises(RenderNotFoundError):
        library.update_render_progress(12345, {"step": 1})
    assert library.stats() == before
    render = library.create_render("style_transfer", {}, None, [(1, 1)], status="running")
    with pytest.raises(ImageError):
        library.finish_render(render.id, b"\x89PNG broken")
    assert library.get_render(render.id).status == "running"
    with pytest.raises(LibraryError):
        library.image_bytes(999_999)
