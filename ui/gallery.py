"""Gallery: every saved style as a card, with search and tag filters."""

from __future__ import annotations

import streamlit as st

from ui import services
from ui.pages import ADD_STYLE, STYLE, STYLIZE
from ui.text import md

st.title("Gallery")
library = services.library()
all_styles = library.list_styles()

if not all_styles:
    st.info("Your library is empty. Add a painting or a texture you love, then paint your photos with it.",
            icon=":material/palette:")
    st.page_link(ADD_STYLE, label="Add your first style", icon=":material/add_photo_alternate:")
    st.stop()

if all(style.plugin_id for style in all_styles):
    st.info("These styles come with the plugins. Add a painting you love to paint your photos with it.",
            icon=":material/palette:")
    st.page_link(ADD_STYLE, label="Add a painting", icon=":material/add_photo_alternate:")

search_col, tag_col = st.columns([2, 3], vertical_alignment="bottom")
with search_col:
    query = st.text_input("Search", placeholder="Name, artist or tag", key="gallery:search",
                          label_visibility="collapsed")
with tag_col:
    tags = st.pills("Tags", library.tags(), selection_mode="multi", key="gallery:tags",
                    label_visibility="collapsed")

styles = library.list_styles(query=query or None)
if tags:
    styles = [s for s in styles if set(tags) <= set(s.tags)]

st.caption(f"{len(styles)} of {len(all_styles)} styles" if len(styles) != len(all_styles)
           else f"{len(all_styles)} styles")
if not styles:
    st.warning("No style matches. Clear the search or the tags to see them all.")

grid = st.grid(4, gap="medium", border=True)
for style in styles:
    with grid.cell():
        st.image(library.thumbnail_bytes(style.image_id), width="stretch")
        st.markdown(f"**{md(style.name)}**")
        st.caption(md(style.artist) if style.artist else "Unknown artist")
        if style.tags:
            st.markdown(" ".join(f":gray-badge[{md(tag)}]" for tag in style.tags[:4]))
        open_col, use_col = st.columns(2)
        with open_col:
            if st.button("Open", key=f"open:{style.id}", width="stretch"):
                st.session_state["style:id"] = style.id
                st.switch_page(STYLE)
        with use_col:
            if st.button("Use", key=f"use:{style.id}", type="primary", width="stretch",
                         help="Paint a photo in this style"):
                st.session_state["stylize:preselect"] = [style.id]
                st.switch_page(STYLIZE)

st.divider()
st.page_link(ADD_STYLE, label="Add a style", icon=":material/add_photo_alternate:")
