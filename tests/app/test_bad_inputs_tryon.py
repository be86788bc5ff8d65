"""The Gallery's "Try it on my photo" upload, a new way in for a file (see tests/test_bad_inputs.py for the
corpus's conventions): a file that is not a usable photo is refused in an error box that says why, the
photo chosen before stays on the cards, and the library is left exactly as it was (nothing is stored)."""

from __future__ import annotations

import pytest

from nst import instant
from tests.app.conftest import png_bytes
from tests.app.test_pages import plain
from tests.app.test_try_on import TRIED, media, no_background_analysis, settle, shown  # noqa: F401 - fixtures
from tests.db.db_images import png_header_only
from tests.factories import make_photo
from tests.test_bad_inputs import eps, ico, many_scans_jpeg, png, snapshot

pytestmark = pytest.mark.skipif(instant.unavailable() != "", reason=f"instant model: {instant.unavailable()}")

BAD = {
    "eps named png": (eps(), "not an image this app reads"),
    "ico": (ico(), "not an image this app reads"),
    "30000x30000 declared": (png_header_only(30_000, 30_000), "pixels"),
    "16x16": (png(16, 16), "photo.png is 16x16; both sides must be at least 32 pixels"),
    "600x32": (png(600, 32), "16:1"),
    "truncated": (png_bytes(make_photo(96, 72))[:300], "photo.png is damaged or truncated"),
    "200 scans": (many_scans_jpeg(200), "scans"),
    "random bytes": (bytes(range(256)) * 8, "not an image this app reads"),
}


def test_a_bad_photo_is_refused_with_the_reason_and_the_chosen_photo_stays(app, media):  # noqa: F811
    """Every case in one app session (an app per case cost 9 s each)."""
    from ui import services

    at = app().run()
    at.text_input(key="gallery:search").set_value("Embers").run()  # one card: the test is about the upload
    at.file_uploader(key="tryon:upload").set_value(("good.png", png_bytes(make_photo(96, 72)), "image/png")).run()
    (chosen,) = shown(at, media, TRIED)
    settle()  # the Gallery's style vectors, stored in the background, are in before the snapshot
    before = snapshot(services.library())
    for case, (data, reason) in BAD.items():
        at.file_uploader(key="tryon:upload").set_value(("photo.png", data, "image/png")).run()
        assert not at.exception, (case, at.exception)
        errors = [plain(e.value) for e in at.error]
        assert len(errors) == 1 and errors[0].startswith("This photo cannot be used: ") and reason in errors[0], (
            case, errors)
        (still,) = shown(at, media, TRIED)  # the photo chosen before is still on the card
        assert still.tobytes() == chosen.tobytes(), case
    assert snapshot(services.library()) == before
