"""Plugins: what loaded, what failed and why; reload; the weights in use."""

from __future__ import annotations

import os

import streamlit as st

from nst import config
from nst.registry import BUILTIN_DIR, DISABLED_VAR, ENV_VAR
from ui import services
from ui.origins import origin_label
from ui.text import md

st.title("Plugins")
registry = services.registry()
weights_ok, weights_message = services.weights_status()

top_left, top_right = st.columns([4, 1], vertical_alignment="center")
with top_left:
    extra = os.pathsep.join(str(folder) for folder in config.value(ENV_VAR))
    st.caption(f"Built-in plugins: {md(BUILTIN_DIR)}" + (f" · extra folders ({ENV_VAR}): {md(extra)}" if extra else
               f" · add your own folders with the `{ENV_VAR}` environment variable"))
with top_right:
    if st.button("Reload plugins", icon=":material/refresh:", width="stretch"):
        services.reload_plugins()
        st.rerun()

if weights_ok:
    st.success(weights_message, icon=":material/check_circle:")
else:
    st.error(weights_message, icon=":material/error:")

failures = registry.failures()
run_errors = registry.run_errors()
loaded = [p for p in registry.plugins if p.ok]
failed = [p for p in registry.plugins if not p.ok and not p.disabled]
disabled = [p for p in registry.plugins if p.disabled]
st.markdown(f"**{len(registry.filters())} filters** and **{len(registry.styles())} styles** from {len(loaded)} plugins"
            + (f" · **{len(failed)} failed**" if failed else "")
            + (f" · {len(disabled)} disabled" if disabled else ""))
st.caption(f"To turn a plugin off, list its id in the `{DISABLED_VAR}` environment variable (separated by commas) "
           "and restart; the styles it already added stay in your library.")

for info in registry.plugins:
    problem = (not info.ok and not info.disabled) or bool(info.problems) or any(f in run_errors for f in info.filters)
    icon = (":material/block:" if info.disabled else ":material/error:" if not info.ok
            else ":material/warning:" if problem else ":material/check_circle:")
    with st.container(border=True):
        head, origin = st.columns([3, 1])
        with head:
            state = "" if info.ok else " · disabled" if info.disabled else " · failed to load"
            st.markdown(f"{icon} **{md(info.id)}**{state}")
        with origin:
            st.caption(md(origin_label(info.origin)))
        st.caption(md(info.location))
        if info.disabled:
            st.info(md(info.error), icon=":material/block:")
        elif not info.ok:
            st.error(md(info.error))
            if info.details:
                with st.expander("Details"):
                    st.code(info.details, language=None)
        for fid in info.filters:
            flt = registry.get(fid)
            needs = flt.needs
            takes = ("a photo and " if needs.content else "") + (
                f"{needs.min_styles} style" + ("s" if needs.min_styles != 1 else "") if needs.min_styles == needs.max_styles
                else f"{needs.min_styles} to {needs.max_styles} styles")
            st.markdown(f"Filter **{md(flt.name)}** ({md(fid)}, version {md(flt.version)}): takes {takes}. "
                        f"{md(flt.description)}")
            if registry.unavailable(fid):
                st.warning(f"Unavailable here: {md(registry.unavailable(fid))}")
            if fid in run_errors:
                st.warning(f"Its last run failed: {md(run_errors[fid])}")
        if info.styles:
            st.markdown("Styles: " + ", ".join(md(name) for name in info.styles))
        for problem_text in info.problems:
            st.warning(md(problem_text))
