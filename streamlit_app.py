"""The neural-style gallery: ``streamlit run streamlit_app.py``.

This file only routes; each page is a module in ``ui/``.
"""

import streamlit as st

from nst.errors import NSTError
from ui import pages, services
from ui.sidebar import fold_sidebar_after_links
from ui.text import md

# An emoji icon: the browser draws it from a data: URL (a :material/...: icon is fetched from fonts.gstatic.com).
st.set_page_config(page_title="Neural-style gallery", page_icon="🎨", layout="wide")

try:
    services.library()
    services.render_threads()  # this process's render threads (NST_APP_WORKERS), started once
except NSTError as exc:  # e.g. NST_DATABASE_URL points at a server that is down
    st.error(f"The app cannot start: {md(exc)}", icon=":material/error:")
    st.stop()

navigation = st.navigation({
    "Library": [
        st.Page(pages.GALLERY, title="Gallery", icon=":material/photo_library:", default=True),
        st.Page(pages.STYLE, title="Style", icon=":material/image:", visibility="hidden"),
        st.Page(pages.ADD_STYLE, title="Add style", icon=":material/add_photo_alternate:"),
    ],
    "Create": [
        st.Page(pages.STYLIZE, title="Stylize", icon=":material/brush:"),
        st.Page(pages.TEXTURE, title="Texture", icon=":material/texture:"),
        st.Page(pages.HISTORY, title="History", icon=":material/history:"),
    ],
    "Settings": [
        st.Page(pages.PLUGINS, title="Plugins", icon=":material/extension:"),
    ],
})
fold_sidebar_after_links()  # before the page: a page may stop early (an empty library)
navigation.run()
