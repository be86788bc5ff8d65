"""Names, artists, tags and messages from users or packs are shown as text: no link, no image, no
badge, no emoji. Each page is rendered through AppTest with hostile strings in the library, and every
piece of Markdown it produces is rendered by a CommonMark parser, which must find no link or image."""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt

from tests.app.conftest import jpeg_bytes, png_bytes
from tests.factories import make_painting, make_photo

HOSTILE_NAME = "![](https://evil.example/p.png) [Verify your account](https://evil.example/l)"
HOSTILE_ARTIST = "<https://evil.example/a> www.evil.example :red[alert] :smile:"
HOSTILE_TAG = "[tag](https://evil.example/t)"
MARKDOWN_KINDS = ("title", "header", "subheader", "markdown", "caption", "info", "success", "warning", "error",
                  "toast")
RENDER = MarkdownIt("commonmark")


def markdown_sources(at) -> list[str]:
    found = []
    for kind in MARKDOWN_KINDS:
        found += [str(getattr(element, "value", "")) for element in getattr(at, kind, [])]
    for image in at.get("image"):
        found += [str(caption) for caption in image.captions if caption]
    return found


def assert_plain(sources: list[str]) -> None:
    assert sources
    for source in sources:
        html = RENDER.render(source)
        assert "<a " not in html and "<img" not in html, source
        assert not re.search(r"(?<!\\)(https?:|www\.)", source.replace("\\.", "")), source  # GFM autolinks
        assert not re.search(r"(?<!\\):(red|smile)", source), source  # Streamlit's directives and emoji


@pytest.fixture
def hostile(app):
    from ui import services

    at = app().run()
    library = services.library()
    style = library.add_style(png_bytes(make_painting(96, 96)), name=HOSTILE_NAME, artist=HOSTILE_ARTIST,
                              tags=[HOSTILE_TAG])
    render = library.create_render("palette", {"size": 64}, jpeg_bytes(make_photo()), [(style.id, 1.0)])
    library.fail_render(render.id, f'The style "{HOSTILE_NAME}" could not be read.')
    return at, style


@pytest.mark.parametrize("page", ["ui/gallery.py", "ui/style.py", "ui/stylize.py", "ui/history.py"])
def test_hostile_strings_render_as_text(hostile, page):
    at, style = hostile
    at.session_state["style:id"] = style.id
    at.session_state["stylize:preselect"] = [style.id]  # its thumbnail, with its name as the caption
    at.switch_page(page).run()
    assert not at.exception, at.exception
    shown = markdown_sources(at)
    assert any("evil" in s for s in shown), "the hostile text must be on the page, escaped"
    assert_plain(shown)


def test_the_check_finds_a_link_when_a_name_is_not_escaped():
    """The assertion above can fail: a raw name is a link and an image."""
    with pytest.raises(AssertionError):
        assert_plain([f"**{HOSTILE_NAME}**"])
    with pytest.raises(AssertionError):
        assert_plain(["see https://evil.example"])
