"""The peak-memory model the pages show before Paint: within 15% of what the benchmark measured, on the
engine's own plans, and tiled where the engine tiles."""

from __future__ import annotations

import pytest

from nst import memory_model, pyramid
from nst.registry import Registry
from nst.settings import settings_of

#: The benchmark's photo (Tübingen) and painting (The Starry Night as the app ships it).
PHOTO, PAINTING = (1024, 768), (1024, 640)


@pytest.mark.parametrize("result, peak_gb", sorted(memory_model.MEASURED.items()))
def test_the_model_is_within_15_percent_of_each_measured_render(result, peak_gb):
    values = {**Registry.discover().resolve("style_transfer", {}), "size": max(result)}
    plan = pyramid.transfer(settings_of("transfer", values), PHOTO, [PAINTING])
    assert plan.final == result
    assert memory_model.peak_bytes(plan.sizes) / memory_model.GB == pytest.approx(peak_gb, rel=0.15)


def test_a_tiled_scale_costs_less_per_pixel_than_a_whole_one():
    whole = memory_model.peak_bytes([(1024, 768)])
    assert memory_model.peak_bytes([(1024, 768), (1448, 1086)]) < whole + (whole - memory_model.peak_bytes([]))
    assert memory_model.peak_bytes([(2048, 2048)], texture=True) > memory_model.peak_bytes(
        [(1024, 1024), (2048, 2048)], texture=True, tileable=True), "an ordinary texture is computed whole"


def test_the_model_tiles_where_the_engine_does():
    from nst import engine

    assert memory_model.TRANSFER_WHOLE_MAX_PIXELS == engine.TRANSFER_UNTILED_MAX_PIXELS
    assert memory_model.TILEABLE_WHOLE_MAX_PIXELS == engine.UNTILED_MAX_PIXELS


def test_available_memory_is_read_from_the_system():
    available = memory_model.available_bytes()
    assert available is None or 0 < available < 2**50
