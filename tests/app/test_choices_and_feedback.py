"""What the pages offer and say before and after Paint: the Texture page's one painting, a filter that
takes no style, the expected time of every preset, and Stylize's renders of the session."""

from __future__ import annotations

import re

import pytest

from tests.app.conftest import ROOT, jpeg_bytes
from tests.app.test_pages import texts
from tests.factories import make_photo

NO_STYLE_PLUGINS = ROOT / "tests" / "app" / "plugins_nostyle"


def test_texture_starts_from_one_painting_and_a_pick_replaces_it(app, monkeypatch):
    from ui import services

    monkeypatch.setenv("NST_APP_WORKERS", "0")
    at = app().run()
    at.switch_page("ui/texture.py").run()
    assert not at.exception, at.exception
    library = services.library()
    box = at.selectbox(key="texture:styles:one")
    first = library.get_style(box.value)
    assert first.plugin_id == "starter_collection" and "generated" not in first.tags
    generated = {s.name for s in library.list_styles() if "generated" in s.tags}
    labels = list(box.options)  # as shown
    assert generated and all(any(n in label for n in generated) for label in labels[-len(generated):])
    assert not [m for m in at.multiselect if m.key == "texture:styles"], "one style unless blending"

    scream = library.get_style("The Scream")
    box.set_value(scream.id).run()
    assert at.selectbox(key="texture:styles:one").value == scream.id
    next(b for b in at.button if b.label == "Synthesize").click().run()
    assert not at.exception and not at.error, at.exception or [e.value for e in at.error]
    (render,) = library.list_renders()
    assert [s.style_id for s in render.styles] == [scream.id], "The Scream alone, not added to the first"

    # Blending on purpose keeps the choice and adds to it.
    at.toggle(key="texture:blending").set_value(True).run()
    assert at.multiselect(key="texture:styles").value == [scream.id]


def test_make_a_texture_from_a_painting_starts_from_that_painting_alone(app):
    from ui import services

    at = app().run()
    at.switch_page("ui/texture.py").run()  # a visit first: the page has a choice already
    wave = services.library().get_style("The Great Wave off Kanagawa")
    at.session_state["style:id"] = wave.id
    at.switch_page("ui/style.py").run()
    next(b for b in at.button if "texture" in b.label.lower()).click().run()
    assert not at.exception, at.exception
    assert at.selectbox(key="texture:styles:one").value == wave.id


def test_a_filter_that_takes_no_style_shows_no_styles_box_and_paints_without_one(app, monkeypatch):
    from ui import services

    monkeypatch.setenv("NST_PLUGIN_PATH", str(NO_STYLE_PLUGINS))
    at = app().run()
    at.switch_page("ui/stylize.py").run()
    at.file_uploader(key="stylize:uploads").set_value(("photo.jpg", jpeg_bytes(make_photo(64, 48)), "image/jpeg"))
    at.run()
    assert any(m.key == "stylize:styles" for m in at.multiselect)
    at.selectbox(key="stylize:filter").set_value(services.registry().get("sepia_tone")).run()
    assert not at.exception, at.exception
    assert not any(m.key == "stylize:styles" for m in at.multiselect), "no Styles box for a filter taking none"
    assert "2 · Styles" not in texts(at) and "2 · Filter" in texts(at)
    next(b for b in at.button if b.label.startswith("Paint 1 photo")).click().run()
    assert not at.exception and not at.error, at.exception or [e.value for e in at.error]
    assert services.render_threads().wait_idle(services.library(), timeout=120)
    (render,) = services.library().list_renders()
    assert render.filter_id == "sepia_tone" and render.styles == () and render.status == "done", render.error


def expected(at) -> str:
    return next((c.value for c in at.caption if str(c.value).startswith("Expected time: about")), "")


@pytest.mark.parametrize("page, prefix", [("ui/stylize.py", "stylize:style_transfer"),
                                          ("ui/texture.py", "texture:texture_synthesis")])
def test_every_preset_shows_its_expected_time_and_a_warning_past_the_time_limit(app, monkeypatch, page, prefix):
    from ui.estimate import duration

    monkeypatch.setenv("NST_RENDER_TIME_LIMIT", "600")
    at = app().run()
    at.switch_page(page).run()
    seen = {}
    for preset in ("fast", "quality", "best", "tutorial"):
        at.segmented_control(key=f"{prefix}:__preset").set_value(preset).run()
        assert not at.exception, at.exception
        seen[preset] = expected(at)
        assert re.search(r"about \d+ (s|min)", seen[preset]), (preset, seen[preset])
        warned = [w.value for w in at.warning if "past the render time limit" in w.value]
        assert bool(warned) == (preset == "tutorial"), (preset, warned)  # 2000 steps at 512 px
    assert f"limit of {duration(600)}" in warned[0]
    assert len(set(seen.values())) == 4, seen  # each preset its own figure


def test_the_estimate_is_priced_from_this_machines_renders():
    from types import SimpleNamespace

    from ui.estimate import estimate, price_per_pixel_step

    slow = SimpleNamespace(timings={"scales": ["256x192", "32x24"], "scale_steps": [10, 5],
                                    "scale_seconds": [4.9152, 9.0]})  # the tiny scale is compiling: not used
    assert price_per_pixel_step([slow, SimpleNamespace(timings=None)]) == (pytest.approx(1e-5), 1)
    from nst import pyramid
    from nst.registry import Registry
    from nst.settings import settings_of

    values = {**Registry.discover().resolve("style_transfer", {"preset": "fast"}), "size": 256, "start_size": 256}
    priced = estimate("style_transfer", values, (256, 192), [(256, 256)], [slow])
    plan = pyramid.transfer(settings_of("transfer", values), (256, 192), [(256, 256)])
    assert plan.sizes == ((256, 192),)  # the engine's own plan: one scale
    assert priced.measured and priced.pixel_steps == 256 * 192 * plan.steps[0]
    assert priced.seconds == pytest.approx(priced.pixel_steps * 1e-5 + 3.0)
    assert estimate("palette", {}, None, [], [slow]) is None


def test_stylize_keeps_the_sessions_renders_newest_first(app, monkeypatch):
    from ui import services

    monkeypatch.setenv("NST_APP_WORKERS", "0")
    at = app().run()
    at.switch_page("ui/stylize.py").run()
    at.file_uploader(key="stylize:uploads").set_value(("photo.jpg", jpeg_bytes(make_photo(64, 48)), "image/jpeg"))
    at.run()
    at.segmented_control(key="stylize:style_transfer:__preset").set_value("fast").run()
    paint = lambda: next(b for b in at.button if b.label.startswith("Paint 1 photo")).click().run()  # noqa: E731
    paint()
    at.segmented_control(key="stylize:style_transfer:__preset").set_value("quality").run()
    paint()
    assert not at.exception and not at.error, at.exception or [e.value for e in at.error]
    second, first = services.library().list_renders()  # newest first
    assert at.session_state["stylize:jobs"] == [second.id, first.id]
    shown = [m for m in texts(at).splitlines() if m.startswith("**Render #")]
    assert [int(re.search(r"#(\d+)", m).group(1)) for m in shown] == [second.id, first.id], shown
