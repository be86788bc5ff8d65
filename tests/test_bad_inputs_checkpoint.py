"""A stored checkpoint that is a sound PNG of the size its row declares, but does not fit the render's plan
(a row written by other means, or by a version of the engine whose scales differ): the worker starts the
render over, as it does for a checkpoint it cannot read, instead of failing the render."""

from __future__ import annotations

import numpy as np
import pytest

from db.checkpoints import Checkpoints
from db.models import RenderCheckpoint, utcnow
from nst import images
from nst.registry import Registry
from tests.app.conftest import png_bytes
from tests.factories import make_painting, make_photo

PARAMS = {"size": 64, "start_size": 32, "steps": 1, "tolerance": 0.0, "seed": 1}


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("scale, width, height", [(0, 40, 30), (5, 32, 24), (0, 2000, 1500)],
                         ids=["another-size", "past-the-last", "larger-than-the-render"])
def test_a_checkpoint_that_does_not_fit_the_plan_starts_the_render_over(library, engine, scale, width, height,
                                                                         caplog, monkeypatch):
    """...and its picture is never decoded: the worker asks the filter for the render's plan first, so a
    row declaring 2000x1500 for a 64 px render (within the 50-megapixel bound of any upload) is refused
    by its size alone."""
    import db.checkpoints
    from studio.worker import RenderWorker

    load, decoded = images.load, []
    monkeypatch.setattr(db.checkpoints.images, "load",
                        lambda data, label="", **kw: (decoded.append(label) if "checkpoint" in label else None)
                        or load(data, label, **kw))

    style = library.add_style(png_bytes(make_painting(48, 48)), name="Waves")
    record = library.create_render("style_transfer", PARAMS, png_bytes(make_photo(64, 48)), [(style.id, 1.0)])
    with library.session() as s:  # a sound PNG of the size its row says, for a scale this render does not have
        s.add(RenderCheckpoint(render_id=record.id, scale=scale, width=width, height=height, created_at=utcnow(),
                               data=images.encode(np.full((height, width, 3), 0.5, np.float32), "PNG")))
    worker = RenderWorker(library, Registry.discover(entry_points=False, probe=False), lambda: engine,
                          analysis_plan=())
    assert worker.run(record.id) == "done", library.get_render(record.id).error
    done = library.get_render(record.id)
    assert done.status == "done" and done.result_image_id is not None
    assert "resumed" not in done.timings["stopped"]
    assert Checkpoints(library.unit_of_work).latest(record.id) is None
    assert any("starts over" in r.getMessage() for r in caplog.records)
    assert decoded == []
