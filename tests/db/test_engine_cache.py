"""With the real engine: a saved style's Gram matrices are computed once, then reused (also by another process)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, update

from db import GramStore
from db.models import GramEntry
from nst import targets

import db_images
from db_procs import run_python

SETTINGS = dict(size=64, start_size=64, steps=2)

SECOND_PROCESS = """
import json, sys
from db import GramStore, open_library
from nst.engine import Engine, StyleInput
from nst.settings import Settings
import db_images
library = open_library(sys.argv[1])
style = library.get_style(sys.argv[2])
engine = Engine(store=GramStore(library))
image = library.style_image(style.id)
result = engine.transfer(db_images.photo(70, 50, seed=21), StyleInput(image, style.pixel_digest),
                         Settings(size=64, start_size=64, steps=2))
print(json.dumps({"computed": engine.targets.computed, "shape": list(result.image.shape)}))
"""


@pytest.fixture
def engine_with(engine, monkeypatch):
    """``engine_with(store)``: the session engine as if just started with ``store`` behind it: an empty
    memory cache and a fresh count (its compiled functions are kept: they do not hold targets)."""

    def start(store):
        monkeypatch.setattr(engine, "targets", targets.TargetCache(store))
        return engine

    return start


@pytest.mark.slow
def test_a_saved_style_is_computed_once(engine_with, sqlite_library, sqlite_url):
    from nst.settings import Settings

    library = sqlite_library
    style = library.add_style(db_images.png(96, 80, seed=1), name="Stripes")
    image = library.style_image("stripes")
    assert targets.image_digest(image) == style.pixel_digest, "the stored digest is the engine's"
    settings = Settings(**SETTINGS)

    engine = engine_with(GramStore(library))
    for seed in (10, 11):  # two photos, one style
        result = engine.transfer(db_images.photo(80, 60, seed=seed), library.style_image(style.id), settings)
        assert result.image.shape == (48, 64, 3)
    assert engine.targets.computed == 1
    store = GramStore(library)
    assert len(store) == 1

    restarted = engine_with(GramStore(library))  # empty memory cache, same database
    restarted.transfer(db_images.photo(80, 60, seed=12), library.style_image(style.id), settings)
    assert restarted.targets.computed == 0

    result = run_python(SECOND_PROCESS, sqlite_url, "Stripes", timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"computed": 0, "shape": [46, 64, 3]}

    with library.session() as s:  # damage the stored payload: the next engine recomputes and repairs it
        s.execute(update(GramEntry).values(payload=func.substr(GramEntry.payload, 1, 100)))
    repaired = engine_with(GramStore(library))
    repaired.transfer(db_images.photo(80, 60, seed=13), library.style_image(style.id), settings)
    assert repaired.targets.computed == 1
    again = engine_with(GramStore(library))
    again.transfer(db_images.photo(80, 60, seed=14), library.style_image(style.id), settings)
    assert again.targets.computed == 0

    library.delete_style("Stripes")
    assert len(store) == 0, "deleting the style drops its Gram matrices"
