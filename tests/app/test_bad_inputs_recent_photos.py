"""A recent photo's size, read from its image row (on SQLite a column holds whatever was written into it),
is shown in its Try button's and its checkbox's tooltip, which Streamlit renders as Markdown: a row written
by other means must show as text there, never as a link."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.app.conftest import jpeg_bytes
from tests.app.test_hostile_text import assert_plain
from tests.factories import make_photo

HOSTILE_WIDTH = "[Verify your account](https://evil.example/l)"
HOSTILE_HEIGHT = "![](https://evil.example/p.png)"


@pytest.fixture
def tampered(app):
    from ui import services

    at = app().run()
    library = services.library()
    render = library.create_render("palette", {"size": 64}, jpeg_bytes(make_photo()))
    with library.session() as s:
        s.execute(text("UPDATE images SET width = :w, height = :h WHERE id = :id"),
                  {"w": HOSTILE_WIDTH, "h": HOSTILE_HEIGHT, "id": render.content_image_id})
    return at, render.content_image_id


def test_a_tampered_photo_size_is_text_in_the_recent_photos_tooltips(tampered):
    at, image_id = tampered
    at.switch_page("ui/stylize.py").run()
    assert not at.exception, at.exception
    helps = [at.checkbox(key=f"stylize:recent:{image_id}").help]
    at.switch_page("ui/gallery.py").run()
    assert not at.exception, at.exception
    helps += [b.help for b in at.button if b.key == f"tryon:recent:{image_id}"]
    assert len(helps) == 2, helps
    assert_plain(helps)
