"""Stylize: photos + saved styles + a filter -> paintings, rendered in the background with live progress."""

from __future__ import annotations

import streamlit as st

from nst import images
from nst.errors import NSTError
from ui import services
from ui.job_panel import download_all, job_panel
from ui.style_choice import by_recent_use
from ui.text import md
from ui.widgets import (blend_weights, filter_label, param_widgets, preset_picker, style_picker,
                        styles_and_filters, thumbnails_row)

PHOTO_TYPES = ["jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff"]

st.title("Stylize")
library = services.library()
registry = services.registry()
weights_ok, weights_message = services.weights_status()

styles, filters = styles_and_filters(
    library, registry, content=True, preferred="style_transfer",
    no_styles="There are no styles yet. Add a painting first.",
    no_filters="No filter that takes a photo is loaded; see the Plugins page.")

renders_slot = st.container()  # the renders, above the form, once there are any
inputs_col, settings_col = st.columns([1, 1], gap="large")
with inputs_col:
    st.subheader("1 · Photos")
    uploads = st.file_uploader("Upload one or more photos", type=PHOTO_TYPES, accept_multiple_files=True,
                               key="stylize:uploads")
    recent = library.recent_content_images(limit=8)
    picked_recent = []
    if recent:
        with st.expander(f"…or reuse a recent photo ({len(recent)})"):
            grid = st.grid(4, gap="small")
            for record in recent:
                with grid.cell():
                    st.image(library.thumbnail_bytes(record.id), width="stretch")
                    if st.checkbox(f"{record.width}x{record.height}", key=f"stylize:recent:{record.id}"):
                        picked_recent.append(record)

    st.subheader("2 · Styles")
    usage = library.style_usage()
    styles = by_recent_use(styles, usage)  # in use first; paintings before generated patterns
    chosen = style_picker(styles, "stylize:styles", default_ids=[styles[0].id],
                          chosen_ids=st.session_state.pop("stylize:preselect", None))
    thumbnails_row(library, chosen)
    weights = blend_weights(chosen, "stylize:blend")

with settings_col:
    st.subheader("3 · Filter")
    flt = st.selectbox("Filter", filters, format_func=filter_label(filters), key="stylize:filter",
                       help="Any loaded plugin that paints a photo")
    st.caption(md(flt.description))
    prefix = f"stylize:{flt.id}"
    preset_picker(flt, prefix)
    values = param_widgets(flt, prefix)
    if flt.needs.vgg and not weights_ok:
        st.error(weights_message, icon=":material/error:")
    photos_count = len(uploads or []) + len(picked_recent)
    run = st.button(f"Paint {photos_count} photo{'s' if photos_count != 1 else ''}" if photos_count else "Paint",
                    type="primary", icon=":material/brush:", width="stretch",
                    disabled=(flt.needs.vgg and not weights_ok) or not photos_count or len(chosen) < flt.needs.min_styles)
    if not photos_count:
        st.caption("Upload a photo (or pick a recent one) to start.")

if run:
    farm = services.farm()
    photos: list[tuple[str, bytes]] = [(f.name, f.getvalue()) for f in uploads or []]
    photos += [(f"recent photo {r.width}x{r.height}", library.image_bytes(r.id)) for r in picked_recent]
    try:
        # each photo read and decoded once, here, on its way into the library; one bad upload queues nothing
        prepared = [farm.prepare_photo(data, name) for name, data in photos]
        ids, originals = [], {}
        for photo in prepared:
            render_id = farm.submit(flt.id, values, photo, [(s.id, w) for s, w in zip(chosen, weights)])
            ids.append(render_id)
            originals[render_id] = images.encode(images.thumbnail(photo.picture, 720), "JPEG")
        st.session_state["stylize:jobs"] = ids
        st.session_state["stylize:originals"] = originals
    except NSTError as exc:
        st.error(md(exc), icon=":material/error:")


if st.session_state.get("stylize:jobs"):
    with renders_slot:
        st.subheader("Renders")
        job_panel("stylize:jobs", st.session_state.get("stylize:originals"))
        download_all(st.session_state["stylize:jobs"], "stylize:all")
        st.divider()
