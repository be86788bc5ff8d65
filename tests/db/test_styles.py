"""Adding, finding, editing and removing styles (on SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import io
import threading

import numpy as np
import pytest
from sqlalchemy import func, select

from db import DuplicateStyleError, GramStore, LibraryError, StyleNotFoundError, StyleRecord
from db.models import GramEntry, Tag
from nst.targets import TargetKey

import db_images


def test_add_from_bytes_path_and_stream(library, tmp_path):
    path = tmp_path / "wave.jpg"
    path.write_bytes(db_images.jpeg(seed=2))
    a = library.add_style(db_images.png(seed=1), name="Bytes")
    b = library.add_style(path, name="Path", artist="Hokusai")
    c = library.add_style(io.BytesIO(db_images.png(seed=3)), name="Stream")
    d = library.add_style(path.read_bytes(), name="Same bytes as path")
    assert (a.format, b.format, c.format) == ("PNG", "JPEG", "PNG")
    assert (a.width, a.height) == (96, 64)
    assert b.artist == "Hokusai" and b.source == "upload" and b.plugin_id is None
    assert d.image_id == b.image_id, "identical bytes are stored once"
    assert library.stats().images == 3
    assert library.image_bytes(b.image_id) == path.read_bytes(), "the original bytes are kept as uploaded"
    assert a.created_at.tzinfo is not None and a.created_at.utcoffset().total_seconds() == 0


def test_records_are_frozen_values(library):
    style = library.add_style(db_images.png(), name="Frozen", suggested_params={"style_weight": 2.0})
    assert type(style) is StyleRecord
    with pytest.raises(dataclasses.FrozenInstanceError):
        style.name = "x"
    style.suggested_params["style_weight"] = 99  # a copy: the library is not affected
    assert library.get_style("Frozen").suggested_params == {"style_weight": 2.0}


def test_list_search_and_filters(library):
    library.add_style(db_images.png(seed=1), name="Starry Night", artist="Vincent van Gogh", tags="Night, Oil")
    library.add_style(db_images.png(seed=2), name="The Scream", artist="Edvard Munch", tags=["expressionism"])
    library.add_style(db_images.png(seed=3), name="Straße bei Nacht", artist="Unknown", tags=["night"])
    names = lambda styles: [s.name for s in styles]  # noqa: E731
    assert names(library.list_styles()) == ["Starry Night", "Straße bei Nacht", "The Scream"]
    assert names(library.list_styles("NIGHT")) == ["Starry Night", "Straße bei Nacht"]  # name or tag
    assert names(library.list_styles("munch")) == ["The Scream"]  # artist
    assert names(library.list_styles("expression")) == ["The Scream"]  # part of a tag
    assert names(library.list_styles("STRASSE")) == ["Straße bei Nacht"]  # Unicode case folding
    assert names(library.list_styles("50%_")) == []  # LIKE wildcards are literal
    assert names(library.list_styles(tag="Night")) == ["Starry Night", "Straße bei Nacht"]
    assert names(library.list_styles(tag="nigh")) == []  # a tag filter is exact
    assert names(library.list_styles(artist="edvard munch")) == ["The Scream"]
    assert names(library.list_styles("night", tag="oil")) == ["Starry Night"]
    assert library.tags() == ["expressionism", "night", "oil"]


def test_get_by_id_name_and_digits(library):
    style = library.add_style(db_images.png(), name="Composition VIII")
    assert library.get_style(style.id) == style
    assert library.get_style("  composition   viii ") == style
    assert library.get_style(str(style.id)) == style
    with pytest.raises(StyleNotFoundError, match='No style named "Nope".'):
        library.get_style("Nope")
    with pytest.raises(StyleNotFoundError, match="No style with id 999."):
        library.get_style(999)


def test_duplicate_names_ignore_case(library):
    library.add_style(db_images.png(seed=1), name="Starry Night")
    before = library.stats()
    for name in ("starry night", "STARRY  NIGHT", " Starry Night "):
        with pytest.raises(DuplicateStyleError, match=r'^A style named "Starry Night" already exists\.$'):
            library.add_style(db_images.png(seed=5), name=name)
    assert library.stats() == before


def test_rename(library):
    library.add_style(db_images.png(seed=1), name="Starry Night")
    library.add_style(db_images.png(seed=2), name="The Scream")
    renamed = library.rename_style("starry night", "Starry Night over the Rhône")
    assert renamed.name == "Starry Night over the Rhône" and renamed.updated_at >= renamed.created_at
    assert library.rename_style(renamed.id, "STARRY NIGHT OVER THE RHÔNE").name == "STARRY NIGHT OVER THE RHÔNE"
    with pytest.raises(DuplicateStyleError, match='"The Scream" already exists'):
        library.rename_style(renamed.id, "the scream")
    with pytest.raises(StyleNotFoundError):
        library.rename_style("Starry Night", "Anything")
    with pytest.raises(LibraryError, match="must not be empty"):
        library.rename_style(renamed.id, "   ")
    assert [s.name for s in library.list_styles()] == ["STARRY NIGHT OVER THE RHÔNE", "The Scream"]


def test_tags_and_update(library):
    style = library.add_style(db_images.png(), name="Wave", tags="sea, japan, Sea")
    assert style.tags == ("japan", "sea")
    assert library.set_tags("wave", ["Ukiyo-e", "  blue   hour "]).tags == ("blue hour", "ukiyo-e")
    assert library.tags() == ["blue hour", "ukiyo-e"]  # unused tags are not listed
    assert library.set_tags("wave", "").tags == ()
    updated = library.update_style("wave", artist="Hokusai", description="Line one.\nLine two.",
                                   suggested_params={"style_weight": np.float32(3.0), "size": np.int64(512)})
    assert updated.artist == "Hokusai" and updated.description == "Line one.\nLine two."
    assert updated.suggested_params == {"style_weight": 3.0, "size": 512}
    assert library.list_styles(artist="HOKUSAI") == [updated]
    cleared = library.update_style("wave", artist=None)
    assert cleared.artist is None and cleared.description == "Line one.\nLine two."
    with pytest.raises(LibraryError, match="comma"):
        library.set_tags("wave", ["a,b"])


@pytest.mark.parametrize("kwargs, message", [
    ({"name": ""}, "must not be empty"),
    ({"name": "x" * 101}, "at most 100 characters"),
    ({"name": 42}, "must be text"),
    ({"name": "bell\x07"}, "control characters"),
    ({"name": "ok", "suggested_params": {"x": {1, 2}}}, "JSON data"),
    ({"name": "ok", "suggested_params": [1]}, "must be a dict"),
    ({"name": "ok", "source_label": "somewhere"}, "source"),
    ({"name": "ok", "tags": ["x" * 41]}, "longer than 40"),
])
def test_bad_fields_change_nothing(library, kwargs, message):
    library.add_style(db_images.png(seed=9), name="Existing")
    before = library.stats()
    with pytest.raises(LibraryError, match=message):
        library.add_style(db_images.png(seed=1), **kwargs)
    assert library.stats() == before


def test_delete_keeps_shared_image_and_removes_grams(library):
    data = db_images.png(seed=4)
    first = library.add_style(data, name="First")
    second = library.add_style(data, name="Second")
    other = library.add_style(db_images.png(seed=5), name="Other")
    store = GramStore(library)
    grams = {"block1_conv1": np.eye(4, dtype=np.float32)}
    store.put(TargetKey(first.pixel_digest, 64, 64, ("block1_conv1",), "x"), grams)
    store.put(TargetKey(other.pixel_digest, 64, 64, ("block1_conv1",), "x"), grams)

    removed = library.delete_style("first")
    assert removed.name == "First"
    assert library.stats().images == 2, "the image is still used by Second"
    assert len(store) == 2, "Second has the same pixels: its Gram entries stay"

    library.delete_style(second.id)
    assert library.stats().images == 1
    with library.read_session() as s:
        assert s.scalars(select(GramEntry.pixel_digest)).all() == [other.pixel_digest]
    with pytest.raises(StyleNotFoundError):
        library.delete_style("First")
    assert [s.name for s in library.list_styles()] == ["Other"]


def test_style_image_is_normalised_rgb(library):
    style = library.add_style(db_images.encode(db_images.photo(50, 70).convert("L"), "PNG"), name="Grey")
    image = library.style_image("grey")
    assert image.mode == "RGB" and image.size == (50, 70)
    thumb = library.thumbnail_bytes(style.image_id)
    assert thumb[:2] == b"\xff\xd8"  # JPEG


def test_thumbnail_is_at_most_320px(library):
    from PIL import Image

    style = library.add_style(db_images.png(640, 400), name="Large")
    thumb = Image.open(io.BytesIO(library.thumbnail_bytes(style.image_id)))
    assert thumb.size == (320, 200)


def test_plugin_styles_are_idempotent(library):
    data = db_images.png(seed=7)
    first = library.ensure_plugin_style("classics", name="Starry Night", data=data, artist="Van Gogh",
                                        tags=["night"], suggested_params={"style_weight": 2})
    again = library.ensure_plugin_style("classics", name="Starry Night", data=data, artist="Van Gogh")
    assert again == first and first.source == "plugin:classics" and first.plugin_id == "classics"
    assert library.stats().styles == 1

    library.set_tags("Starry Night", ["mine"])  # the user's edits survive a restart
    assert library.ensure_plugin_style("classics", name="Starry Night", data=data).tags == ("mine",)

    changed = library.ensure_plugin_style("classics", name="Starry Night", data=db_images.png(seed=8),
                                          artist="Vincent", tags=["night", "new"])
    assert changed.id == first.id and changed.image_id != first.image_id
    assert changed.artist == "Vincent" and changed.tags == ("new", "night")
    assert library.stats().images == 1, "the old image is gone"

    library.rename_style("Starry Night", "My starry night")
    renamed = library.ensure_plugin_style("classics", name="Starry Night", data=db_images.png(seed=8))
    assert renamed.id == first.id and library.stats().styles == 1, "a renamed plugin style is not re-added"


def test_plugin_style_never_overwrites_a_user_style(library):
    user = library.add_style(db_images.png(seed=1), name="The Scream")
    before = library.stats()
    assert library.ensure_plugin_style("classics", name="the scream", data=db_images.png(seed=2)) is None
    assert library.get_style("The Scream") == user and library.stats() == before
    with pytest.raises(LibraryError, match="plugin id"):
        library.ensure_plugin_style("bad id!", name="x", data=db_images.png())


def test_tags_are_shared_rows(library):
    library.add_style(db_images.png(seed=1), name="A", tags=["oil"])
    library.add_style(db_images.png(seed=2), name="B", tags=["OIL"])
    with library.read_session() as s:
        assert s.scalar(select(func.count()).select_from(Tag)) == 1


def test_threads_share_one_library(library):
    errors = []

    def add(n: int) -> None:
        try:
            library.add_style(db_images.png(seed=100 + n), name=f"Thread {n}")
            library.list_styles("thread")
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(library.list_styles("thread")) == 4


def test_name_taken_between_check_and_insert(library, monkeypatch):
    """Another process takes the name after our check: the unique key catches it, nothing is stored."""
    import db.styles

    library.add_style(db_images.png(seed=1), name="Taken")
    real_check = db.styles._refuse_taken
    calls = []

    def blind_first_check(session, key, name):
        calls.append(name)
        if len(calls) > 1:
            real_check(session, key, name)

    monkeypatch.setattr(db.styles, "_refuse_taken", blind_first_check)
    before = library.stats()
    with pytest.raises(DuplicateStyleError, match='"Taken" already exists'):
        library.add_style(db_images.png(seed=2), name="TAKEN", tags=["new tag"])
    assert len(calls) == 2 and library.stats() == before
