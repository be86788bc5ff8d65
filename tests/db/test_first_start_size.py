"""A new library after the first start's background analysis stays under 30 MB (it was 122 MB).

Measured on one painting of the starter collection with the real weights (the default plan: the transfer's
default and preview presets, the texture's preview) and multiplied by the paintings analysed, plus the
images the first start stores: the paintings, their samples and thumbnails.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db import GramStore, open_library
from db.models import Image
from nst.registry import Registry
from nst.targets import StyleInput, TargetCache
from studio.analysis import DEFAULT_PLAN, GENERATED

BOUND = 30 * 2 ** 20


@pytest.mark.slow
def test_the_first_starts_library_with_its_analysed_paintings_stays_under_30_mb(tmp_path, engine, monkeypatch):
    library = open_library(f"sqlite:///{tmp_path / 'library.db'}")
    try:
        registry = Registry.discover([], entry_points=False)  # the built-ins only
        assert registry.sync_styles(library) == []
        store = GramStore(library)
        monkeypatch.setattr(engine, "targets", TargetCache(store))
        paintings = [s for s in library.list_styles() if s.plugin_id and GENERATED not in s.tags]
        starry = library.get_style("The Starry Night")
        for filter_id, params in DEFAULT_PLAN:
            registry.prepare(filter_id, engine, [StyleInput(library.style_image(starry.id), starry.pixel_digest)],
                             params)
        assert len(store) == 6  # five scales of the transfer, the painting's own size for textures
        with library.read_session() as session:
            images = session.scalar(select(func.sum(func.length(Image.data)) + func.sum(func.length(Image.thumbnail))))
        estimate = images + len(paintings) * store.total_bytes()
        assert estimate < BOUND, f"{estimate / 2 ** 20:.1f} MB: {images / 2 ** 20:.1f} MB of images, " \
                                 f"{store.total_bytes() / 2 ** 20:.2f} MB of targets per painting"
        print(f"A new library: about {estimate / 2 ** 20:.1f} MB ({store.total_bytes() / 2 ** 20:.2f} MB of targets "
              f"per painting, {len(paintings)} paintings, {images / 2 ** 20:.1f} MB of images)")
    finally:
        library.close()
