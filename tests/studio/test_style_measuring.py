"""Textures from the shipped paintings start at once, and a style being measured shows how far it got.

The background analysis prepares the texture presets too, so the first texture from a starter painting
computes no style target (counted in VGG passes, ``engine.targets.computed``, real weights at 128 px); and
before a render's first step, the filter reports its stage ("Measuring the style: 1 of 3 sizes") with its
share done, which the worker stores and the live panel shows instead of one static line.
"""

from __future__ import annotations

import pytest

from db import open_library
from nst.progress import Progress
from nst.registry import Registry
from nst.targets import StyleInput
from studio.analysis import DEFAULT_PLAN, analyse_plugin_styles
from studio.farm import Farm
from studio.queue import RenderQueue
from studio.worker import RenderWorker, progress_record
from tests.app.conftest import png_bytes
from tests.factories import make_painting

#: A texture as cheap as it gets: 128 px (the least), the painting's strokes at a tenth of their size (so the style is
#: measured at about 100 px), two steps.
TEXTURE = {"preset": "fast", "size": "128x128", "stroke_scale": 0.1, "steps": 2}
STARRY = "The Starry Night"


@pytest.fixture
def farm_parts(tmp_path, monkeypatch, fresh_targets):
    monkeypatch.setenv("NST_QUEUE_URL", f"sqlite:///{tmp_path / 'queue.db'}")
    library = open_library(f"sqlite:///{tmp_path / 'lib.db'}")
    registry = Registry.discover([], entry_points=False)  # the built-ins only
    assert registry.sync_styles(library) == []
    queue = RenderQueue()
    yield library, registry, fresh_targets, Farm(library, registry, queue)
    queue.close()
    library.close()


def test_the_default_plan_prepares_textures_as_well_as_paintings():
    assert {filter_id for filter_id, _ in DEFAULT_PLAN} == {"style_transfer", "texture_synthesis"}


def test_the_texture_previews_measure_what_is_the_last_scale_of_every_texture_preset():
    """Why the plan prepares the texture's previews: their one measure of a painting is the costliest, and the
    one every texture preset ends on (so the default's first texture only adds its coarser, cheaper scales)."""
    from nst import presets, pyramid
    from nst.settings import settings_of

    texture = [name for filter_id, params in DEFAULT_PLAN if filter_id == "texture_synthesis"
               for name in [params["preset"]]]
    assert texture and all(presets.offered("texture")[name].preview for name in texture)
    painting = (1024, 640)  # The Starry Night as shipped
    for preview in texture:
        (only,) = pyramid.texture(settings_of("texture", presets.offered("texture")[preview].values),
                                  [painting]).style_sizes
        for name, preset in presets.offered("texture").items():
            if name != "tutorial":  # the notebook's recipe measures the painting at 224 px
                plan = pyramid.texture(settings_of("texture", preset.values), [painting])
                assert plan.style_sizes[-1] == only == (painting,), name


@pytest.mark.slow
def test_the_first_texture_from_a_starter_painting_after_the_analysis_computes_no_style_target(farm_parts):
    library, registry, engine, farm = farm_parts
    worker = RenderWorker(library, registry, lambda: engine, analysis_plan=[("texture_synthesis", TEXTURE)])
    paintings = [s for s in library.list_styles() if s.plugin_id and "generated" not in s.tags]
    assert len(paintings) == 7  # the starter collection; the example plugin's generated patterns are not analysed
    assert analyse_plugin_styles(library, registry, engine, worker.analysis_plan) == len(paintings)

    starry = library.get_style(STARRY)
    render_id = farm.submit("texture_synthesis", TEXTURE, None, [(starry.id, 1.0)])
    before = engine.targets.computed
    assert worker.run(render_id) == "done"
    assert library.get_render(render_id).result_image_id is not None
    assert engine.targets.computed == before  # the analysis measured it

    # The control: a style of the user's own was not analysed; its texture measures it, saying so first.
    mine = library.add_style(png_bytes(make_painting(96, 96)), name="Mine")
    reports: list[Progress] = []
    registry.run("texture_synthesis", _inputs(library, engine, mine), TEXTURE, progress=reports.append)
    assert engine.targets.computed == before + 1
    stages = [(p.stage, p.fraction) for p in reports if p.stage]
    assert stages == [("Loading the network", 0.0), ("Measuring the style: 0 of 1 sizes", 0.0),
                      ("Style measured; preparing the first step", 1.0)]
    first_step = next(i for i, p in enumerate(reports) if p.step > 0)
    assert all(p.stage for p in reports[:first_step]) and not any(p.stage for p in reports[first_step:])


def _inputs(library, engine, style):
    from nst.plugin import RunInputs

    return RunInputs(content=None, styles=[StyleInput(library.style_image(style.id), style.pixel_digest)],
                     style_weights=[1.0], engine_provider=lambda: engine)


def test_a_stage_travels_from_the_worker_to_the_live_view(library):
    """What the worker stores of a stage, and what the view reads back: the text, its share as the fraction."""
    render_id = library.create_render("palette", {"colors": 4}, None, []).id
    library.start_render(render_id, "w")
    record = progress_record(Progress(0, 0, 1.5, fraction=0.4, stage="Measuring the style: 2 of 5 sizes"))
    assert record["stage"] == "Measuring the style: 2 of 5 sizes"
    assert "stage" not in progress_record(Progress(3, 10, 2.0))  # steps carry none
    library.update_render_progress(render_id, record)
    view = Farm(library, None, None).view(render_id)
    assert (view.step, view.stage, view.fraction) == (0, "Measuring the style: 2 of 5 sizes", 0.4)


def test_each_stage_of_a_render_reaches_its_record_though_all_are_at_step_0(library):
    """The heartbeat writes what changed since its last write: a new stage is a change (it wrote step 0 once,
    and the panel showed "0 of 5 sizes" until the first step)."""
    import threading

    from studio.worker import Lease

    render_id = library.create_render("palette", {"colors": 4}, None, []).id
    library.start_render(render_id, "w")
    lease = Lease(library, render_id, "w", threading.Event())
    farm = Farm(library, None, None)
    for done in range(3):
        lease.report(Progress(0, 0, 0.1 * done, fraction=done / 3, stage=f"Measuring the style: {done} of 3 sizes"))
        lease.beat_once()
        assert farm.view(render_id).stage == f"Measuring the style: {done} of 3 sizes"
    lease.report(Progress(1, 10, 1.0))
    lease.beat_once()
    assert (farm.view(render_id).step, farm.view(render_id).stage) == (1, "")


@pytest.mark.parametrize("stored", ['7', '["a"]', '{"t": 1}', 'null', '"' + "x" * 201 + '"'])
def test_a_stage_that_is_not_a_short_text_reads_as_none(library, stored):
    """A render's progress is written by workers, and may have been written by anyone."""
    from sqlalchemy import text

    render_id = library.create_render("palette", {"colors": 4}, None, []).id
    json = "CAST(:v AS JSON)" if library.engine.dialect.name == "postgresql" else ":v"
    with library.session() as s:
        s.execute(text(f"UPDATE renders SET status = 'running', owner = 'w', progress = {json} WHERE id = :i"),
                  {"v": '{"step": 0, "total": 0, "stage": ' + stored + '}', "i": render_id})
    assert Farm(library, None, None).view(render_id).stage == ""
