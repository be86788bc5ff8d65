"""Stylize takes many photos in bounded memory: they are decoded and queued one at a time, a click takes
at most ``MAX_PHOTOS`` (the page says so and holds to it), and the handoff to this process's render
threads keeps a few decoded photos at most."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib

import pytest
from PIL import Image

from tests.app.conftest import ROOT, jpeg_bytes, png_bytes
from tests.app.test_pages import plain, texts
from tests.factories import make_photo

#: The bound on the app's memory while it takes twenty 7000 x 7000 photos in one click (docs/security.md says it).
PEAK_BOUND_BYTES = 1024 ** 3


def paint_button(at):
    return next(b for b in at.button if b.label.startswith("Paint"))


@pytest.mark.slow
def test_twenty_7000_px_photos_in_one_click_stay_under_a_gigabyte(tmp_path):
    """Each photo holds 147 MB once decoded; before, all twenty were decoded before the first was
    queued (eight of them took the app to 1.55 GiB)."""
    env = dict(os.environ, NST_APP_WORKERS="0", PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([sys.executable, "-m", "tests.app.paint_many", "20", "7000"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["exception"] is None and result["errors"] == [], result
    assert result["renders"] == result["jobs"] == 20
    assert result["held"][0] <= 1, "the handoff keeps what fits its bound, not twenty decoded photos"
    assert result["peak_kib"] * 1024 < PEAK_BOUND_BYTES, result


def test_the_page_states_the_cap_and_the_upload_limit_the_server_enforces(app):
    from nst import images
    from ui.stylize import MAX_PHOTOS

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    upload_mb = config["server"]["maxUploadSize"]
    assert upload_mb * 2 ** 20 == images.MAX_FILE_BYTES, "an upload the server takes is one the library takes"
    at = app().run()
    at.switch_page("ui/stylize.py").run()
    uploader = at.file_uploader(key="stylize:uploads")
    assert f"up to {MAX_PHOTOS} per click" in uploader.label
    assert f"Up to {MAX_PHOTOS} photos per click of Paint, each at most {upload_mb} MB" in uploader.help


def test_more_photos_than_a_click_takes_queue_nothing_and_say_why(app, monkeypatch):
    from ui import services
    from ui.stylize import MAX_PHOTOS

    monkeypatch.setenv("NST_APP_WORKERS", "0")
    at = app().run()
    at.switch_page("ui/stylize.py").run()
    photo = jpeg_bytes(make_photo(64, 48))
    photos = [(f"photo-{i}.jpg", photo, "image/jpeg") for i in range(MAX_PHOTOS + 1)]
    at.file_uploader(key="stylize:uploads").set_value(photos[:MAX_PHOTOS]).run()
    assert not paint_button(at).disabled and not at.error
    # the click and one more photo reach the app together: the click is refused as well
    at.file_uploader(key="stylize:uploads").set_value(photos)
    paint_button(at).click().run()
    message = f"{MAX_PHOTOS + 1} photos are chosen; Paint takes at most {MAX_PHOTOS} at a time"
    assert any(message in plain(e.value) for e in at.error)
    assert paint_button(at).disabled
    assert services.library().list_renders() == [] and "stylize:jobs" not in at.session_state


def test_a_bad_upload_among_good_ones_queues_nothing(app, monkeypatch):
    """The headers of every upload are checked before the first photo is decoded."""
    from ui import services

    monkeypatch.setenv("NST_APP_WORKERS", "0")
    at = app().run()
    at.switch_page("ui/stylize.py").run()
    good = png_bytes(make_photo(64, 48))
    huge = png_bytes(Image.new("RGB", (16, 16)))  # too small a photo: refused by its header
    at.file_uploader(key="stylize:uploads").set_value(
        [("good-1.png", good, "image/png"), ("tiny.png", huge, "image/png"), ("good-2.png", good, "image/png")])
    at.run()
    paint_button(at).click().run()
    assert not at.exception
    assert any("tiny.png" in plain(e.value) for e in at.error)
    assert services.library().list_renders() == []


def test_a_photo_that_fails_to_decode_keeps_the_ones_queued_before_it(app, monkeypatch):
    from ui import services

    monkeypatch.setenv("NST_APP_WORKERS", "0")
    at = app().run()
    at.switch_page("ui/stylize.py").run()
    good = png_bytes(make_photo(64, 48))
    truncated = png_bytes(make_photo(64, 48, seed=3))[:300]  # its header is whole, its pixels are not
    at.file_uploader(key="stylize:uploads").set_value(
        [("good.png", good, "image/png"), ("cut.png", truncated, "image/png"), ("after.png", good, "image/png")])
    at.run()
    paint_button(at).click().run()
    assert not at.exception
    assert any("cut.png" in plain(e.value) for e in at.error)
    assert "1 photo was queued before cut.png; the photos after it were not." in texts(at)
    (render,) = services.library().list_renders()
    assert at.session_state["stylize:jobs"] == [render.id]
