"""One style: the full image, editable metadata, its Gram fingerprint and feature maps; delete."""

from __future__ import annotations

import streamlit as st

from db.ids import parse_id
from nst.errors import NSTError
from ui import services
from ui.origins import plugin_origin
from ui.pages import GALLERY, STYLIZE, TEXTURE
from ui.text import md

library = services.library()
asked = st.session_state.get("style:id") or st.query_params.get("id")  # a link's ?id= is anything typed
style = None
if asked is not None:
    if parse_id(asked) is None:
        st.error(f"“{md(str(asked)[:40])}” is not a style number.", icon=":material/error:")
    else:
        try:
            style = library.get_style(parse_id(asked))
        except NSTError as exc:
            st.error(md(exc), icon=":material/error:")
if style is None:
    st.title("Style")
    st.info("Choose a style in the gallery to see it here.", icon=":material/photo_library:")
    st.page_link(GALLERY, label="Back to the gallery", icon=":material/arrow_back:")
    st.stop()


def _source(style) -> str:
    """Where the style came from: uploaded, or a plugin and where that plugin came from ("added to plugins/")."""
    if not style.plugin_id:
        return "uploaded"
    origin = plugin_origin(services.registry(), style.plugin_id)
    return f"from plugin {md(style.plugin_id)}" + (f" ({md(origin)})" if origin else "")


st.page_link(GALLERY, label="Gallery", icon=":material/arrow_back:")
st.title(md(style.name))
st.caption(" · ".join(filter(None, [md(style.artist) if style.artist else None, md(style.year) if style.year else None,
                                     f"{style.width}x{style.height} {style.format}",
                                     _source(style)])))

picture_col, info_col = st.columns([3, 2], gap="large")
with picture_col:
    st.image(library.image_bytes(style.image_id), width="stretch")
    if style.credit:
        st.caption(f"**Source:** {md(style.credit)}")
    used = library.style_usage().get(style.id)
    result_id = used.result_image_id if used is not None and used.result_image_id is not None else style.sample_image_id
    if result_id is not None:
        st.image(library.image_bytes(result_id), width="stretch",
                 caption="Your latest render with this style" if result_id != style.sample_image_id
                 else "A sample made with this style")
with info_col:
    with st.form(f"edit:{style.id}", border=True):
        st.markdown("**Details**")
        name = st.text_input("Name", style.name)
        artist_col, year_col = st.columns([3, 1])
        with artist_col:
            artist = st.text_input("Artist", style.artist or "")
        with year_col:
            year = st.text_input("Year", style.year or "", placeholder="1889")
        tags = st.text_input("Tags", ", ".join(style.tags), help="Separated by commas")
        description = st.text_area("Description", style.description or "", height=100)
        credit = st.text_input("Source and licence", style.credit or "",
                               help="Where the image came from, and the terms it may be used under")
        if st.form_submit_button("Save changes", type="primary", icon=":material/save:"):
            try:
                if name.strip() != style.name:
                    library.rename_style(style.id, name)
                library.update_style(style.id, artist=artist.strip() or None, description=description.strip() or None,
                                     year=year.strip() or None, credit=credit.strip() or None)
                library.set_tags(style.id, tags)
                st.toast("Saved.", icon=":material/check:")
                st.rerun()
            except NSTError as exc:
                st.error(md(exc))
    use_col, texture_col = st.columns(2)
    with use_col:
        if st.button("Paint a photo", type="primary", icon=":material/brush:", width="stretch"):
            st.session_state["stylize:preselect"] = [style.id]
            st.switch_page(STYLIZE)
    with texture_col:
        if st.button("Make a texture", icon=":material/texture:", width="stretch"):
            st.session_state["texture:preselect"] = [style.id]
            st.switch_page(TEXTURE)
    st.download_button("Download the original", library.image_bytes(style.image_id),
                       file_name=f"{style.name}.{style.format.lower().replace('jpeg', 'jpg')}",
                       icon=":material/download:", width="stretch")

    # The dialog stays open across full reruns of the page (not only its own): a flag, cleared on an answer.
    @st.dialog("Delete this style?", on_dismiss=lambda: st.session_state.pop("style:delete", None))
    def confirm_delete() -> None:
        st.write(f"**{md(style.name)}** will be removed from the library with its cached Gram matrices. "
                 "Renders made with it stay in the history.")
        yes, no = st.columns(2)
        with yes:
            if st.button("Delete", type="primary", width="stretch"):
                library.delete_style(style.id)
                st.session_state.pop("style:id", None)
                st.session_state.pop("style:delete", None)
                st.switch_page(GALLERY)
        with no:
            if st.button("Keep it", width="stretch"):
                st.session_state.pop("style:delete", None)
                st.rerun()

    if st.button("Delete…", icon=":material/delete:", width="stretch"):
        st.session_state["style:delete"] = style.id
    if st.session_state.get("style:delete") == style.id:
        confirm_delete()

st.divider()
fingerprint_tab, features_tab = st.tabs(["Style fingerprint", "Feature maps"])
ok, weights_message = services.weights_status()


@st.cache_data(max_entries=64, show_spinner="Computing the fingerprint…")
def _fingerprint(style_id: int, digest: str) -> dict:
    from nst import insight
    from nst.targets import StyleInput

    engine = services.engine_provider()()
    values = insight.fingerprint(engine, StyleInput(library.style_image(style_id), digest))
    return {layer: array.tolist() for layer, array in values.items()}


@st.cache_data(max_entries=64, show_spinner="Reading the feature map…")
def _feature_map(style_id: int, digest: str, layer: str, channel: int):
    from nst import insight

    engine = services.engine_provider()()
    return insight.feature_map(engine, library.style_image(style_id), layer, channel)


with fingerprint_tab:
    if not ok:
        st.error(weights_message, icon=":material/error:")
    else:
        st.caption("For each VGG19 layer, how strongly each channel correlates with all the others "
                   "(the rows of the Gram matrix, summed and sorted). Two paintings with similar curves "
                   "share their textures at that scale.")
        fingerprint = _fingerprint(style.id, style.pixel_digest)
        grid = st.grid(5, gap="small", border=True)
        for layer, values in fingerprint.items():
            with grid.cell():
                st.markdown(f"**{layer}**")
                st.bar_chart(values, height=160, x_label="channel (sorted)", y_label="", color="#3b6ea8")

with features_tab:
    if not ok:
        st.error(weights_message, icon=":material/error:")
    else:
        from nst.features import CHANNELS
        from nst.settings import STYLE_LAYERS

        layer_col, channel_col = st.columns(2)
        with layer_col:
            layer = st.selectbox("Layer", STYLE_LAYERS, key="features:layer")
        with channel_col:
            channel = st.number_input("Channel", 0, CHANNELS[layer] - 1, 0, key=f"features:channel:{layer}")
        fmap = _feature_map(style.id, style.pixel_digest, layer, int(channel))
        left, right = st.columns(2)
        with left:
            st.image(library.thumbnail_bytes(style.image_id), caption="Style", width="stretch")
        with right:
            st.image(fmap, caption=f"{layer}, channel {int(channel)} (brighter = stronger)", width="stretch",
                     clamp=True)
