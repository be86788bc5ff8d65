"""Stored values the History rows and the time estimate read (written by workers, and by anyone who can
write the database): a malformed one shows as nothing, never as an exception."""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from ui.estimate import price_per_pixel_step
from ui.render_summary import duration_text, local_time, preset_text, settings_rows, size_text

WHEN = datetime(2026, 3, 1, 12, 30, tzinfo=timezone.utc)


def render(params=None, timings=None, started=None, finished=None):
    return SimpleNamespace(params=params, timings=timings, started_at=started, finished_at=finished)


@pytest.mark.parametrize("timings", [
    None, [], "x", {"scales": "512x384"}, {"scales": [None]}, {"scales": [123]}, {"seconds": float("nan")},
    {"seconds": True}, {"seconds": "12"}, {"scales": ["axb"], "scale_steps": ["n"], "scale_seconds": [None]},
    {"scales": ["9" * 400 + "x2"], "scale_steps": [10], "scale_seconds": [1.0]},
    {"scales": ["512x384"], "scale_steps": [10**400], "scale_seconds": [1.0]},
    {"scales": ["512x384"], "scale_steps": [10], "scale_seconds": [float("inf")]},
    {"scales": ["512x384"], "scale_steps": [10], "scale_seconds": [-1.0]},
])
def test_malformed_timings_show_nothing(timings):
    shown = render(params={}, timings=timings)
    assert isinstance(size_text(shown), str) and isinstance(duration_text(shown), str)
    assert price_per_pixel_step([shown]) == (0.0, 0)  # not a measurement: the benchmark's figure is used


@pytest.mark.parametrize("params", [None, [], "fast", {"size": "huge"}, {"size": float("inf")}, {"steps": [1, 2]}])
def test_malformed_params_read_as_own_settings(params):
    from nst.builtin_filters import builtin_filter

    text = preset_text(builtin_filter("transfer"), params)
    assert isinstance(text, str) and text
    assert all(isinstance(title, str) and isinstance(value, str)
               for title, value in settings_rows(builtin_filter("transfer"), params))


@pytest.mark.parametrize("zone", [None, "", "Not/AZone", "../../etc/passwd", "UTC\x00"])
def test_an_unknown_time_zone_falls_back_to_utc_and_says_so(zone):
    assert local_time(WHEN, zone) == "2026-03-01 12:30 UTC"


def test_a_known_time_zone_is_named():
    assert local_time(WHEN, "Europe/Berlin") == "2026-03-01 13:30 CET"
