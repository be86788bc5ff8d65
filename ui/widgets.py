"""Widgets shared by the pages: a filter's parameters, its presets, and style pickers.

Parameter widgets are built from the filter's declarations (:mod:`nst.params`),
so a plugin's parameters appear in the app with their bounds, steps and help
without any code here knowing them.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import streamlit as st

from nst.errors import NSTError
from nst.params import TEXT_KINDS, Param, parse_size
from nst.params import blend_weights as checked_blend
from nst.plugin import Filter, default_preset, preset_of
from ui.pages import ADD_STYLE
from ui.text import md

ADVANCED_LABEL = "Advanced settings"


def _key(prefix: str, name: str) -> str:
    return f"{prefix}:{name}"


# What is submitted is what is shown. Streamlit tells the browser a keyed widget's value only in a run
# that assigned it through st.session_state (SessionState.register_widget: value_changed); in any other
# run it assumes the browser still holds the value from an earlier run, and the element goes out with no
# value, so a browser that never mounted that earlier element draws the widget at the element's default:
# for a number input or slider built without ``value=``, its minimum. The browser then sends that
# minimum back with the next rerun (an upload, Paint), and a value from the browser outranks the one the
# server kept. Seeding the keys only while they were missing therefore broke whenever the browser missed
# the run that seeded them, which a loaded server makes common:
# - a run cut short by a rerun (a photo uploaded during the page's first run): the element whose sending
#   raised the RerunException never leaves, and elements still waiting in the outgoing queue are dropped
#   when the next run starts (ForwardMsgQueue.clear on SCRIPT_STARTED);
# - a page left through a run that is itself cut short (passing quickly through the Gallery): the
#   clean-up of widgets not drawn runs only after a completed run (ScriptRunner._on_script_finished skips
#   _remove_stale_widgets for an interrupted one), so the page's values stay on the server under the
#   widget ids, nothing is seeded on the way back, and every widget mounts at its minimum.
# So a page's parameter values live in one plain session_state entry per filter (never a widget's, so
# Streamlit never cleans it up: the preset and values are kept across pages too), updated from a widget
# by its on_change callback (callbacks run before the page's script), and every widget is built with the
# page's value as its default (``value=``, ``index=``, ``default=``: the widget's identity under a key
# leaves them out), so a browser that mounts the element afresh, whichever run it came from, draws and
# sends back the page's value.
# The value itself is assigned to the widget's key (and so sent with set_value) only when the widget
# holds another: the page changed it (a preset chosen, a value the declarations refuse, the first visit,
# a key Streamlit cleaned up). Never in a run that took the value from the browser: the browser applies a
# set_value as it arrives, over anything the user did meanwhile, so a run echoing every value undid a
# change sent while that run was still going (the size slider, moved Home then ArrowRight under load:
# the run of Home sent 32 back after the browser had sent 64, the slider jumped back to 32 and the next
# rerun sent 32). The browser's value is then always the one it shows, and the one submitted.
_MISSING = object()


def _given(key: str, value: Any) -> bool:
    """Assign ``value`` to the widget under ``key`` unless it holds it already (see above); whether it did.
    A widget built after an assignment takes no default: Streamlit warns when a run sets both."""
    if key in st.session_state and st.session_state[key] == value:
        return False
    st.session_state[key] = value
    return True


def _form_key(prefix: str) -> str:
    return _key(prefix, "__form")


def _declared(flt: Filter) -> dict[str, Param]:
    return {p.name: p for p in flt.params if not p.hidden}


def _default_preset(flt: Filter) -> str | None:
    return default_preset(flt)


def _preset_values(flt: Filter, name: str | None) -> dict[str, Any]:
    return dict(preset_of(flt.presets[name]).values) if name in flt.presets else {}


def _checked(p: Param, value: Any) -> Any:
    """``value`` as ``p`` declares it, or _MISSING when it does not fit (a plugin reloaded with other bounds)."""
    try:
        return p.coerce(value)
    except (NSTError, TypeError, ValueError):
        return _MISSING


def form(flt: Filter, prefix: str) -> dict[str, Any]:
    """The page's parameter values for ``flt`` under ``prefix``, the one place the widgets take them from:
    ``{"preset": name or None, "values": {param: value}}``. Created from the default preset on the first
    visit; each run keeps what still fits the filter's declarations and fills the rest from the preset."""
    key = _form_key(prefix)
    stored = st.session_state.get(key) or {}
    preset = stored.get("preset")
    if preset not in flt.presets:
        preset = _default_preset(flt)
    chosen, kept = _preset_values(flt, preset), stored.get("values") or {}
    values = {}
    for p in _declared(flt).values():
        value = _checked(p, kept[p.name]) if p.name in kept else _MISSING
        if value is _MISSING:
            value = _checked(p, chosen.get(p.name, p.default))
        values[p.name] = p.default if value is _MISSING else value
    current = {"preset": preset, "values": values}
    if current != stored:
        st.session_state[key] = current
    return current


