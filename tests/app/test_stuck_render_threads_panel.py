"""The render panel says why a queued render waits when the app's render threads are held by filters that
ignored their time limit (the app takes no more renders then: :class:`studio.consumer.RenderThreads`)."""

from __future__ import annotations

from tests.app.conftest import jpeg_bytes
from tests.app.test_pages import texts
from tests.factories import make_photo


def test_a_queued_render_says_why_it_waits_when_the_apps_threads_are_held(app):
    from ui import services

    at = app().run()
    local = services.render_threads()
    local.stop()  # keep the render queued
    render_id = services.library().create_render("palette", {"colors": 4}, jpeg_bytes(make_photo()), []).id
    at.switch_page("ui/history.py").run()
    assert not at.exception
    assert f"**Render #{render_id}** · Waiting in the queue" in texts(at)
    assert "Renders wait" not in texts(at)

    local.halted = ("2 filters did not stop at their time limit and hold this process's render threads, so it "
                    "takes no more renders until it is restarted; queued renders wait for another worker "
                    "(python -m nst worker).")
    at.switch_page("ui/history.py").run()
    assert not at.exception
    assert f"Renders wait: {local.halted}" in texts(at)
