"""First run and the way from a painting to a photo painted with it: the starter collection in the gallery,
the style carried into Stylize, results on the cards, History by style, results as one zip."""

from __future__ import annotations

import io
import zipfile

from tests.app.conftest import jpeg_bytes, png_bytes
from tests.app.test_pages import add_style, texts
from tests.factories import make_painting, make_photo

WAVE = "The Great Wave off Kanagawa"
STARTERS = {"The Starry Night": ("Vincent van Gogh", "1889"), "The Scream": ("Edvard Munch", "1893"),
            "Woman with a Hat": ("Henri Matisse", "1905"), WAVE: ("Katsushika Hokusai", "c. 1831"),
            "Composition VII": ("Wassily Kandinsky", "1913"),
            "Udnie (Young American Girl, The Dance)": ("Francis Picabia", "1913"),
            "The Wreck of a Transport Ship": ("J. M. W. Turner", "c. 1810")}


def finished_render(library, style_ids, colour=(200, 40, 40)):
    """A render recorded as done, with a result image (what a worker leaves behind)."""
    from PIL import Image

    render = library.create_render("palette", {"colors": 4}, jpeg_bytes(make_photo()), [(i, 1.0) for i in style_ids])
    library.start_render(render.id, "test-owner")
    library.finish_render(render.id, png_bytes(Image.new("RGB", (48, 40), colour)), {"total": 1.0},
                          owner="test-owner")
    return library.get_render(render.id)


def captions(at) -> list[str]:
    return [str(caption) for image in at.get("image") for caption in image.captions if caption]


def test_first_run_shows_the_seven_paintings_with_their_artists_and_years(app):
    at = app().run()
    shown = texts(at)
    for name, (artist, year) in STARTERS.items():
        assert f"**{name}**" in shown and f"{artist} · {year}" in shown, name
    assert not at.exception


def test_use_on_a_card_opens_stylize_with_that_painting_chosen(app):
    from ui import services

    at = app().run()
    stylize = app().run()
    stylize.switch_page("ui/stylize.py").run()  # a visit first: the picker already has a choice
    wave = services.library().get_style(WAVE)
    at.button(key=f"use:{wave.id}").click().run()
    assert not at.exception, at.exception
    assert at.multiselect(key="stylize:styles").value == [wave.id]
    # Once more from the gallery, after a visit to Stylize: the new choice replaces the old one.
    scream = services.library().get_style("The Scream")
    at.switch_page("ui/gallery.py").run()
    at.button(key=f"use:{scream.id}").click().run()
    assert at.multiselect(key="stylize:styles").value == [scream.id]


def test_stylize_offers_the_most_recently_used_style_and_never_a_generated_pattern_first(app):
    from ui import services

    library = services.library()
    at = app().run()
    at.switch_page("ui/stylize.py").run()
    first = library.get_style(at.multiselect(key="stylize:styles").value[0])
    assert first.plugin_id == "starter_collection" and "generated" not in first.tags
    options = at.multiselect(key="stylize:styles").options
    generated = {s.name for s in library.list_styles() if "generated" in s.tags}
    assert generated and all(any(name in option for name in generated) for option in options[-len(generated):])

    scream = library.get_style("The Scream")
    finished_render(library, [scream.id])
    again = app().run()
    again.switch_page("ui/stylize.py").run()
    assert again.multiselect(key="stylize:styles").value == [scream.id]


def test_a_new_style_leads_to_stylize_with_it_chosen(app):
    from ui import services

    at = add_style(app().run(), png_bytes(make_painting(96, 96)), "Fresh Paint")
    fresh = services.library().get_style("Fresh Paint")
    at.button(key="add:paint").click().run()
    assert not at.exception, at.exception
    assert at.multiselect(key="stylize:styles").value == [fresh.id]
    # Added and not used yet: it is still what Stylize offers first on a later visit.
    later = app().run()
    later.switch_page("ui/stylize.py").run()
    assert later.multiselect(key="stylize:styles").value == [fresh.id]


def test_a_card_shows_the_latest_result_and_the_gallery_sorts(app):
    from ui import services

    library = services.library()
    wave = library.get_style(WAVE)
    old = finished_render(library, [wave.id], (10, 10, 10))
    latest = finished_render(library, [wave.id], (250, 250, 250))
    at = app().run()
    assert captions(at).count("The painting · your latest render") == 1
    shown = texts(at)
    assert shown.index(f"**{WAVE}**") < shown.index("**The Scream**")  # recently used first
    at.segmented_control(key="gallery:sort").set_value("artist").run()
    shown = texts(at)
    assert shown.index("**Udnie (Young American Girl, The Dance)**") < shown.index("**The Wreck of a Transport Ship**")
    assert shown.index("**The Wreck of a Transport Ship**") < shown.index(f"**{WAVE}**")  # F. Picabia, J. M. W. Turner, K. Hokusai
    assert latest.result_image_id != old.result_image_id
    assert library.style_usage()[wave.id].result_image_id == latest.result_image_id


def test_history_filters_by_style(app):
    from ui import services

    library = services.library()
    wave, scream = library.get_style(WAVE), library.get_style("The Scream")
    with_wave = finished_render(library, [wave.id])
    with_scream = finished_render(library, [scream.id])
    at = app().run()
    at.switch_page("ui/history.py").run()
    shown = texts(at)
    assert f"#{with_wave.id} · Palette" in shown and f"#{with_scream.id} · Palette" in shown
    at.selectbox(key="history:style").set_value(scream.id).run()
    shown = texts(at)
    assert f"#{with_scream.id} · Palette" in shown and f"#{with_wave.id} · Palette" not in shown
    assert not at.exception


def test_several_results_download_as_one_zip(app):
    from ui import services
    from ui.job_panel import _zip_of

    library = services.library()
    wave = library.get_style(WAVE)
    renders = [finished_render(library, [wave.id], colour) for colour in ((255, 0, 0), (0, 0, 255))]
    at = app().run()
    at.switch_page("ui/stylize.py").run()
    at.session_state["stylize:jobs"] = [r.id for r in renders]
    at.run()
    buttons = [b for b in at.get("download_button") if "zip" in str(b.proto.label)]
    assert [str(b.proto.label) for b in buttons] == ["Download all 2 results (zip)"]
    names = [(f"render-{r.id}-the-great-wave-off-kanagawa.png", library.get_image(r.result_image_id).sha256,
              r.result_image_id) for r in renders]
    with zipfile.ZipFile(io.BytesIO(_zip_of(tuple(names)))) as archive:
        assert archive.namelist() == [n for n, _, _ in names]
        assert [archive.read(n) for n, _, _ in names] == [library.image_bytes(r.result_image_id) for r in renders]


def test_the_plugins_page_lists_the_collection_and_says_when_it_is_disabled(app, monkeypatch):
    at = app().run()
    at.switch_page("ui/plugins_page.py").run()
    shown = texts(at)
    assert "**starter_collection**" in shown and "The Great Wave off Kanagawa" in shown
    monkeypatch.setenv("NST_DISABLED_PLUGINS", "starter_collection")
    from ui import services

    services.reload_plugins()  # as the page's "Reload plugins" button does
    at = app().run()
    at.switch_page("ui/plugins_page.py").run()
    shown = texts(at)
    assert "**starter_collection** · disabled" in shown and "disabled by NST_DISABLED_PLUGINS" in shown
    assert not at.exception
