"""Settings with a number too large for what reads them: refused (or, for the probe's limit, warned about)
with the variable named, where they were an OverflowError far from the setting (the stale-render sweeper's every sweep,
failed as if the library were away; the app's start, in the plugin probe's poll)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from nst import config


@pytest.mark.parametrize("name, raw", [("NST_STALE_SECONDS", "1e12"), ("NST_STALE_SECONDS", "1e300"),
                                       ("NST_RENDER_TIME_LIMIT", "1e300")])
def test_a_limit_beyond_what_reads_it_is_one_clear_error(monkeypatch, name, raw):
    monkeypatch.setenv(name, raw)
    with pytest.raises(config.SettingError, match=rf"^{name} must be at most \d+ seconds, got {raw}\.$"):
        config.value(name)


def test_the_longest_stale_limit_is_one_a_sweep_can_subtract_from_now():
    longest = config.SETTINGS["NST_STALE_SECONDS"].parse.maximum
    assert datetime(2026, 1, 1) - timedelta(seconds=longest) < datetime(2026, 1, 1)


@pytest.mark.parametrize("raw", ["1e7", "1e300"])
def test_a_probe_limit_longer_than_a_poll_can_wait_is_warned_about(monkeypatch, caplog, raw):
    monkeypatch.setenv("NST_PLUGIN_PROBE_SECONDS", raw)
    assert config.value("NST_PLUGIN_PROBE_SECONDS") == 20.0
    assert f"NST_PLUGIN_PROBE_SECONDS={raw!r} is longer than 3600 seconds; using 20." in caplog.text


def test_the_longest_probe_limit_fits_a_poll():
    import select

    longest = config.SETTINGS["NST_PLUGIN_PROBE_SECONDS"].parse.maximum
    select.poll().poll(0)
    assert 1000 * longest < 2 ** 31  # poll() takes milliseconds as a C int
