"""Stylize and Texture show a render's expected peak memory beside its expected time, and warn when it is
more than this machine has available (worded for a worker when the renders run elsewhere)."""

from __future__ import annotations

import re

import pytest

from nst.memory_model import GB
from tests.app.test_choices_and_feedback import expected


def memory_gb(caption: str) -> float:
    found = re.search(r"peak memory about (\d+\.\d) GB", caption)
    assert found, caption
    return float(found.group(1))


def memory_warnings(at) -> list[str]:
    return [w.value for w in at.warning if "of memory" in w.value]


def test_the_memory_figure_grows_with_the_size(app, monkeypatch):
    from nst import memory_model

    monkeypatch.setattr(memory_model, "available_bytes", lambda: 1000 * GB)
    at = app().run()
    at.switch_page("ui/stylize.py").run()
    seen = {}
    for size in (512, 4096):
        at.number_input(key="stylize:style_transfer:size").set_value(size).run()
        assert not at.exception, at.exception
        seen[size] = memory_gb(expected(at))
    assert re.search(r"^Expected time: about \d+ (s|min|h)", expected(at))
    measured = {512: memory_model.MEASURED[(512, 384)], 4096: memory_model.MEASURED[(4096, 3072)]}
    assert seen[4096] > 2 * seen[512], seen
    assert all(seen[size] == pytest.approx(measured[size], rel=0.15) for size in seen), (seen, measured)
    assert memory_warnings(at) == []


@pytest.mark.parametrize("workers, wording", [("1", "this machine has available"), ("0", "A worker needs about")])
def test_a_warning_names_both_figures_when_memory_is_short(app, monkeypatch, workers, wording):
    from nst import memory_model

    monkeypatch.setenv("NST_APP_WORKERS", workers)
    monkeypatch.setattr(memory_model, "available_bytes", lambda: 3 * GB)
    at = app().run()
    at.switch_page("ui/stylize.py").run()
    size = at.number_input(key="stylize:style_transfer:size")
    size.set_value(512).run()
    assert memory_warnings(at) == [], "1.2 GB fits in 3 GB"
    at.number_input(key="stylize:style_transfer:size").set_value(4096).run()
    assert not at.exception, at.exception
    (warning,) = memory_warnings(at)
    needed = memory_gb(expected(at))
    assert f"about {needed:.1f} GB" in warning and "3.0 GB" in warning and "smaller size" in warning, warning
    assert wording in warning, warning


def test_texture_page_warns_too(app, monkeypatch):
    from nst import memory_model

    monkeypatch.setattr(memory_model, "available_bytes", lambda: 10**8)  # 0.1 GB: any render is too large
    at = app().run()
    at.switch_page("ui/texture.py").run()
    assert not at.exception, at.exception
    assert memory_gb(expected(at)) > 0.1
    (warning,) = memory_warnings(at)
    assert "0.1 GB" in warning, warning
