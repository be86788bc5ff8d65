"""The styles plugins ship are analysed in the background: the first render with one computes no style targets.

Counted in VGG passes (``engine.targets.computed``), with the real weights at 64 px and the built-in plugins
(the starter collection and the style transfer).
"""

import pytest

from db import open_library
from nst.engine import plan_sizes
from nst.registry import Registry
from studio.analysis import DEFAULT_PLAN, analyse_plugin_styles, default_plan
from studio.cli_support import make_engine
from studio.farm import Farm
from studio.queue import RenderQueue
from studio.worker import RenderWorker
from tests.app.conftest import png_bytes
from tests.factories import make_painting, make_photo

SMALL = {"preset": "fast", "size": 64, "start_size": 32, "steps": 2}
WAVE = "The Great Wave off Kanagawa"


@pytest.fixture
def farm_parts(tmp_path, monkeypatch):
    monkeypatch.setenv("NST_QUEUE_URL", f"sqlite:///{tmp_path / 'queue.db'}")
    library = open_library(f"sqlite:///{tmp_path / 'lib.db'}")
    registry = Registry.discover([], entry_points=False)  # the built-ins only
    assert registry.sync_styles(library) == []
    engine = make_engine(lambda: library)
    queue = RenderQueue()
    yield library, registry, engine, Farm(library, registry, queue)
    queue.close()
    library.close()


def test_the_first_render_with_a_starter_style_after_its_analysis_computes_no_style_targets(farm_parts):
    """And the analysis is stored: another process computes nothing."""
    library, registry, engine, farm = farm_parts
    plugin_styles = [s for s in library.list_styles() if s.plugin_id and "generated" not in s.tags]
    assert {s.plugin_id for s in plugin_styles} == {"starter_collection"}  # the paintings; patterns are not
    assert len(plugin_styles) == 7
    worker = RenderWorker(library, registry, lambda: engine, analysis_plan=[("style_transfer", SMALL)])

    worker.warm_up()  # what the app's and the workers' warm-up thread runs after start
    assert worker.analysed.is_set()
    scales = len(plan_sizes((64, 64), SMALL["start_size"]))
    assert scales == 3
    # Each style at each scale, once (a wide painting may need one size at two scales: MIN_SIDE).
    assert len(plugin_styles) * (scales - 1) < engine.targets.computed <= len(plugin_styles) * scales

    wave = library.get_style(WAVE)
    render_id = farm.submit("style_transfer", SMALL, png_bytes(make_photo(96, 72)), [(wave.id, 1.0)])
    before = engine.targets.computed
    assert worker.run(render_id) == "done"
    assert library.get_render(render_id).result_image_id is not None
    assert engine.targets.computed == before  # every target came from the analysis

    # The control: a style of the user's own was not analysed, so its first render computes its targets.
    mine = library.add_style(png_bytes(make_painting(96, 96)), name="Mine")
    render_id = farm.submit("style_transfer", SMALL, png_bytes(make_photo(96, 72)), [(mine.id, 1.0)])
    assert worker.run(render_id) == "done"
    assert engine.targets.computed == before + scales

    # Another process (an empty memory cache, the same Gram store) finds the analysis stored: never twice.
    fresh = make_engine(lambda: library)
    plan = [("style_transfer", SMALL)]
    assert analyse_plugin_styles(library, registry, fresh, plan) == 0
    assert fresh.targets.computed == 0

    # A stopping worker stops analysing; an unknown filter or bad parameters are logged and skipped.
    fresh = make_engine(lambda: None)  # no store: everything would be computed again
    assert analyse_plugin_styles(library, registry, fresh, plan, stopping=lambda: True) == 0
    bad = [("no_such_filter", {}), ("style_transfer", {**SMALL, "size": 10**9})]
    assert analyse_plugin_styles(library, registry, fresh, [*bad, *plan]) > 0


def test_the_default_plan_is_the_presets_people_start_with_and_can_be_turned_off(monkeypatch):
    monkeypatch.delenv("NST_STYLE_ANALYSIS")
    assert default_plan() == DEFAULT_PLAN
    assert {params["preset"] for _, params in DEFAULT_PLAN} == {"quality", "fast"}
    monkeypatch.setenv("NST_STYLE_ANALYSIS", "0")
    assert default_plan() == ()
