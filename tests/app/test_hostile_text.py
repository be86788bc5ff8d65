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
HOSTILE_YEAR = "<img src=x> :smile: 18**89**"
HOSTILE_CREDIT = "Photo: [licence](https://evil.example/c) <b>bold</b> :red[CC0]"
HOSTILE_DESCRIPTION = "# Heading ![x](https://evil.example/d.png)"
#: A plugin whose filter's name, description and version are hostile, whose runs fail with a hostile
#: message, and one that fails to load with one (its file name is one too).
HOSTILE_PLUGIN = f"""
from nst.plugin import Filter, Needs

class Hostile(Filter):
    id = "hostile"
    name = {HOSTILE_NAME!r}
    version = "[1.0](https://evil.example/v)"
    description = {HOSTILE_ARTIST!r}
    needs = Needs(content=True, min_styles=0, max_styles=1)

    def run(self, inputs, params, progress):
        raise RuntimeError({HOSTILE_CREDIT!r})

FILTERS = [Hostile()]
"""
BROKEN_PLUGIN_FILE = "[click](evil.example).py"
MARKDOWN_KINDS = ("title", "header", "subheader", "markdown", "caption", "info", "success", "warning", "error",
                  "toast")
RENDER = MarkdownIt("commonmark")


#: Widgets whose label is Markdown.
LABELLED_KINDS = ("slider", "checkbox", "button", "text_input", "text_area", "selectbox", "multiselect",
                  "number_input", "expander")


def markdown_sources(at) -> list[str]:
    found = []
    for kind in MARKDOWN_KINDS:
        found += [str(getattr(element, "value", "")) for element in getattr(at, kind, [])]
    for image in at.get("image"):
        found += [str(caption) for caption in image.captions if caption]
    for kind in LABELLED_KINDS:
        found += [str(element.label) for element in at.get(kind) if getattr(element, "label", None)]
    return found


def assert_plain(sources: list[str]) -> None:
    assert sources
    for source in sources:
        html = RENDER.render(source)
        assert "<a " not in html and "<img" not in html, source
        assert not re.search(r"(?<!\\)(https?:|www\.)", source.replace("\\.", "")), source  # GFM autolinks
        assert not re.search(r"(?<!\\):(red|smile)", source), source  # Streamlit's directives and emoji


@pytest.fixture
def hostile(app, tmp_path, monkeypatch):
    """Every text field the app shows, hostile: a style's name, artist, tags, year, credit and description
    (a second style too, so that the blend sliders are labelled with a name), a plugin's filter name,
    description, version and run error, a plugin that fails to load, and a render's error."""
    from nst.plugin import RunInputs
    from nst.registry import PluginError
    from ui import services

    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "hostile.py").write_text(HOSTILE_PLUGIN)
    (folder / BROKEN_PLUGIN_FILE).write_text(f"raise RuntimeError({HOSTILE_NAME!r})\n")
    monkeypatch.setenv("NST_PLUGIN_PATH", str(folder))
    at = app().run()
    library = services.library()
    style = library.add_style(png_bytes(make_painting(96, 96)), name=HOSTILE_NAME, artist=HOSTILE_ARTIST,
                              tags=[HOSTILE_TAG], year=HOSTILE_YEAR, credit=HOSTILE_CREDIT,
                              description=HOSTILE_DESCRIPTION)
    other = library.add_style(png_bytes(make_painting(96, 96, seed=3)), name=HOSTILE_TAG, artist=HOSTILE_NAME)
    render = library.create_render("palette", {"size": 64}, jpeg_bytes(make_photo()), [(style.id, 0.5),
                                                                                          (other.id, 0.5)])
    library.fail_render(render.id, f'The style "{HOSTILE_NAME}" could not be read.')
    with pytest.raises(PluginError):  # the plugins page shows the last run's error
        services.registry().run("hostile", RunInputs(content=make_photo(64, 48), styles=[], style_weights=[]))
    assert "hostile" in services.registry().run_errors()
    return at, style, other, render


def open_page(hostile, page: str):
    """``page`` with the hostile style shown, both styles chosen where styles are chosen (their thumbnails'
    captions and the blend sliders' labels show their names), and the failed render in Stylize's panel."""
    at, style, other, render = hostile
    at.session_state["style:id"] = style.id
    at.session_state["stylize:preselect"] = [style.id, other.id]
    at.session_state["stylize:jobs"] = [render.id]
    at.switch_page(page).run()
    if page == "ui/texture.py":
        at.toggle(key="texture:blending").set_value(True).run()  # several styles: the blend sliders show
        at.multiselect(key="texture:styles").set_value([style.id, other.id]).run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("page, expected", [
    ("ui/style.py", [HOSTILE_NAME, HOSTILE_ARTIST, HOSTILE_YEAR, HOSTILE_CREDIT]),
    ("ui/gallery.py", [HOSTILE_NAME, HOSTILE_ARTIST, HOSTILE_YEAR, HOSTILE_TAG]),
    ("ui/stylize.py", [HOSTILE_NAME, HOSTILE_TAG, 'The style "' + HOSTILE_NAME]),
    ("ui/texture.py", [HOSTILE_NAME, HOSTILE_TAG]),
    ("ui/history.py", [HOSTILE_NAME, HOSTILE_TAG, 'The style "' + HOSTILE_NAME]),
    ("ui/plugins_page.py", [HOSTILE_NAME, HOSTILE_ARTIST, "[1.0](https://evil.example/v)", HOSTILE_CREDIT,
                            BROKEN_PLUGIN_FILE[:-3]]),
])
def test_hostile_strings_render_as_text(hostile, page, expected):
    """Every hostile field the page shows is plain text; and each one is there, unescaped, in what the page
    shows (so a page that left a field out would not pass by showing nothing)."""
    at = open_page(hostile, page)
    shown = markdown_sources(at)
    assert_plain(shown)
    text = "\n".join(unescaped(source) for source in shown)
    missing = [field for field in expected if " ".join(field.split()) not in text]
    assert not missing, (missing, text)


def unescaped(markdown: str) -> str:
    """Markdown source without its backslash escapes (what ``ui.text.md`` added)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def test_the_check_finds_a_link_when_a_name_is_not_escaped():
    """The assertion above can fail: a raw name is a link and an image."""
    with pytest.raises(AssertionError):
        assert_plain([f"**{HOSTILE_NAME}**"])
    with pytest.raises(AssertionError):
        assert_plain(["see https://evil.example"])
