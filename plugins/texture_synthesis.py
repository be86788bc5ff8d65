"""Built-in filter: texture synthesis, growing a new image with the statistics of the style(s), from noise.

The texture has any width and height; by default it is a seamless tile (it
repeats without an edge), learnt from each style image (or a crop box of it) at
the painting's own stroke size. See :meth:`nst.engine.Engine.texture`. The
filter is made by :func:`nst.builtin_filters.builtin_filter` (the same class as
the style transfer): its presets are the preset table's (:mod:`nst.presets`).
"""

from nst.builtin_filters import builtin_filter

FILTERS = [builtin_filter("texture")]
