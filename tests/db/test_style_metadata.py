"""A style's year, credit (source and licence) and sample: stored, checked, edited, carried by packs and the CLI."""

import os
import subprocess
import sys

import pytest

from db import LibraryError
from db.packs import export_pack, import_pack
from tests.db import db_images


def test_year_and_credit_are_stored_edited_and_cleared(library):
    style = library.add_style(db_images.png(seed=1), name="Night", year=1889, credit="Public domain. Scan: museum")
    assert (style.year, style.credit) == ("1889", "Public domain. Scan: museum")
    style = library.update_style(style.id, year="c. 1831")
    assert (style.year, style.credit) == ("c. 1831", "Public domain. Scan: museum")
    style = library.update_style(style.id, year=None, credit="  ")
    assert (style.year, style.credit) == (None, None)


@pytest.mark.parametrize("fields, message", [
    ({"year": "1" * 41}, "A year must be at most 40 characters"),
    ({"year": 1.5}, "A year must be text"),
    ({"year": "18\x0089"}, "A year"),
    ({"credit": "x" * 2001}, "at most 2000 characters"),
    ({"credit": ["CC0"]}, "must be text"),
], ids=["long year", "float year", "control character", "long credit", "list credit"])
def test_bad_metadata_is_refused_and_nothing_is_added(library, fields, message):
    with pytest.raises(LibraryError, match=message):
        library.add_style(db_images.png(seed=2), name="Refused", **fields)
    assert library.list_styles() == []


def test_packs_carry_year_and_credit(library, tmp_path, sqlite_url):
    library.add_style(db_images.png(seed=3), name="Wave", artist="Hokusai", year="c. 1831", credit="Public domain")
    pack = export_pack(library, None, tmp_path / "pack.zip")
    from db import open_library

    with open_library(f"sqlite:///{tmp_path / 'other.db'}") as other:
        import_pack(other, pack)
        wave = other.get_style("Wave")
        assert (wave.year, wave.credit) == ("c. 1831", "Public domain")


def test_a_plugin_style_carries_its_sample_and_drops_the_old_one(library):
    painting, first, second = db_images.png(seed=4), db_images.png(seed=5), db_images.png(seed=6)
    style = library.ensure_plugin_style("collection", name="Bundled", data=painting, year="1905", sample=first)
    first_id = style.sample_image_id
    assert first_id is not None and library.image_bytes(first_id)
    again = library.ensure_plugin_style("collection", name="Bundled", data=painting, year="1905", sample=first)
    assert again.sample_image_id == first_id  # idempotent
    style = library.ensure_plugin_style("collection", name="Bundled", data=painting, year="1906", sample=second)
    assert style.year == "1906" and style.sample_image_id != first_id
    with pytest.raises(LibraryError):
        library.get_image(first_id)  # the replaced sample is gone with nothing else using it
    library.delete_style(style.id)
    with pytest.raises(LibraryError):
        library.get_image(style.sample_image_id)


def test_the_cli_adds_and_shows_year_and_credit(tmp_path, sqlite_url):
    image = tmp_path / "painting.png"
    image.write_bytes(db_images.png(seed=7))

    def nst(*args):
        return subprocess.run([sys.executable, "-m", "nst", "styles", *args], capture_output=True, text=True,
                              timeout=120, env={**os.environ, "NST_DATABASE_URL": sqlite_url})

    added = nst("add", str(image), "--name", "Night", "--year", "1889", "--credit", "Public domain")
    assert added.returncode == 0, added.stderr
    shown = nst("show", "Night")
    assert "Year:" in shown.stdout and "1889" in shown.stdout and "Credit:" in shown.stdout
    listed = nst("list", "--sort", "added")
    assert listed.returncode == 0 and "Night" in listed.stdout
    bad = nst("list", "--sort", "colour")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
