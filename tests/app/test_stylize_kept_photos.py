"""Stylize keeps the uploaded photo and the chosen preset across pages, and shows the photos chosen."""

from __future__ import annotations

from tests.app.conftest import jpeg_bytes, png_bytes
from tests.app.test_pages import plain, texts
from tests.factories import make_photo

PRESET = "stylize:style_transfer:__preset"


def paint_button(at):
    return next(b for b in at.button if b.label.startswith("Paint"))


def previews(at) -> list[str]:
    return [plain(str(c)) for image in at.get("image") for c in image.captions if c]


def test_a_photo_and_preset_chosen_on_stylize_are_still_there_after_another_page(app, monkeypatch):
    from ui import services

    monkeypatch.setenv("NST_APP_WORKERS", "0")  # nothing takes the render: it stays queued
    at = app().run()
    at.switch_page("ui/stylize.py").run()
    photo = jpeg_bytes(make_photo(96, 72))
    at.file_uploader(key="stylize:uploads").set_value(("beach.jpg", photo, "image/jpeg")).run()
    at.segmented_control(key=PRESET).set_value("fast").run()
    assert "96×72 px" in previews(at)  # the uploaded photo is shown, with its size (the box names it)
    assert paint_button(at).label == "Paint 1 photo"

    at.switch_page("ui/gallery.py").run()
    at.switch_page("ui/stylize.py").run()
    assert not at.exception, at.exception
    assert at.segmented_control(key=PRESET).value == "fast"
    assert "1 photo kept from before" in texts(at) and "beach.jpg · 96×72 px" in previews(at)
    assert paint_button(at).label == "Paint 1 photo" and not paint_button(at).disabled
    paint_button(at).click().run()
    (render,) = services.library().list_renders()
    assert services.library().image_bytes(render.content_image_id) is not None
    assert render.params["size"] == 256  # the fast preset's, resolved when the render was submitted



def test_photos_removed_from_the_box_are_not_kept(app):
    at = app().run()
    at.switch_page("ui/stylize.py").run()
    at.file_uploader(key="stylize:uploads").set_value(("a.png", png_bytes(make_photo(64, 48)), "image/png")).run()
    at.file_uploader(key="stylize:uploads").set_value([]).run()
    at.switch_page("ui/gallery.py").run()
    at.switch_page("ui/stylize.py").run()
    assert "kept from before" not in texts(at) and paint_button(at).label == "Paint"


def test_clear_forgets_the_kept_photos(app):
    at = app().run()
    at.switch_page("ui/stylize.py").run()
    at.file_uploader(key="stylize:uploads").set_value(
        [("a.png", png_bytes(make_photo(64, 48)), "image/png"), ("b.png", png_bytes(make_photo(64, 48, seed=2)),
                                                                 "image/png")]).run()
    at.switch_page("ui/history.py").run()
    at.switch_page("ui/stylize.py").run()
    assert "2 photos kept from before" in texts(at) and paint_button(at).label == "Paint 2 photos"
    at.button(key="stylize:clear_kept").click().run()
    assert "kept from before" not in texts(at) and paint_button(at).label == "Paint"


def test_a_photo_that_cannot_be_read_is_named_with_the_reason_instead_of_a_preview(app):
    at = app().run()
    at.switch_page("ui/stylize.py").run()
    at.file_uploader(key="stylize:uploads").set_value(("notes.png", b"\x89PNG\r\n\x1a\n garbage", "image/png")).run()
    assert not at.exception, at.exception
    assert "notes.png: " in texts(at) and not any("px" in c for c in previews(at))
