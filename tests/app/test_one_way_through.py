"""A style transfer from the Stylize page to the result in the library, counted: the photo is decoded
once (as it enters the library) and the parameters are checked twice: at the registry's admission
check, and at the worker's (a stored record is not trusted), never more."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageFile

import nst.params
import nst.presets
import nst.registry
from nst.settings import Settings
from tests.app.conftest import jpeg_bytes, png_bytes
from tests.app.test_pages import add_style, stylize_page
from tests.factories import make_painting, make_photo


class Counts:
    """Decodes of one photo (its pixels read: ``ImageFile.load`` on an image opened from its bytes, so a
    look at its header alone is not counted) and checks of parameters (admission's ``nst.params.validate``,
    and ``Settings.validate``)."""

    def __init__(self, monkeypatch, photo: bytes):
        self.photo = photo
        self.decodes = 0
        self.validations = 0
        self.settings_checks = 0
        self.counting = False
        real_open, real_validate, real_settings_validate = Image.open, nst.params.validate, Settings.validate

        real_load = ImageFile.ImageFile.load

        def open_counted(fp, *args, **kwargs):
            image = real_open(fp, *args, **kwargs)
            if self._is_photo(fp):
                image.nst_counted_photo = True
            return image

        def load_counted(image):
            if self.counting and getattr(image, "nst_counted_photo", False) and image.tile:
                self.decodes += 1  # tiles left to read: this load decodes the pixels
            return real_load(image)

        def validate_counted(*args, **kwargs):
            if self.counting:
                self.validations += 1
            return real_validate(*args, **kwargs)

        def settings_validate_counted(settings):
            if self.counting:
                self.settings_checks += 1
            return real_settings_validate(settings)

        monkeypatch.setattr(Image, "open", open_counted)
        monkeypatch.setattr(ImageFile.ImageFile, "load", load_counted)
        for module in (nst.params, nst.registry, nst.presets):
            monkeypatch.setattr(module, "validate", validate_counted)
        monkeypatch.setattr(Settings, "validate", settings_validate_counted)

    def _is_photo(self, fp) -> bool:
        if isinstance(fp, io.BytesIO):
            return fp.getvalue() == self.photo
        if isinstance(fp, (bytes, bytearray)):
            return bytes(fp) == self.photo
        return False


@pytest.mark.slow
def test_a_photo_is_decoded_once_and_its_parameters_checked_at_both_admissions_from_page_to_result(app, monkeypatch):
    from ui import services

    photo = jpeg_bytes(make_photo(96, 72))
    counts = Counts(monkeypatch, photo)
    at = add_style(app().run(), png_bytes(make_painting(96, 96)), "Tiny Strokes")
    style = services.library().get_style("Tiny Strokes")
    stylize_page(at, style.id, photo, steps=2)

    counts.counting = True
    next(b for b in at.button if b.label.startswith("Paint 1 photo")).click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert services.render_threads().wait_idle(services.library(), timeout=180)
    counts.counting = False

    done = services.library().list_renders(status="done")
    assert len(done) == 1 and done[0].result_image_id is not None
    assert "preset" not in done[0].params and done[0].params["size"] == 64  # plain values, resolved at admission
    assert counts.decodes == 1, f"the photo was decoded {counts.decodes} times"
    assert counts.validations == 2, f"the parameters were checked {counts.validations} times (admitted twice: 2)"
    assert counts.settings_checks == 0, f"Settings checked the parameters again {counts.settings_checks} times"
