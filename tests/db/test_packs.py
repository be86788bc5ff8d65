"""Style packs: export, import, conflicts, and every way a pack can be bad."""

from __future__ import annotations

import copy
import hashlib
import json
import zipfile

import pytest

from db import DuplicateStyleError, PackError, StyleNotFoundError, open_library
from db.packs import export_pack, import_pack

import db_images


@pytest.fixture
def stocked(library):
    library.add_style(db_images.jpeg(seed=1), name="Starry Night", artist="Van Gogh", tags=["night", "oil"],
                      description="Swirls.", suggested_params={"style_weight": 2.0, "layers": ["block1_conv1"]})
    library.add_style(db_images.png(seed=2), name="The Scream", artist="Munch")
    library.add_style(db_images.png(seed=2), name="Same pixels")  # shares the image
    return library


def _fields(style):
    return (style.name, style.artist, style.description, style.tags, style.suggested_params, style.sha256,
            style.format, style.width, style.height)


def test_round_trip(stocked, tmp_path):
    pack = export_pack(stocked, None, tmp_path / "all.zip")
    with zipfile.ZipFile(pack) as archive:
        manifest = json.loads(archive.read("pack.json"))
        assert manifest["format"] == "nst-style-pack" and manifest["version"] == 1
        assert len(archive.namelist()) == 3, "pack.json and two distinct images"
        for entry in manifest["styles"]:
            assert hashlib.sha256(archive.read(entry["image"])).hexdigest() == entry["sha256"]
    with open_library(f"sqlite:///{tmp_path / 'other.db'}") as other:
        report = import_pack(other, pack)
        assert report.added == ("Same pixels", "Starry Night", "The Scream") and not report.skipped
        assert [_fields(s) for s in other.list_styles()] == [_fields(s) for s in stocked.list_styles()]
        assert other.stats().images == 2
        assert other.image_bytes(other.get_style("Starry Night").image_id) == \
            stocked.image_bytes(stocked.get_style("Starry Night").image_id)


def test_export_some_by_name(stocked, tmp_path):
    pack = export_pack(stocked, ["the scream", stocked.get_style("Starry Night").id], tmp_path / "two.zip")
    with zipfile.ZipFile(pack) as archive:
        assert [s["name"] for s in json.loads(archive.read("pack.json"))["styles"]] == ["The Scream", "Starry Night"]
    with pytest.raises(StyleNotFoundError):
        export_pack(stocked, ["Nope"], tmp_path / "none.zip")
    assert not (tmp_path / "none.zip").exists()
    with pytest.raises(PackError, match="does not exist"):
        export_pack(stocked, None, tmp_path / "no" / "such" / "dir.zip")


def test_conflicts(stocked, tmp_path):
    pack = export_pack(stocked, ["Starry Night", "The Scream"], tmp_path / "p.zip")
    scream_first = export_pack(stocked, ["The Scream", "Starry Night"], tmp_path / "scream-first.zip")
    before = stocked.stats()
    report = import_pack(stocked, pack)
    assert report.skipped == ("Starry Night", "The Scream") and not report.added
    assert stocked.stats() == before

    stocked.delete_style("The Scream")
    # The Scream is written first, then Starry Night's conflict stops the import midway: all or nothing.
    with pytest.raises(DuplicateStyleError, match='"Starry Night" is already in the library'):
        import_pack(stocked, scream_first, on_conflict="error")
    assert stocked.stats().styles == before.styles - 1, "nothing imported: The Scream is not back"
    assert "The Scream" not in [s.name for s in stocked.list_styles()]

    report = import_pack(stocked, pack, on_conflict="rename")
    assert report.renamed == (("Starry Night", "Starry Night (2)"),) and set(report.added) == {
        "Starry Night (2)", "The Scream"}
    assert import_pack(stocked, pack, on_conflict="rename").renamed[0] == ("Starry Night", "Starry Night (3)")
    assert "renamed" in report.summary()
    with pytest.raises(PackError, match="on_conflict"):
        import_pack(stocked, pack, on_conflict="overwrite")


