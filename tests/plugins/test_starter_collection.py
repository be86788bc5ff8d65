"""The starter collection: seven public-domain paintings that come as an ordinary plugin, and go the same way."""

import shutil

from PIL import Image

from db import open_library
from nst.registry import BUILTIN_DIR, Registry
from tests.app.conftest import jpeg_bytes, png_bytes
from tests.factories import make_painting, make_photo

FOLDER = BUILTIN_DIR / "starter_collection"
NAMES = ["The Starry Night", "The Scream", "Woman with a Hat", "The Great Wave off Kanagawa", "Composition VII",
         "Udnie (Young American Girl, The Dance)", "The Wreck of a Transport Ship"]


def test_the_collection_is_a_plugin_of_seven_paintings_with_artist_year_and_credit(tmp_path):
    registry = Registry.discover([], entry_points=False)
    info = next(p for p in registry.plugins if p.id == "starter_collection")
    assert info.ok and info.origin == "builtin" and info.styles == NAMES
    library = open_library(f"sqlite:///{tmp_path / 'lib.db'}")
    assert registry.sync_styles(library) == []
    styles = {s.name: s for s in library.list_styles() if s.plugin_id == "starter_collection"}
    assert sorted(styles) == sorted(NAMES)
    for style in styles.values():
        assert style.artist and style.year and "Public domain" in style.credit and "starter" in style.tags
        assert max(style.width, style.height) <= 1024 and min(style.width, style.height) >= 500
    ids = {s.id for s in library.list_styles()}
    assert registry.sync_styles(library) == [] and {s.id for s in library.list_styles()} == ids  # idempotent
    library.close()


def test_the_collection_stays_small():
    files = [p for p in FOLDER.rglob("*") if p.is_file()]
    assert len([p for p in files if p.parent == FOLDER]) == 7
    assert sum(p.stat().st_size for p in files) < 3_000_000
    for path in files:
        with Image.open(path) as image:
            assert image.format in ("JPEG", "PNG") and max(image.size) <= 1024


def _user_state(library):
    return ([(s.id, s.name, s.updated_at, s.image_id) for s in library.list_styles() if s.source == "upload"],
            [(r.id, r.status, r.result_image_id, r.styles) for r in library.list_renders()])


def test_removing_or_disabling_the_collection_leaves_the_library_alone(tmp_path, monkeypatch):
    library = open_library(f"sqlite:///{tmp_path / 'lib.db'}")
    Registry.discover([], entry_points=False).sync_styles(library)
    mine = library.add_style(png_bytes(make_painting(96, 96)), name="My own")
    starry = library.get_style("The Starry Night")
    render = library.create_render("palette", {"colors": 4}, jpeg_bytes(make_photo()), [(mine.id, 0.5), (starry.id, 0.5)])
    before = _user_state(library)
    starters = {s.id for s in library.list_styles() if s.plugin_id == "starter_collection"}

    # Removed: the built-in folder without its file.
    folder = tmp_path / "plugins"
    folder.mkdir()
    for path in BUILTIN_DIR.glob("*.py"):
        if path.stem != "starter_collection":
            shutil.copy(path, folder)
    removed = Registry.discover([folder], builtin=False, entry_points=False, probe=False)
    assert "starter_collection" not in {p.id for p in removed.plugins}
    assert removed.sync_styles(library) == []
    assert _user_state(library) == before
    assert {s.id for s in library.list_styles() if s.plugin_id == "starter_collection"} == starters

    # Disabled: listed as such, never imported, and nothing changes either.
    monkeypatch.setenv("NST_DISABLED_PLUGINS", "example_palette, starter_collection")
    disabled = Registry.discover([], entry_points=False)
    info = next(p for p in disabled.plugins if p.id == "starter_collection")
    assert info.disabled and not info.ok and info.styles == [] and "NST_DISABLED_PLUGINS" in info.error
    assert info not in disabled.failures()
    assert [name for _, style in disabled.styles() for name in [style.name]] == []
    assert disabled.sync_styles(library) == []
    assert _user_state(library) == before
    assert library.get_render(render.id).styles[1].style_id == starry.id
    library.close()


def test_the_cli_paints_with_a_starter_painting_by_name_before_the_app_ever_started(tmp_path):
    from studio import cli

    photo, out = tmp_path / "photo.png", tmp_path / "out.png"
    make_photo(96, 72).save(photo)
    code = cli.main(["transfer", str(photo), "The Great Wave off Kanagawa", "-o", str(out), "--size", "64",
                     "--steps", "2", "--start-size", "64"])
    assert code == 0 and Image.open(out).size == (64, 48)
    assert cli.main(["transfer", str(photo), "No Such Painting", "-o", str(out)]) == 2
