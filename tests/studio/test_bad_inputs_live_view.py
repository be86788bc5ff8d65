"""Bad inputs for the live view (:meth:`studio.farm.Farm.view`): a render row whose progress, timings or
losses were written into the database by other means than a worker. Each reads as "nothing known" (0,
none), never as an exception that would take the History page's "Now" section, and every render and
button drawn after it, down with it."""

from __future__ import annotations

import math

from sqlalchemy import text

from studio.farm import Farm

PROGRESS = [
    '{"step": "a", "total": 5, "losses": [1], "eta": "soon", "fraction": "x", "size": 7}',
    '[1, 2, 3]',
    '"running"',
    '7',
    '{"step": 1e308, "total": -3, "fraction": 2.5, "eta": -1, "elapsed": "1"}',
    '{"step": 123456789012345678901234567890, "total": true, "fraction": null, "eta": 1e999}',
    '{"step": 3, "total": 10, "losses": {"total": "x", "style": [1], "content": 2.5, "7": null}}',
    '{"step": 3, "total": 10, "losses": "high"}',
]
TIMINGS = ['{"seconds": "1"}', '["seconds", 1]', '{"seconds": -5}', '{"seconds": 1e999}']
LOSSES = ['[1, 2]', '{"total": "low"}', '"x"', '{"total": 1e999}']


def _tamper(library, render_id: int, column: str, value: str, status: str) -> None:
    json = "CAST(:v AS JSON)" if library.engine.dialect.name == "postgresql" else ":v"
    with library.session() as s:
        s.execute(text(f"UPDATE renders SET status = :s, owner = 'w', {column} = {json} WHERE id = :i"),
                  {"v": value, "s": status, "i": render_id})


def _sane(view) -> None:
    assert isinstance(view.step, int) and 0 <= view.step <= 10**9
    assert isinstance(view.total, int) and 0 <= view.total <= 10**9
    assert 0.0 <= view.fraction <= 1.0
    assert math.isfinite(view.elapsed) and view.elapsed >= 0
    assert view.eta is None or (math.isfinite(view.eta) and view.eta >= 0)
    assert isinstance(view.losses, dict)
    assert all(isinstance(k, str) and math.isfinite(v) for k, v in view.losses.items())


CASES = [*(("progress", v) for v in PROGRESS), *(("timings", v) for v in TIMINGS), *(("losses", v) for v in LOSSES)]


def test_a_tampered_render_reads_as_nothing_known(library):
    """Every case on one render (a library per case costs more than the cases), running and then done."""
    render_id = library.create_render("palette", {"colors": 4}, None, []).id
    farm = Farm(library, None, None)
    for status in ("running", "done"):
        for column, value in CASES:
            _tamper(library, render_id, column, value, status)
            view = farm.view(render_id)
            _sane(view)
            assert view.status == status
            _tamper(library, render_id, column, "null", "queued")


def test_the_sound_values_of_a_tampered_progress_are_kept(library):
    render_id = library.create_render("palette", {"colors": 4}, None, []).id
    _tamper(library, render_id, "progress", PROGRESS[6], "running")
    view = Farm(library, None, None).view(render_id)
    assert (view.step, view.total, view.losses) == (3, 10, {"content": 2.5})