def _choose_preset(flt: Filter, prefix: str) -> None:
    """on_change of the preset row: its values replace the page's (the widgets show them on this run)."""
    stored = st.session_state.get(_form_key(prefix))
    name = st.session_state.get(_key(prefix, "__preset"))
    if stored is None or name not in flt.presets:
        return
    values = dict(stored["values"])
    declared = _declared(flt)
    for param, value in _preset_values(flt, name).items():
        if param in declared and (checked := _checked(declared[param], value)) is not _MISSING:
            values[param] = checked
    st.session_state[_form_key(prefix)] = {"preset": name, "values": values}


def _remember(p: Param, prefix: str, key: str) -> None:
    """on_change of a parameter's widget: its value becomes the page's value."""
    stored = st.session_state.get(_form_key(prefix))
    if stored is None:
        return
    raw = (st.session_state[key + ":width"], st.session_state[key + ":height"]) if p.kind == "size" \
        else st.session_state[key]
    value = _checked(p, raw)
    if value is not _MISSING:  # otherwise the widget is set back to the page's value on this run
        st.session_state[_form_key(prefix)] = {**stored, "values": {**stored["values"], p.name: value}}


def _size_widget(p: Param, key: str, value: str, on_change: dict) -> None:
    """A size parameter is two widgets (width, height) under ``key``."""
    width, height = parse_size(value)
    low = None if p.min is None else int(p.min)
    high = None if p.max is None else int(p.max)
    step = int(p.step or 1)
    left, right = st.columns(2)
    with left:
        st.number_input("Width (px)", min_value=low, max_value=high, step=step, key=key + ":width",
                        help=p.help or None, **_default(key + ":width", width), **on_change)
    with right:
        st.number_input("Height (px)", min_value=low, max_value=high, step=step, key=key + ":height",
                        **_default(key + ":height", height), **on_change)


def _default(key: str, value: Any, name: str = "value", shown: Any = _MISSING) -> dict:
    """The keyword giving a widget ``value`` as its default (``shown`` when the widget takes it in another
    form, an index), or none when ``value`` was just assigned to its key (see above)."""
    return {} if _given(key, value) else {name: value if shown is _MISSING else shown}


def preset_picker(flt: Filter, prefix: str) -> str | None:
    """A row of the filter's presets, described as the filter describes them; picking one sets every
    parameter widget to its values."""
    if not flt.presets:
        return None
    names = list(flt.presets)
    key = _key(prefix, "__preset")
    chosen = form(flt, prefix)["preset"]
    descriptions = {n: preset_of(flt.presets[n]).description for n in names}
    help_text = " ".join(f"**{n}**: {text}" for n, text in descriptions.items() if text) or None
    st.segmented_control("Preset", names, key=key, on_change=_choose_preset, args=(flt, prefix),
                         format_func=lambda n: n.capitalize(), help=help_text, required=True,
                         **_default(key, chosen, "default"))
    return chosen


