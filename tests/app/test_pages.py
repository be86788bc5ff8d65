"""Every page under AppTest: none raises, and the main flows work end to end."""

from __future__ import annotations

import re
import textwrap
import time

import pytest

from tests.app.conftest import jpeg_bytes, png_bytes
from tests.factories import make_painting, make_photo

PAGES = ["ui/gallery.py", "ui/style.py", "ui/add_style.py", "ui/stylize.py", "ui/texture.py",
         "ui/history.py", "ui/plugins_page.py"]


def plain(markdown: str) -> str:
    """Markdown source without its backslash escapes (user text is escaped: ``ui.text.md``)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def wait_until(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def captions(at) -> list[str]:
    """The captions of every image on the page."""
    return [caption for image in at.image for caption in image.captions]


def texts(at) -> str:
    """Everything the page shows as text (markdown, captions, messages, titles)."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "success", "warning", "error"):
        parts += [plain(str(getattr(element, "value", ""))) for element in getattr(at, kind)]
    return "\n".join(parts)


@pytest.mark.parametrize("page", PAGES)
def test_no_page_raises(app, page):
    at = app().run()
    assert not at.exception
    at.switch_page(page).run()
    assert not at.exception, at.exception


def test_first_run_shows_the_plugin_styles(app):
    at = app().run()
    shown = texts(at)
    assert "**Blue waves**" in shown and "**Mosaic**" in shown  # contributed by the example plugin
    assert not at.exception


def add_style(at, data: bytes, name: str, filename: str = "painting.png"):
    at.switch_page("ui/add_style.py").run()
    at.file_uploader(key="add:files").set_value((filename, data, "image/png")).run()
    field = {t.label: t for t in at.text_input if t.key and t.key.startswith("add:")}
    field["Name"].set_value(name)
    field["Artist"].set_value("Test Painter")
    field["Tags"].set_value("generated, test")
    next(b for b in at.button if b.label.startswith("Add ")).click().run()
    return at


def stylize_page(at, style_id: int, photo: bytes, **numbers):
    """Open Stylize with one photo and one style, the style transfer at 64 px in one scale, and the
    given number inputs set (e.g. ``steps=2``); the page is run and ready to paint."""
    at.switch_page("ui/stylize.py").run()
    at.file_uploader(key="stylize:uploads").set_value(("photo.jpg", photo, "image/jpeg"))
    at.multiselect(key="stylize:styles").set_value([style_id])
    at.run()
    at.number_input(key="stylize:style_transfer:size").set_value(64)
    at.slider(key="stylize:style_transfer:start_size").set_value(64)
    for name, value in numbers.items():
        at.number_input(key=f"stylize:style_transfer:{name}").set_value(value)
    return at.run()


def test_adding_a_style_makes_it_appear_in_the_gallery(app):
    at = add_style(app().run(), png_bytes(make_painting(120, 90)), "Generated Waves")
    assert not at.exception
    assert any("Generated Waves" in plain(s.value) for s in at.success)
    at.switch_page("ui/gallery.py").run()
    assert "**Generated Waves**" in texts(at)
    at.text_input(key="gallery:search").set_value("waves generated").run()
    assert "**Generated Waves**" in texts(at)


def test_a_bad_upload_shows_an_error_and_changes_nothing(app):
    from ui import services

    at = app().run()
    before = len(services.library().list_styles())
    at = add_style(at, b"this is not an image at all", "Broken", filename="broken.png")
    assert any("not an image" in plain(e.value) for e in at.error)
    assert len(services.library().list_styles()) == before

    at.switch_page("ui/stylize.py").run()
    at.file_uploader(key="stylize:uploads").set_value(("photo.png", b"\x89PNG\r\n\x1a\n garbage", "image/png")).run()
    next(b for b in at.button if b.label.startswith("Paint")).click().run()
    assert any("photo.png" in plain(e.value) for e in at.error)
    assert services.library().list_renders() == []


@pytest.mark.slow
def test_stylizing_with_tiny_settings_puts_a_result_in_history(app):
    from ui import services

    at = add_style(app().run(), png_bytes(make_painting(96, 96)), "Tiny Strokes")
    style = services.library().get_style("Tiny Strokes")
    stylize_page(at, style.id, jpeg_bytes(make_photo(96, 72)), steps=2)
    next(b for b in at.button if b.label.startswith("Paint 1 photo")).click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert services.render_threads().wait_idle(services.library(), timeout=180)
    done = services.library().list_renders(status="done")
    assert len(done) == 1
    render = done[0]
    assert render.filter_id == "style_transfer" and render.params["size"] == 64
    assert [s.style_name for s in render.styles] == ["Tiny Strokes"]
    assert render.result_image_id is not None and render.losses["total"] > 0
    at.run()
    assert f"**Render #{render.id}** · Done" in texts(at)
    assert {"Original", "Result"} <= set(captions(at))
    at.switch_page("ui/history.py").run()
    assert not at.exception
    assert f"**#{render.id} · Style transfer** with Tiny Strokes" in texts(at)


@pytest.mark.slow
def test_the_cancel_button_stops_a_render_and_keeps_its_best_image(app):
    from ui import services

    at = add_style(app().run(), png_bytes(make_painting(96, 96)), "Endless Strokes")
    style = services.library().get_style("Endless Strokes")
    # tolerance 0: never converges, so only Cancel ends it
    stylize_page(at, style.id, jpeg_bytes(make_photo(96, 72)), steps=5000, tolerance=0.0)
    next(b for b in at.button if b.label.startswith("Paint 1 photo")).click().run()
    assert not at.exception and not at.error, at.exception or [e.value for e in at.error]
    (render_id,) = at.session_state["stylize:jobs"]
    farm = services.farm()
    wait_until(lambda: farm.view(render_id).step >= 3, timeout=120)
    at.run()
    assert f"**Render #{render_id}** · Painting" in texts(at)
    at.button(key=f"cancel:{render_id}").click().run()
    assert not at.exception
    assert services.render_threads().wait_idle(services.library(), timeout=60)
    record = services.library().get_render(render_id)
    assert record.status == "cancelled" and record.result_image_id is not None
    assert 3 <= record.timings["steps"] < 5000
    at.run()
    assert f"**Render #{render_id}** · Stopped: best image so far" in texts(at)
    assert "Best image so far" in captions(at)


