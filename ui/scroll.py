"""Bring a part of the page into view: after Paint, the renders' progress, wherever the button was.

The renders are drawn above the form; on a phone the Paint button is far below them (about 1,300 px
on a 390x844 screen), so the progress would appear off screen. A few lines of script in the page
itself (``st.html`` runs them; they load nothing and make no request) scroll the heading with
``anchor`` into view once, below Streamlit's header bar.
"""

from __future__ import annotations

import json

import streamlit as st


def scroll_to(anchor: str, nonce: int) -> None:
    """Scroll the element whose id is ``anchor`` into view, once; ``nonce`` (e.g. the new render's id)
    makes the script new, so it runs again for the next click rather than being kept as it was."""
    target = json.dumps(anchor)
    st.html(f"""<script data-nonce="{int(nonce)}">
(function () {{
  let tries = 0;
  function go() {{
    const element = document.getElementById({target});
    if (!element) {{ if (tries++ < 120) requestAnimationFrame(go); return; }}
    element.style.scrollMarginTop = "4.5rem";
    element.scrollIntoView({{block: "start", behavior: "instant"}});
  }}
  go();
}})();
</script>""", width="content", unsafe_allow_javascript=True)