def _widget(p: Param, prefix: str, value: Any) -> None:
    """The widget of one parameter, showing ``value``: its default, or assigned to its key (see above)."""
    key = _key(prefix, p.name)
    label, help_text = p.title, p.help or None
    on_change = {"on_change": _remember, "args": (p, prefix, key)}
    if p.kind == "size":
        return _size_widget(p, key, value, on_change)
    if p.kind == "choice":
        choices = list(p.choices)
        return st.selectbox(label, choices, key=key, help=help_text,
                            **_default(key, value, "index", choices.index(value)), **on_change)
    if p.kind in TEXT_KINDS:  # a typed value (layers, boxes) is written as text in its box
        value = p.text(value)
    on_change.update(_default(key, value))  # from here on, with the default (a value of the widget's type)
    if p.kind == "bool":
        return st.toggle(label, key=key, help=help_text, **on_change)
    if p.kind in TEXT_KINDS:
        return st.text_input(label, key=key, help=help_text, **on_change)
    if p.unset is not None:  # the widget also offers the number that means "not set"
        p = replace(p, unset=None, min=None if p.min is None else min(p.min, p.unset),
                    max=None if p.max is None else max(p.max, p.unset))
    bounded = p.min is not None and p.max is not None and math.isfinite(p.min) and math.isfinite(p.max)
    if p.kind == "int":
        if bounded and p.max - p.min <= 4096 and not p.log:
            return st.slider(label, int(p.min), int(p.max), step=int(p.step or 1), key=key, help=help_text,
                             **on_change)
        return st.number_input(label, min_value=None if p.min is None else int(p.min),
                               max_value=None if p.max is None else int(p.max), step=int(p.step or 1),
                               key=key, help=help_text, **on_change)
    if bounded and not p.log and p.max - p.min <= 100:
        return st.slider(label, float(p.min), float(p.max), step=float(p.step or (p.max - p.min) / 100),
                         key=key, help=help_text, **on_change)
    return st.number_input(label, min_value=None if p.min is None else float(p.min),
                           max_value=None if p.max is None else float(p.max), format="%g", key=key,
                           help=help_text, step=None if p.step is None else float(p.step), **on_change)


def param_widgets(flt: Filter, prefix: str, hidden: tuple[str, ...] = ()) -> dict[str, Any]:
    """One widget per declared parameter (advanced ones folded away; those a preset sets alone, and those
    named in ``hidden``, not shown), each showing the page's value (:func:`form`); returns those values,
    with the chosen preset's name under "preset" (the registry resolves it when the render is submitted)."""
    current = form(flt, prefix)
    shown = [p for p in flt.params if not p.hidden and p.name not in hidden]
    values = {p.name: current["values"][p.name] for p in shown}
    basic = [p for p in shown if not p.advanced]
    advanced = [p for p in shown if p.advanced]
    columns = st.columns(2) if len(basic) > 2 else [st.container()]
    for index, p in enumerate(basic):
        with columns[index % len(columns)]:
            _widget(p, prefix, values[p.name])
    if advanced:
        with st.expander(ADVANCED_LABEL):
            for p in advanced:
                _widget(p, prefix, values[p.name])
    if current["preset"] in flt.presets:
        values["preset"] = current["preset"]
    return values


def values_complete(flt: Filter, values: dict[str, Any], hidden: tuple[str, ...] = ()) -> bool:
    """Whether ``values`` hold a fitting value for every parameter the form shows: Paint stays disabled
    until they do."""
    return all(p.name in values and _checked(p, values[p.name]) is not _MISSING
               for p in flt.params if not p.hidden and p.name not in hidden)


def style_label(style) -> str:
    return f"{style.name} — {style.artist}" if style.artist else style.name


def _remember_styles(key: str) -> None:
    """on_change of the styles box (several styles): its choice becomes the page's."""
    st.session_state[key + ":ids"] = list(st.session_state[key])


def _choose_one_style(key: str) -> None:
    """on_change of the style box (one style): the style picked replaces the choice."""
    st.session_state[key + ":ids"] = [st.session_state[key + ":one"]]


