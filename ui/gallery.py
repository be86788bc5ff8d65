"""Gallery: every saved style as a card (the painting, and what it does to a photo), sorted, searched, filtered;
"Try it on my photo" shows the user's photo in every style (:mod:`ui.try_on`)."""

from __future__ import annotations

import streamlit as st

from ui import services, try_on
from ui.cards import card_picture
from ui.pages import ADD_STYLE, STYLE, STYLIZE
from ui.style_choice import by_recent_use
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
    st.info("These styles come with the app. Press **Use** on one to paint a photo with it, or add a painting "
            "you love.", icon=":material/palette:")
    st.page_link(ADD_STYLE, label="Add a painting", icon=":material/add_photo_alternate:")

photo = try_on.chooser(library)  # your photo on every card
try_on.warm_vectors(all_styles)  # ready before a photo is chosen (once per style: then kept in the library)

#: Short labels: the four fit in a phone's width (390 px), where "Recently added" pushed "Artist" off the edge.
SORTS = {"used": "Last used", "added": "Newest", "name": "Name", "artist": "Artist"}

search_col, sort_col = st.columns([2, 2], vertical_alignment="bottom")
with search_col:
    query = st.text_input("Search", placeholder="Name, artist or tag", key="gallery:search",
                          label_visibility="collapsed")
with sort_col:
    sort = st.segmented_control("Sort by", list(SORTS), format_func=SORTS.get, key="gallery:sort", default="used",
                                required=True, label_visibility="collapsed")
# One line on any screen: as chips, the tags took five rows of a phone and pushed the first card below the fold.
tags = st.multiselect("Tags", library.tags(), key="gallery:tags", placeholder="Filter by tag",
                      label_visibility="collapsed")

usage = library.style_usage()
if sort == "used":
    styles = by_recent_use(library.list_styles(query=query or None), usage)
else:
    styles = library.list_styles(query=query or None, sort=sort)
if tags:
    styles = [s for s in styles if set(tags) <= set(s.tags)]

st.caption(f"{len(styles)} of {len(all_styles)} styles" if len(styles) != len(all_styles)
           else f"{len(all_styles)} styles")
if not styles:
    st.warning("No style matches. Clear the search or the tags to see them all.")

grid = st.grid(4, gap="medium", border=True)
for style in styles:
    used = usage.get(style.id)
    result_id = used.result_image_id if used is not None and used.result_image_id is not None else style.sample_image_id
    with grid.cell():
        mine = used is not None and used.result_image_id is not None
        tried = try_on.card(style, photo) if photo is not None else None
        if tried is not None:
            st.image(tried, width="stretch", caption="Your photo in this style")
        else:
            st.image(card_picture(style.image_id, result_id), width="stretch",
                     caption=None if result_id is None else
                     "The painting · your latest render" if mine else "The painting · a sample")
        st.markdown(f"**{md(style.name)}**")
        st.caption(" · ".join(filter(None, [md(style.artist) if style.artist else "Unknown artist",
                                            md(style.year) if style.year else None])))
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
