"""Which styles to offer first: the ones in use, then the user's own, then paintings before generated patterns.

Plain functions over library records (no Streamlit), shared by the gallery and the pickers.
"""

from __future__ import annotations

from typing import Mapping, Sequence

#: Plugins tag generated patterns (stripes, noise) with this; they never come before a painting.
GENERATED_TAG = "generated"


def _recency(style, usage: Mapping) -> float | None:
    """When the user last chose this style: its latest render, or when they added it themselves."""
    used = usage.get(style.id)
    if used is not None and used.last_used_at is not None:  # None: a stored date that was not a date
        return used.last_used_at.timestamp()
    if style.source == "upload" and style.created_at is not None:
        return style.created_at.timestamp()
    return None


def by_recent_use(styles: Sequence, usage: Mapping) -> list:
    """Most recently used (or added by the user) first; then the rest, paintings before generated patterns,
    by name."""
    def key(style):
        when = _recency(style, usage)
        return (when is None, -(when or 0.0), GENERATED_TAG in style.tags, style.name.casefold())

    return sorted(styles, key=key)

