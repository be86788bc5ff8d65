"""Built-in filter: style transfer (Gatys et al.), painting a photo in the style of saved paintings.

It goes through exactly the same registry path as any user plugin; the filter
itself is made by :func:`nst.builtin_filters.builtin_filter` (the same class as
the texture synthesis): its parameters are the engine's options, its presets the
preset table's (:mod:`nst.presets`).
"""

from nst.builtin_filters import builtin_filter

FILTERS = [builtin_filter("transfer")]
