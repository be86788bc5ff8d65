"""The blend chosen in the app reaches the render: two styles, unequal sliders, and the render's record
holds the sliders' weights (the app's render thread is stopped, so the render stays queued and no VGG19
runs)."""

from __future__ import annotations

import pytest

from tests.app.conftest import jpeg_bytes, png_bytes
from tests.factories import make_painting, make_photo


@pytest.fixture
def two_styles(app):
    from ui import services

    at = app().run()
    services.render_threads().stop()  # the render stays queued: only its record is looked at
    library = services.library()
    first = library.add_style(png_bytes(make_painting(96, 96, seed=1)), name="Blend First")
    second = library.add_style(png_bytes(make_painting(96, 96, seed=2)), name="Blend Second")
    return at, first, second


def only_render():
    from ui import services

    (render,) = services.library().list_renders()
    return render


def test_blend_weights_chosen_in_stylize_reach_the_render(two_styles):
    at, first, second = two_styles
    at.switch_page("ui/stylize.py").run()
    at.file_uploader(key="stylize:uploads").set_value(("photo.jpg", jpeg_bytes(make_photo(96, 72)), "image/jpeg"))
    at.multiselect(key="stylize:styles").set_value([first.id, second.id])
    at.run()
    at.slider(key=f"stylize:blend:{first.id}").set_value(0.8)
    at.slider(key=f"stylize:blend:{second.id}").set_value(0.15)
    at.run()
    next(b for b in at.button if b.label.startswith("Paint 1 photo")).click().run()
    assert not at.exception and not at.error, at.exception or [e.value for e in at.error]
    render = only_render()
    assert [(s.style_id, s.weight) for s in render.styles] == [(first.id, pytest.approx(0.8)),
                                                                (second.id, pytest.approx(0.15))]


def test_blend_weights_chosen_in_texture_reach_the_render(two_styles):
    at, first, second = two_styles
    at.switch_page("ui/texture.py").run()
    at.toggle(key="texture:blending").set_value(True).run()  # one style unless the user blends on purpose
    at.multiselect(key="texture:styles").set_value([first.id, second.id])
    at.run()
    at.slider(key=f"texture:blend:{first.id}").set_value(0.25)
    at.slider(key=f"texture:blend:{second.id}").set_value(0.9)
    at.run()
    next(b for b in at.button if b.label == "Synthesize").click().run()
    assert not at.exception and not at.error, at.exception or [e.value for e in at.error]
    render = only_render()
    assert [(s.style_id, s.weight) for s in render.styles] == [(first.id, pytest.approx(0.25)),
                                                                (second.id, pytest.approx(0.9))]
