"""Texture: grow a new texture from noise with the statistics of saved styles."""

from __future__ import annotations

import streamlit as st

from nst.errors import NSTError
from ui import services
from ui.job_panel import job_panel
from ui.text import md
from ui.widgets import (blend_weights, filter_label, param_widgets, preset_picker, style_picker,
                        styles_and_filters, thumbnails_row)

st.title("Texture")
library = services.library()
registry = services.registry()
weights_ok, weights_message = services.weights_status()

styles, filters = styles_and_filters(
    library, registry, content=False, preferred="texture_synthesis",
    no_styles="There are no styles yet. Add a painting or a texture first.",
    no_filters="No texture filter is loaded; see the Plugins page.")

renders_slot = st.container()  # the render, above the form, once there is one
style_col, settings_col = st.columns([1, 1], gap="large")
with style_col:
    st.subheader("1 · Styles")
    chosen = style_picker(styles, "texture:styles", multiple=True,
                          default_ids=st.session_state.pop("texture:preselect", None))
    thumbnails_row(library, chosen)
    weights = blend_weights(chosen, "texture:blend")
with settings_col:
    st.subheader("2 · Filter")
    flt = st.selectbox("Filter", filters, format_func=filter_label(filters), key="texture:filter")
    st.caption(md(flt.description))
    prefix = f"texture:{flt.id}"
    preset_picker(flt, prefix)
    values = param_widgets(flt, prefix)
    if flt.needs.vgg and not weights_ok:
        st.error(weights_message, icon=":material/error:")
    run = st.button("Synthesize", type="primary", icon=":material/texture:", width="stretch",
                    disabled=(flt.needs.vgg and not weights_ok) or len(chosen) < flt.needs.min_styles)

if run:
    try:
        render_id = services.farm().submit(flt.id, values, None, [(s.id, w) for s, w in zip(chosen, weights)])
        st.session_state["texture:jobs"] = [render_id]
    except NSTError as exc:
        st.error(md(exc), icon=":material/error:")

if st.session_state.get("texture:jobs"):
    with renders_slot:
        st.subheader("Render")
        job_panel("texture:jobs")
        st.divider()
