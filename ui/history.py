"""History: past renders with their results, settings and timings; open, download, re-run, delete."""

from __future__ import annotations

import json
import math

import pandas as pd

import streamlit as st

from nst.errors import NSTError
from ui import services
from ui.job_panel import download_buttons, file_stem, job_panel, status_text
from ui.render_summary import duration_text, local_time, preset_text, settings_rows, size_text
from ui.style_choice import by_recent_use
from ui.text import md
from ui.widgets import style_label


def _event_line(entry: dict) -> str:
    """One line of a render's story: when, what, on which worker, why."""
    when = str(entry.get("at", ""))[11:19]
    who = f" on {entry['owner']}" if entry.get("owner") else ""
    why = f": {entry['detail']}" if entry.get("detail") else ""
    return f"{when}  {entry.get('event', '?')}{who}{why}"


def _field(stored, key: str):
    """One value of a stored JSON object (None when the object is missing or not an object)."""
    return stored.get(key) if isinstance(stored, dict) else None


def _number(value, spec: str) -> str:
    """``value`` formatted, or "" when it is not a finite number (a NaN loss is stored as null)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return ""
    return format(value, spec)


def _summary(render, flt) -> str:
    """Preset, size, duration: what tells two renders of one filter apart at a glance."""
    return " · ".join(part for part in (preset_text(flt, render.params), size_text(render),
                                        duration_text(render)) if part)


def _settings_table(flt, params) -> None:
    rows = settings_rows(flt, params)
    if rows:
        st.table(pd.DataFrame(rows, columns=["Setting", "Value"]).set_index("Setting"))
    else:
        st.caption("No settings.")


def _compare(renders: list, filters: dict) -> None:
    """The renders chosen for comparison side by side: result, summary, and the settings that differ."""
    st.subheader("Side by side")
    columns = st.columns(len(renders))
    rows = {}
    for column, render in zip(columns, renders):
        flt = filters.get(render.filter_id)
        with column:
            if render.result_image_id is not None:
                st.image(library.image_bytes(render.result_image_id), width="stretch")
            styles = ", ".join(md(s.style_name) for s in render.styles) or "no style"
            st.markdown(f"**#{render.id} · {md(flt.name if flt else render.filter_id)}** with {styles}")
            st.caption(md(_summary(render, flt)))
            if st.button("Remove", key=f"uncompare:{render.id}", icon=":material/close:"):
                st.session_state["history:compare"].remove(render.id)
                st.rerun()
        for title, value in settings_rows(flt, render.params):
            rows.setdefault(title, {})[f"#{render.id}"] = value
    differing = {title: values for title, values in rows.items()
                 if len(set(values.values())) > 1 or len(values) < len(renders)}
    if differing:
        st.markdown("**Settings that differ**")
        st.table(pd.DataFrame.from_dict(differing, orient="index").fillna("—"))
    else:
        st.caption("Same settings.")
    st.divider()


#: How many queued renders the "Now" section shows live (the first in the queue's order; the rest are counted).
QUEUED_SHOWN = 10

st.title("History")
library = services.library()
farm = services.farm()
filters = {f.id: f for f in services.registry().filters()}
filter_names = {f.id: f.name for f in filters.values()}
zone = st.context.timezone  # the browser's; None when it has not said (then times are in UTC, said so)

now = farm.now(queued_shown=QUEUED_SHOWN)  # the running renders and the queue's head: a refresh reads only them
if now.render_ids:
    st.subheader("Now")
    st.session_state["history:active"] = now.render_ids
    job_panel("history:active")
    if now.more_queued:
        st.caption(f"… and {now.more_queued:,} more waiting in the queue after these.")
    st.divider()

status_col, style_col = st.columns([3, 2], vertical_alignment="bottom")
with status_col:
    statuses = st.pills("Show", ["done", "cancelled", "failed", "interrupted"], selection_mode="multi",
                        default=["done", "cancelled", "failed", "interrupted"], key="history:statuses",
                        format_func=str.capitalize)
usage = library.style_usage()
used_styles = {s.id: s for s in library.list_styles() if s.id in usage}
with style_col:
    style_filter = st.selectbox("Style", [None, *(s.id for s in by_recent_use(list(used_styles.values()), usage))],
                                format_func=lambda i: "Every style" if i is None else style_label(used_styles[i]),
                                key="history:style")
renders = library.list_renders(limit=60, status=statuses, style_id=style_filter) if statuses else []
compared = st.session_state.setdefault("history:compare", [])
by_id = {r.id: r for r in renders}
for render_id in [i for i in compared if i not in by_id]:
    try:
        by_id[render_id] = library.get_render(render_id)
    except NSTError:  # deleted meanwhile
        compared.remove(render_id)
if len(compared) >= 2:
    _compare([by_id[i] for i in compared], filters)
elif compared:
    st.caption(f"Comparing #{compared[0]}: press Compare on another render to see them side by side.")
if not renders:
    st.info("No render matches: try another style or status." if style_filter is not None else
            "No renders yet. Paint a photo on the Stylize page, or make a texture.", icon=":material/history:")

for render in renders:
    with st.container(border=True):
        thumb_col, text_col, action_col = st.columns([1, 3, 1], vertical_alignment="top")
        with thumb_col:
            if render.result_image_id is not None:
                st.image(library.thumbnail_bytes(render.result_image_id), width="stretch")
            elif render.content_image_id is not None:
                st.image(library.thumbnail_bytes(render.content_image_id), width="stretch", caption="Photo")
        with text_col:
            styles = ", ".join(f"{md(s.style_name)}" + (f" ({s.weight:g})" if len(render.styles) > 1 else "")
                               for s in render.styles) or "no style"
            flt = filters.get(render.filter_id)
            st.markdown(f"**#{render.id} · {md(filter_names.get(render.filter_id, render.filter_id))}** with {styles}")
            loss = _number(_field(render.losses, "total"), ".4g")
            st.caption(md(_summary(render, flt)))
            st.caption(f"{local_time(render.created_at, zone)} · {status_text(render.status)}"
                       + (f" · loss {loss}" if loss else ""))
            if render.error:
                st.error(md(render.error))
            if st.session_state.get("history:open") == render.id:
                if render.result_image_id is not None:
                    st.image(library.image_bytes(render.result_image_id), width="stretch")
                    download_buttons(library, render.result_image_id, file_stem(render), f"hist:{render.id}")
                settings_col, timings_col = st.columns(2)
                with settings_col:
                    st.markdown("**Settings**")
                    _settings_table(flt, render.params)
                with timings_col:
                    if render.timings:
                        st.markdown("**Timings**")
                        st.code(json.dumps(render.timings, indent=2), language="json")
                    if render.events:
                        st.markdown("**Events**")
                        st.code("\n".join(_event_line(e) for e in render.events), language=None)
        with action_col:
            opened = st.session_state.get("history:open") == render.id
            if st.button("Close" if opened else "Open", key=f"open:{render.id}", width="stretch",
                         icon=":material/expand_less:" if opened else ":material/open_in_full:"):
                st.session_state["history:open"] = None if opened else render.id
                st.rerun()
            comparing = render.id in compared
            if st.button("Uncompare" if comparing else "Compare", key=f"compare:{render.id}", width="stretch",
                         icon=":material/compare:", help="See this render beside others, with their settings"):
                st.session_state["history:compare"] = ([i for i in compared if i != render.id] if comparing
                                                       else [*compared, render.id][-4:])
                st.rerun()
            if st.button("Re-run", key=f"rerun:{render.id}", icon=":material/replay:", width="stretch",
                         help="Queue the same filter, settings, photo and styles again"):
                try:
                    new_id = farm.resubmit(render.id)
                    st.toast(f"Queued render #{new_id}.", icon=":material/schedule:")
                    st.rerun()
                except NSTError as exc:
                    st.error(md(exc))
            if st.button("Delete", key=f"delete:{render.id}", icon=":material/delete:", width="stretch"):
                st.session_state["history:confirm"] = render.id
            if st.session_state.get("history:confirm") == render.id:
                st.warning("Delete this render?")
                if st.button("Yes, delete", key=f"confirm:{render.id}", type="primary", width="stretch"):
                    library.delete_render(render.id)
                    st.session_state.pop("history:confirm", None)
                    st.rerun()
