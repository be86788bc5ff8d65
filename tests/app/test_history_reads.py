"""History tells renders apart: preset, size, styles, duration and local time on every row; Open shows
the settings under the form's titles; two renders side by side; download names that say what they are."""

from __future__ import annotations

from PIL import Image

from tests.app.conftest import jpeg_bytes, png_bytes
from tests.app.test_pages import texts
from tests.factories import make_photo

WAVE = "The Great Wave off Kanagawa"


def transfer_render(library, registry, preset: str, size: int, seconds: float, colour=(200, 40, 40)):
    """A finished style transfer with ``preset``'s values at ``size`` px, as a worker records it."""
    params = {**registry.resolve("style_transfer", {"preset": preset}), "size": size}
    wave = library.get_style(WAVE)
    render = library.create_render("style_transfer", params, jpeg_bytes(make_photo(96, 72)), [(wave.id, 1.0)])
    library.start_render(render.id, "test-owner")
    side = (size, size * 3 // 4)
    library.finish_render(render.id, png_bytes(Image.new("RGB", side, colour)), {"total": 1.0},
                          timings={"seconds": seconds, "scales": [f"{side[0]}x{side[1]}"]}, owner="test-owner")
    return library.get_render(render.id)


def test_rows_say_preset_size_duration_and_local_time_and_open_shows_the_forms_titles(app):
    from ui import services

    library, registry = services.library(), services.registry()
    fast = transfer_render(library, registry, "fast", 64, 3.2)
    quality = transfer_render(library, registry, "quality", 96, 12.5, (40, 40, 200))
    at = app().run()
    at.switch_page("ui/history.py").run()
    assert not at.exception, at.exception
    shown = texts(at)
    assert "Fast, with Size (px) changed · 64 × 48 px · 3.2 s" in shown, shown
    assert "Quality, with Size (px) changed · 96 × 72 px · 12.5 s" in shown
    assert f"with {WAVE}" in shown
    # AppTest's browser states no time zone: the time says UTC
    assert fast.created_at.strftime("%Y-%m-%d %H:%M UTC") in shown

    at.button(key=f"open:{quality.id}").click().run()
    assert not at.exception, at.exception
    (table,) = at.table
    settings = table.value
    assert settings.loc["Steps", "Value"] == str(quality.params["steps"])
    assert "Content weight" in settings.index and "beta1" not in settings.index  # titles, not raw names
    assert not [c for c in at.code if '"content_weight"' in c.value], "no raw JSON of the settings"


def test_two_renders_compare_side_by_side_with_the_settings_that_differ(app):
    from ui import services

    library, registry = services.library(), services.registry()
    fast = transfer_render(library, registry, "fast", 64, 3.2)
    quality = transfer_render(library, registry, "quality", 96, 12.5, (40, 40, 200))
    at = app().run()
    at.switch_page("ui/history.py").run()
    at.button(key=f"compare:{fast.id}").click().run()
    assert "Side by side" not in texts(at)
    at.button(key=f"compare:{quality.id}").click().run()
    assert not at.exception, at.exception
    assert "Side by side" in texts(at)
    differing = at.table[0].value
    assert list(differing.columns) == [f"#{fast.id}", f"#{quality.id}"]
    assert differing.loc["Size (px)"].tolist() == ["64", "96"]
    assert "Style weight" not in differing.index or len(set(differing.loc["Style weight"])) > 1
    at.button(key=f"uncompare:{fast.id}").click().run()
    assert "Side by side" not in texts(at)


def test_downloads_are_named_by_photo_style_and_preset(app, monkeypatch):
    import re

    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    from ui import services

    names = []
    real = MemoryMediaFileStorage.load_and_get_id

    def recorded(self, path_or_data, mimetype, kind, filename=None):
        names.append(filename)
        return real(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", recorded)
    monkeypatch.setenv("NST_APP_WORKERS", "0")
    at = app().run()
    at.switch_page("ui/stylize.py").run()
    at.file_uploader(key="stylize:uploads").set_value(("Beach day.jpg", jpeg_bytes(make_photo(64, 48)), "image/jpeg"))
    at.run()
    at.segmented_control(key="stylize:style_transfer:__preset").set_value("fast").run()
    next(b for b in at.button if b.label.startswith("Paint 1 photo")).click().run()
    library = services.library()
    (render,) = library.list_renders()
    library.start_render(render.id, "test-owner")
    library.finish_render(render.id, png_bytes(Image.new("RGB", (64, 48))), {"total": 1.0}, owner="test-owner")
    at.run()
    style = re.sub(r"[^a-z0-9]+", "-", render.styles[0].style_name.lower()).strip("-")
    assert f"beach-day-{style}-fast-{render.id}.png" in names, names
    assert f"beach-day-{style}-fast-{render.id}.jpg" in names, names


def test_a_style_pack_exports_from_the_app_and_imports_again(app, tmp_path):
    import io
    import zipfile

    from db.packs import import_pack
    from ui import services
    from tests.app.test_pages import add_style
    from tests.factories import make_painting

    at = add_style(app().run(), png_bytes(make_painting(96, 96)), "Pack Me")
    mine = services.library().get_style("Pack Me")
    at.switch_page("ui/add_style.py").run()
    assert at.multiselect(key="add:export:ids").value == [mine.id]  # the user's own styles
    at.button(key="add:export:make").click().run()
    assert not at.exception and not at.error, at.exception or [e.value for e in at.error]
    (button,) = [b for b in at.get("download_button") if "pack" in str(b.proto.label)]
    pack = services.library()  # the pack's bytes, as the page holds them for the download
    data = at.session_state["add:export:pack"][1]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert "pack.json" in archive.namelist()
    services.library().delete_style(mine.id)
    (tmp_path / "pack.zip").write_bytes(data)
    report = import_pack(pack, tmp_path / "pack.zip")
    assert services.library().get_style("Pack Me").sha256 == mine.sha256, report


def test_recent_photos_are_labelled_by_when_they_were_painted(app):
    from ui import services

    library, registry = services.library(), services.registry()
    render = transfer_render(library, registry, "fast", 64, 3.2)
    photo = library.get_image(render.content_image_id)
    at = app().run()
    at.switch_page("ui/stylize.py").run()
    (box,) = [c for c in at.checkbox if c.key == f"stylize:recent:{photo.id}"]
    assert box.label == photo.created_at.strftime("%Y-%m-%d %H:%M UTC")  # no time zone from AppTest's browser
