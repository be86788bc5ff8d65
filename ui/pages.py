"""Where each page lives (for ``st.switch_page`` and ``st.page_link``)."""

GALLERY = "ui/gallery.py"
STYLE = "ui/style.py"
STYLIZE = "ui/stylize.py"
TEXTURE = "ui/texture.py"
ADD_STYLE = "ui/add_style.py"
HISTORY = "ui/history.py"
PLUGINS = "ui/plugins_page.py"
