"""User text inside Markdown: shown as itself, never as a link, an image, a badge or an emoji.

Streamlit renders Markdown (with its own directives, such as ``:red[...]`` and ``:smile:``) in
``st.markdown``, captions, titles, alerts, toasts and widget labels. A style's name, an artist, a tag,
a file name or an error message quoting one of them comes from users or packs, so every such string
goes through :func:`md` before it is placed in Markdown.
"""

from __future__ import annotations

import re

#: Every ASCII punctuation character may be backslash-escaped in CommonMark; these are the ones that
#: start Markdown, GFM autolinks (":", ".") or Streamlit's directives (":").
_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=^&\"'])")


def md(text: object) -> str:
    """``text`` escaped for Markdown, on one line (newlines become spaces)."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))
