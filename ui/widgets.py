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

from nst.params import Param, parse_size
from nst.plugin import Filter, preset_of
from ui.pages import ADD_STYLE
from ui.text import md

ADVANCED_LABEL = "Advanced settings"


def _key(prefix: str, name: str) -> str:
    return f"{prefix}:{name}"


def _preset_values(flt: Filter, name: str | None) -> dict[str, Any]:
    return dict(preset_of(flt.presets[name]).values) if name in flt.presets else {}


def _apply_preset(flt: Filter, prefix: str) -> None:
    chosen = st.session_state.get(_key(prefix, "__preset"))
    declared = {p.name: p for p in flt.params if not p.hidden}
    for name, value in _preset_values(flt, chosen).items():
        if name in declared:
            st.session_state[_key(prefix, name)] = declared[name].coerce(value)
            if declared[name].kind == "size":
                _set_sides(_key(prefix, name))


def _set_sides(key: str) -> None:
    """A size parameter is two widgets (width, height) under ``key``: set them from its value."""
    st.session_state[key + ":width"], st.session_state[key + ":height"] = parse_size(st.session_state[key])


def _size_widget(p: Param, key: str) -> str:
    if key + ":width" not in st.session_state:
        _set_sides(key)
    low = None if p.min is None else int(p.min)
    high = None if p.max is None else int(p.max)
    step = int(p.step or 1)
    left, right = st.columns(2)
    with left:
        width = st.number_input("Width (px)", min_value=low, max_value=high, step=step, key=key + ":width",
                                help=p.help or None)
    with right:
        height = st.number_input("Height (px)", min_value=low, max_value=high, step=step, key=key + ":height")
    st.session_state[key] = p.coerce((int(width), int(height)))
    return st.session_state[key]


def preset_picker(flt: Filter, prefix: str) -> str | None:
    """A row of the filter's presets, described as the filter describes them; picking one sets every
    parameter widget to its values."""
    if not flt.presets:
        return None
    names = list(flt.presets)
    key = _key(prefix, "__preset")
    if key not in st.session_state:
        st.session_state[key] = "quality" if "quality" in names else names[0]
    descriptions = {n: preset_of(flt.presets[n]).description for n in names}
    help_text = " ".join(f"**{n}**: {text}" for n, text in descriptions.items() if text) or None
    st.segmented_control("Preset", names, key=key, on_change=_apply_preset, args=(flt, prefix),
                         format_func=lambda n: n.capitalize(), help=help_text, required=True)
    return st.session_state[key]


def _widget(p: Param, key: str):
    label, help_text = p.title, p.help or None
    if p.kind == "size":
        return _size_widget(p, key)
    if p.kind == "bool":
        return st.toggle(label, key=key, help=help_text)
    if p.kind == "choice":
        return st.selectbox(label, list(p.choices), key=key, help=help_text)
    if p.kind == "text":
        return st.text_input(label, key=key, help=help_text)
    if p.unset is not None:  # the widget also offers the number that means "not set"
        p = replace(p, unset=None, min=None if p.min is None else min(p.min, p.unset),
                    max=None if p.max is None else max(p.max, p.unset))
    bounded = p.min is not None and p.max is not None and math.isfinite(p.min) and math.isfinite(p.max)
    if p.kind == "int":
        if bounded and p.max - p.min <= 4096 and not p.log:
            return st.slider(label, int(p.min), int(p.max), step=int(p.step or 1), key=key, help=help_text)
        return st.number_input(label, min_value=None if p.min is None else int(p.min),
                               max_value=None if p.max is None else int(p.max), step=int(p.step or 1),
                               key=key, help=help_text)
    if bounded and not p.log and p.max - p.min <= 100:
        return st.slider(label, float(p.min), float(p.max), step=float(p.step or (p.max - p.min) / 100),
                         key=key, help=help_text)
    return st.number_input(label, min_value=None if p.min is None else float(p.min),
                           max_value=None if p.max is None else float(p.max), format="%g", key=key,
                           help=help_text, step=None if p.step is None else float(p.step))


def param_widgets(flt: Filter, prefix: str, hidden: tuple[str, ...] = ()) -> dict[str, Any]:
    """One widget per declared parameter (advanced ones folded away; those a preset sets alone, and those
    named in ``hidden``, not shown); returns the values, with the chosen preset's name under "preset"
    (the registry resolves it when the render is submitted)."""
    shown = [p for p in flt.params if not p.hidden and p.name not in hidden]
    for p in shown:
        key = _key(prefix, p.name)
        if key not in st.session_state:
            preset = st.session_state.get(_key(prefix, "__preset"))
            st.session_state[key] = p.coerce(_preset_values(flt, preset).get(p.name, p.default))
    values = {}
    basic = [p for p in shown if not p.advanced]
    advanced = [p for p in shown if p.advanced]
    columns = st.columns(2) if len(basic) > 2 else [st.container()]
    for index, p in enumerate(basic):
        with columns[index % len(columns)]:
            values[p.name] = _widget(p, _key(prefix, p.name))
    if advanced:
        with st.expander(ADVANCED_LABEL):
            for p in advanced:
                values[p.name] = _widget(p, _key(prefix, p.name))
    preset = st.session_state.get(_key(prefix, "__preset"))
    if preset in flt.presets:
        values["preset"] = preset
    return values


def style_label(style) -> str:
    return f"{style.name} — {style.artist}" if style.artist else style.name


def style_picker(styles: list, key: str, *, default_ids: list[int] | None = None,
                 chosen_ids: list[int] | None = None) -> list:
    """Choose up to four saved styles (by name, in the order given). ``default_ids`` apply when nothing is
    chosen yet; ``chosen_ids`` (a style picked on another page) replace the current choice."""
    by_id = {s.id: s for s in styles}
    options = list(by_id)
    defaults = [i for i in (default_ids or []) if i in by_id]
    chosen_ids = [i for i in (chosen_ids or []) if i in by_id]
    if chosen_ids:
        st.session_state[key] = chosen_ids[:4]
    if key not in st.session_state:
        st.session_state[key] = defaults[:1] or options[:1]
    # Given to the browser on every run, not only the first: a run cut short (a preset clicked while
    # the page's first run was going) could leave the box showing nothing while a style was chosen.
    st.session_state[key] = [i for i in st.session_state[key] if i in by_id]
    chosen = st.multiselect("Styles", options, key=key, format_func=lambda i: style_label(by_id[i]),
                            max_selections=4, placeholder="Choose one or more styles")
    return [by_id[i] for i in chosen]


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
    if sum(weights) <= 0:
        st.warning("All blend weights are zero; using equal weights.")
        return [1.0] * len(chosen)
    return weights


def thumbnails_row(library, styles: list, width: int = 120) -> None:
    if not styles:
        return
    columns = st.columns(max(4, len(styles)))
    for column, style in zip(columns, styles):
        with column:
            st.image(library.thumbnail_bytes(style.image_id), caption=md(style.name), width=width)


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
