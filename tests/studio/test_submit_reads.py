"""A submission reads what admission needs and no more: a style's size and digest come from its record; its
pixels are decoded by the worker that paints with them, not at submit."""

import pytest

from db import open_library
from nst.errors import ParameterError
from nst.registry import Registry
from studio.farm import Farm, StoredStyle
from studio.queue import RenderQueue
from tests.app.conftest import png_bytes
from tests.factories import make_painting


@pytest.fixture
def farm(tmp_path, monkeypatch):
    monkeypatch.setenv("NST_QUEUE_URL", f"sqlite:///{tmp_path / 'queue.db'}")
    library = open_library(f"sqlite:///{tmp_path / 'lib.db'}")
    yield Farm(library, Registry.discover([], entry_points=False), RenderQueue())
    library.close()


def test_a_texture_is_submitted_without_decoding_its_style(farm, monkeypatch):
    library = farm.library
    style = library.add_style(png_bytes(make_painting(160, 96)), name="Waves")
    decoded = []
    real = library.style_image
    monkeypatch.setattr(library, "style_image", lambda style_id: decoded.append(style_id) or real(style_id))
    render_id = farm.submit("texture_synthesis", {"preset": "fast", "crop": "0,0,160,96"}, None, [(style.id, 1.0)])
    assert decoded == []
    assert library.get_render(render_id).params["crop"] == [[0, 0, 160, 96]]  # typed, stored as JSON
    with pytest.raises(ParameterError, match=r"reaches \(170, 96\), outside the style image \(160x96 px\)"):
        farm.submit("texture_synthesis", {"crop": "10,0,160,96"}, None, [(style.id, 1.0)])  # from its record
    assert decoded == [] and len(library.list_renders()) == 1


def test_a_stored_style_is_decoded_once_when_a_check_reads_its_pixels():
    calls = []
    picture = make_painting(64, 48)
    stored = StoredStyle((64, 48), "digest", lambda: calls.append(1) or picture)
    assert stored.size == (64, 48) and not stored.decoded and calls == []
    assert stored.image is picture and stored.image is picture and calls == [1]
