"""On a narrow screen (a phone, 390x844) the sidebar is drawn over the page; after one of its page links is
tapped it must fold away, or the page the user asked for stays hidden behind it. Streamlit folds it only
when the browser calls itself a mobile device, so a narrow window (a tablet, a phone asking for the desktop
site, a small browser window) kept it open. A few lines of script in the page (``st.html`` runs them; they
load nothing and make no request) press the sidebar's own fold button after a page link is clicked, on a
screen narrower than the width (Streamlit's 768 px) below which the sidebar covers the page.
"""

from __future__ import annotations

import streamlit as st

#: Below this width Streamlit draws the sidebar over the page (its theme's ``md`` breakpoint).
OVERLAY_BELOW_PX = 768

SCRIPT = """<script>
(function () {
  if (window.__foldSidebarAfterLink) return;  // once per browser tab: the listener outlives each page's run
  window.__foldSidebarAfterLink = true;
  const narrow = window.matchMedia("(max-width: %(below).2fpx)");
  document.addEventListener("click", function (event) {
    const link = event.target.closest && event.target.closest('[data-testid="stSidebarNav"] a');
    if (!link || !narrow.matches) return;
    let tries = 0;
    requestAnimationFrame(function fold() {  // after Streamlit has handled the click (on a phone it folds it)
      const sidebar = document.querySelector('[data-testid="stSidebar"]');
      if (!sidebar || sidebar.getAttribute("data-collapsed") === "true") return;
      const button = sidebar.querySelector('[data-testid="stSidebarCollapseButton"] button');
      if (button) { button.click(); return; }
      if (tries++ < 60) requestAnimationFrame(fold);
    });
  });
})();
</script>"""


#: The script's block is hidden, so that it leaves no gap above the page (a style-only ``st.html`` takes no room).
HIDDEN = ('<style>[data-testid="stLayoutWrapper"]:has(> .st-key-fold-sidebar-after-links), '
          '.st-key-fold-sidebar-after-links { display: none; }</style>')


def fold_sidebar_after_links() -> None:
    """Install the script (every page calls it: the first one run in a browser tab installs the listener)."""
    st.html(HIDDEN)
    with st.container(key="fold-sidebar-after-links"):
        st.html(SCRIPT % {"below": OVERLAY_BELOW_PX - 0.02}, width="content", unsafe_allow_javascript=True)
