"""A past render told in the form's words: which preset, what size, how long, when (in the browser's
time zone), and its settings under the titles the form gives them.

A render records plain values (the preset is resolved when it is asked for), so its preset is found
again by comparing: the preset whose values it matches, or the nearest one with what was changed.
Plain functions (no Streamlit).
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any, Mapping

from nst.errors import NSTError
from nst.params import shown_value
from nst.plugin import Filter, preset_of

#: More changes than this from the nearest preset: the settings are the user's own.
MAX_CHANGES_SHOWN = 3


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def _as_declared(flt: Filter, name: str, value: Any) -> Any:
    """A stored value read as its parameter declares it (a size stored as JSON is a list; the form's is a
    tuple), or as it is when it does not fit."""
    for param in flt.params:
        if param.name == name:
            try:
                return param.coerce(value)
            except (NSTError, TypeError, ValueError):
                return value
    return value


def preset_text(flt: Filter | None, params: Mapping[str, Any]) -> str:
    """"Fast", "Quality, with Size changed", or "own settings"."""
    if flt is None or not flt.presets or not isinstance(params, Mapping):
        return "own settings"
    titles = {p.name: p.title for p in flt.params}
    defaults = {p.name: p.default for p in flt.params}
    params = {name: _as_declared(flt, name, value) for name, value in params.items()}
    best = None
    for name, preset in flt.presets.items():
        wanted = {**defaults, **preset_of(preset).values}
        changed = [n for n, v in wanted.items() if n in params and not _same(params[n], v)]
        if best is None or len(changed) < len(best[1]):
            best = (name, changed)
    name, changed = best
    if not changed:
        return name.capitalize()
    if len(changed) > MAX_CHANGES_SHOWN:
        return "own settings"
    return f"{name.capitalize()}, with {', '.join(titles.get(n, n) for n in changed)} changed"


def size_text(render) -> str:
    """The result's size as the engine planned it (its last scale), else the size asked for."""
    timings = render.timings if isinstance(render.timings, dict) else {}
    scales = timings.get("scales")
    if isinstance(scales, list) and scales and isinstance(scales[-1], str):
        return scales[-1].replace("x", " × ") + " px"
    size = render.params.get("size") if isinstance(render.params, dict) else None
    if isinstance(size, str):  # a render recorded before sizes were stored as (width, height)
        return size.replace("x", " × ") + " px"
    if (isinstance(size, (list, tuple)) and len(size) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in size)):
        return f"{size[0]} × {size[1]} px"
    if isinstance(size, (int, float)) and not isinstance(size, bool):
        return f"{size:g} px long side"
    return ""


def duration_text(render) -> str:
    """How long it painted: the filter's own seconds, else from start to finish."""
    timings = render.timings if isinstance(render.timings, dict) else {}
    seconds = timings.get("seconds")
    if not (isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and math.isfinite(seconds)):
        seconds = None
        if render.started_at is not None and render.finished_at is not None:
            seconds = (render.finished_at - render.started_at).total_seconds()
    if seconds is None:
        return ""
    seconds = max(0.0, float(seconds))
    return f"{seconds:.1f} s" if seconds < 90 else f"{seconds // 60:.0f} min {seconds % 60:02.0f} s"


def local_time(moment: datetime | None, zone: str | None) -> str:
    """``moment`` in the browser's time zone ``zone`` (an IANA name), named; in UTC, said so, without one;
    "unknown date" for None (a stored date that was not a date: see db.models.UTCDateTime)."""
    if moment is None:
        return "unknown date"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    if zone:
        try:
            from zoneinfo import ZoneInfo

            local = moment.astimezone(ZoneInfo(zone))
            return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or zone)
        except (ValueError, KeyError, OSError, ImportError):  # an unknown name: fall back to UTC, said so
            pass
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def photo_name(record) -> str:
    """A recent photo's name for the page and its downloads: the day it was first painted."""
    return f"photo {record.created_at:%Y-%m-%d}" if record.created_at is not None else "photo (date unknown)"


def value_text(param, value: Any) -> str:
    """A value as the form shows it."""
    if param is not None and param.kind == "bool":
        return "on" if value else "off"
    if param is not None and param.unset is not None and _same(value, param.unset):
        return "not set"
    if param is not None and param.kind in ("size", "layers", "boxes"):  # stored as JSON: read as declared
        try:
            text = param.text(param.coerce(value))
        except (NSTError, TypeError, ValueError):
            return shown_value(value)
        return text.replace("x", " × ") + " px" if param.kind == "size" else text or "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def settings_rows(flt: Filter | None, params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(title, value) of every setting the form shows, in its order (advanced ones after); values for
    parameters the filter no longer declares come last under their own names."""
    params = params if isinstance(params, Mapping) else {}
    declared = [p for p in (flt.params if flt else ()) if not p.hidden]
    ordered = [p for p in declared if not p.advanced] + [p for p in declared if p.advanced]
    rows = [(p.title, value_text(p, params[p.name])) for p in ordered if p.name in params]
    known = {p.name for p in (flt.params if flt else ())}
    rows += [(name, value_text(None, value)) for name, value in params.items() if name not in known]
    return rows