def test_a_failing_plugin_is_listed_while_the_others_work(app, tmp_path, monkeypatch):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "broken_brush.py").write_text("def paint(:\n")
    (folder / "explodes.py").write_text("raise RuntimeError('no canvas left')\n")
    monkeypatch.setenv("NST_PLUGIN_PATH", str(folder))
    at = app().run()
    at.switch_page("ui/plugins_page.py").run()
    assert not at.exception
    errors = " ".join(plain(e.value) for e in at.error)
    assert "syntax error at line 1" in errors and "RuntimeError: no canvas left" in errors
    shown = texts(at)
    assert "Filter **Style transfer**" in shown and "Filter **Palette**" in shown
    at.switch_page("ui/stylize.py").run()
    assert not at.exception
    assert {"Style transfer", "Palette"} <= {o for o in at.selectbox(key="stylize:filter").options}


def test_the_style_page_edits_and_deletes(app):
    from ui import services

    at = add_style(app().run(), png_bytes(make_painting(100, 80)), "Editable")
    add_style(at, png_bytes(make_painting(90, 90, seed=4)), "Kept")
    style = services.library().get_style("Editable")
    at.session_state["style:id"] = style.id
    at.switch_page("ui/style.py").run()
    assert not at.exception
    assert at.title[0].value == "Editable"
    artist = next(t for t in at.text_input if t.label == "Artist")
    artist.set_value("Someone Else")
    next(b for b in at.button if b.label == "Save changes").click().run()
    assert services.library().get_style(style.id).artist == "Someone Else"

    next(b for b in at.button if b.label == "Delete…").click().run()
    assert not at.exception
    assert "**Editable** will be removed" in texts(at)  # the dialog asks first
    next(b for b in at.button if b.label == "Keep it").click().run()
    assert "**Editable** will be removed" not in texts(at) and not any(b.label == "Delete" for b in at.button)
    assert services.library().get_style(style.id).name == "Editable"
    next(b for b in at.button if b.label == "Delete…").click().run()
    next(b for b in at.button if b.label == "Delete").click().run()
    assert not at.exception
    assert [s.name for s in services.library().list_styles() if s.name in ("Editable", "Kept")] == ["Kept"]
    shown = texts(at)
    assert "**Kept**" in shown and "**Editable**" not in shown  # back in the gallery, without it


def test_missing_weights_show_the_fix_and_block_painting(app, tmp_path, monkeypatch):
    monkeypatch.setenv("NST_VGG19_WEIGHTS", str(tmp_path / "nowhere.bin"))
    at = app().run()
    at.switch_page("ui/stylize.py").run()
    assert not at.exception
    assert any("nowhere.bin" in plain(e.value) and "does not exist" in plain(e.value) for e in at.error)
    paint = next(b for b in at.button if b.label.startswith("Paint"))
    assert paint.disabled
    at.switch_page("ui/plugins_page.py").run()
    assert any("does not exist" in plain(e.value) for e in at.error)


def test_two_tabs_see_the_same_job(app):
    from ui import services

    first = add_style(app().run(), png_bytes(make_painting(96, 96)), "Shared")
    style = services.library().get_style("Shared")
    services.render_threads().stop()  # keep the render queued while the second tab looks
    render_id = services.library().create_render("palette", {"colors": 4}, jpeg_bytes(make_photo()),
                                                  [(style.id, 1.0)]).id
    second = app().run()  # another browser tab: same process, same farm and library
    second.switch_page("ui/history.py").run()
    assert not second.exception
    assert f"**Render #{render_id}** · Waiting in the queue (position 1)" in texts(second)
    first.switch_page("ui/history.py").run()
    assert f"**Render #{render_id}** · Waiting in the queue (position 1)" in texts(first)


def test_stylize_shows_the_filters_own_presets_and_their_descriptions(app, tmp_path, monkeypatch):
    """A plugin's presets appear with its own descriptions (not the engine's), and the chosen preset's
    values reach the widgets."""
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "blur.py").write_text(textwrap.dedent('''
        from nst.params import Param
        from nst.plugin import Filter, FilterResult, Needs, Preset

        class Blur(Filter):
            id = "blur"
            name = "Blur"
            needs = Needs(content=True, min_styles=0, max_styles=1)
            params = (Param("radius", "int", 2, "Blur radius.", min=0, max=50),)
            presets = {"quality": Preset({"radius": 3}, "A gentle softening."),
                       "fast": Preset({"radius": 9}, "A heavy haze.", preview=True)}

            def run(self, inputs, params, progress):
                return FilterResult(inputs.content)

        FILTERS = [Blur()]
    '''))
    monkeypatch.setenv("NST_PLUGIN_PATH", str(folder))
    at = app().run()
    at.switch_page("ui/stylize.py").run()
    filters = at.selectbox(key="stylize:filter")
    filters.select_index(filters.options.index("Blur")).run()
    assert not at.exception, at.exception
    picker = at.get("button_group")[0]
    assert picker.help == "**quality**: A gentle softening. **fast**: A heavy haze."
    assert at.slider(key="stylize:blur:radius").value == 3