def style_picker(styles: list, key: str, *, default_ids: list[int] | None = None,
                 chosen_ids: list[int] | None = None, blend: bool = True, limit: int = 4) -> list:
    """Choose saved styles (by name, in the order given): up to ``limit`` in a multiselect under ``key``,
    or with ``blend=False`` one, in a select box whose pick replaces the choice. ``default_ids`` apply when
    nothing is chosen yet; ``chosen_ids`` (a style picked on another page) replace the current choice.

    The choice lives in a plain session_state entry (``key`` + ":ids", never a widget's), copied into the
    shown box on every run and updated by the box's on_change: like the parameter values (see above), it
    survives a run cut short, a page left and the switch between one style and several."""
    by_id = {s.id: s for s in styles}
    options = list(by_id)
    limit = max(1, limit if blend else 1)
    store = key + ":ids"
    chosen_ids = [i for i in (chosen_ids or []) if i in by_id]
    if chosen_ids:
        st.session_state[store] = chosen_ids
    if store not in st.session_state:
        st.session_state[store] = [i for i in (default_ids or []) if i in by_id][:1] or options[:1]
    ids = [i for i in st.session_state[store] if i in by_id][:limit]
    if not blend:
        ids = ids or options[:1]
    st.session_state[store] = ids
    label = lambda i: style_label(by_id[i])  # noqa: E731
    if not blend:
        one = st.selectbox("Style", options, key=key + ":one", format_func=label, on_change=_choose_one_style,
                           args=(key,), **_default(key + ":one", ids[0], "index", options.index(ids[0])))
        return [by_id[one]]
    chosen = st.multiselect("Styles", options, key=key, format_func=label, max_selections=limit,
                            placeholder="Choose one or more styles", on_change=_remember_styles, args=(key,),
                            **_default(key, ids, "default"))
    return [by_id[i] for i in chosen]


def _remember_toggle(key: str) -> None:
    st.session_state[key + ":on"] = bool(st.session_state[key])


def kept_toggle(label: str, key: str, *, default: bool = False, help: str | None = None) -> bool:
    """A toggle whose value lives in a plain session_state entry (``key`` + ":on"), its default or assigned
    to its key (see above)."""
    value = bool(st.session_state.get(key + ":on", default))
    return st.toggle(label, key=key, help=help, on_change=_remember_toggle, args=(key,), **_default(key, value))


def blend_weights(chosen: list, key: str) -> list[float]:
    """A weight slider per style when several are chosen."""
    if len(chosen) < 2:
        return [1.0] * len(chosen)
    st.caption("Blend: how much of each style")
    columns = st.columns(len(chosen))
    weights = []
    for column, style in zip(columns, chosen):
        with column:
            weights.append(st.slider(md(style.name), 0.0, 1.0, 1.0 / len(chosen), 0.05, key=f"{key}:{style.id}"))
    try:
        return list(checked_blend(weights, len(chosen)))
    except NSTError:  # all at 0: the sliders cannot go below
        st.warning("All blend weights are zero; using equal weights.")
        return [1.0] * len(chosen)


def thumbnails_row(library, styles: list, width: int = 120) -> None:
    """The chosen styles, small, each with its name: one row of ``width``-px pictures that wraps where the
    space ends (in columns narrower than the picture, two thumbnails overlapped and a caption was lost)."""
    if not styles:
        return
    st.image([library.thumbnail_bytes(style.image_id) for style in styles], caption=[md(s.name) for s in styles],
             width=width)


def filter_label(filters: list):
    """Filters by name, with the id added where two share a name."""
    names = [f.name for f in filters]
    return lambda f: f.name if names.count(f.name) == 1 else f"{f.name} ({f.id})"


def styles_and_filters(library, registry, *, content: bool, preferred: str, no_styles: str,
                       no_filters: str) -> tuple[list, list[Filter]]:
    """The library's styles and the filters for a page (``preferred`` first); when either list is
    empty, say what to do and stop the page."""
    styles = library.list_styles()
    if not styles:
        st.info(no_styles, icon=":material/palette:")
        st.page_link(ADD_STYLE, label="Add a style", icon=":material/add_photo_alternate:")
        st.stop()
    filters = sorted(registry.filters(content=content), key=lambda f: (f.id != preferred, f.name))
    if not filters:
        st.error(no_filters)
        st.stop()
    return styles, filters