def _pack(path, manifest, files: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as archive:
        if manifest is not None:
            archive.writestr("pack.json", manifest if isinstance(manifest, (str, bytes)) else json.dumps(manifest))
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def _manifest(*styles):
    return {"format": "nst-style-pack", "version": 1, "styles": list(styles)}


GOOD = db_images.png(seed=40)
GOOD_SHA = hashlib.sha256(GOOD).hexdigest()
TEXT = b"just some text, not an image" * 10


def _style(name="Packed", image="images/a.png", sha=GOOD_SHA, **extra):
    return {"name": name, "image": image, "sha256": sha, **extra}


BAD_PACKS = {
    "not a zip": (None, None, "not a valid zip file"),
    "no manifest": (None, {"images/a.png": GOOD}, "has no pack.json"),
    "bad json": ("{not json", {"images/a.png": GOOD}, "not valid JSON"),
    "wrong format": ({"format": "something", "styles": []}, {}, "not a style pack manifest"),
    "future version": ({**_manifest(_style()), "version": 99}, {"images/a.png": GOOD}, "version 99"),
    "no styles": (_manifest(), {}, "lists no styles"),
    "zip slip": (_manifest(_style(image="../evil.png")), {"../evil.png": GOOD}, "unsafe file name"),
    "absolute name": (_manifest(_style(image="/etc/evil.png")), {"/etc/evil.png": GOOD}, "unsafe file name"),
    "missing image": (_manifest(_style(image="images/gone.png")), {"images/a.png": GOOD}, "missing from the pack"),
    "sha mismatch": (_manifest(_style(sha="0" * 64)), {"images/a.png": GOOD}, "does not match its sha256"),
    "bad sha": (_manifest(_style(sha="xyz")), {"images/a.png": GOOD}, "64 lowercase hex"),
    "not an image": (_manifest(_style(sha=hashlib.sha256(TEXT).hexdigest())), {"images/a.png": TEXT},
                     "not an image"),
    "truncated image": (_manifest(_style(sha=hashlib.sha256(GOOD[:300]).hexdigest())),
                        {"images/a.png": GOOD[:300]}, "truncated"),
    "empty name": (_manifest(_style(name=" ")), {"images/a.png": GOOD}, "must not be empty"),
    "tags not a list": (_manifest(_style(tags="a,b")), {"images/a.png": GOOD}, "tags must be a list"),
    "style not an object": (_manifest("Packed"), {"images/a.png": GOOD}, "expected an object"),
    "same name twice": (_manifest(_style(), _style(name="PACKED")), {"images/a.png": GOOD}, "two styles named"),
}


@pytest.mark.parametrize("case", BAD_PACKS)
def test_bad_pack_changes_nothing(stocked, tmp_path, case):
    manifest, files, message = copy.deepcopy(BAD_PACKS[case])
    path = tmp_path / "bad.zip"
    if files is None:
        path.write_bytes(b"PK\x03\x04 this is not really a zip")
    else:
        # a good style first: a bad one later must still import nothing
        if isinstance(manifest, dict) and manifest.get("styles") and case not in ("zip slip", "absolute name"):
            manifest["styles"].insert(0, _style(name="Good one", image="images/good.png"))
            files = {**files, "images/good.png": GOOD}
        _pack(path, manifest, files)
    before = stocked.stats()
    with pytest.raises(PackError, match=message) as info:
        import_pack(stocked, path)
    assert "\n" not in str(info.value)
    assert stocked.stats() == before
    with pytest.raises(StyleNotFoundError):
        stocked.get_style("Good one")


def test_missing_pack_file(stocked, tmp_path):
    with pytest.raises(PackError, match="no such file"):
        import_pack(stocked, tmp_path / "nope.zip")
