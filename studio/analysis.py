"""Styles analysed ahead of use: the styles plugins ship get their targets for the default presets in the background.

A worker process (the app's render threads, or ``python -m nst worker``) runs
:func:`analyse_plugin_styles` once after start, when the engine is built. Each
filter in the plan works out what it needs (the built-in style transfer and
texture synthesis: the Gram targets at every scale of the preset) and the
engine's target cache keeps it, in memory and in the library's Gram store
(compactly: :mod:`db.gram_store`). So the first painting or texture with a
starter painting does not pay for the painting's analysis, and no process
computes a target twice: the next one finds them in the store.
"""

from __future__ import annotations

import logging
from typing import Callable, Iterable, Mapping

from nst import config
from nst.errors import NSTError
from nst.presets import DEFAULT, PREVIEWS
from nst.targets import StyleInput

log = logging.getLogger(__name__)

#: Plugins tag generated patterns (stripes, noise) with this: small pictures, measured in a moment when first
#: used, not analysed ahead (their targets would take a third of a new library's Gram store).
GENERATED = "generated"

#: (filter id, parameters) to prepare each plugin style for: the presets people start with (the default
#: preset and the previews, as the preset table names them). For textures, the previews: their one scale
#: measures the painting's strokes at their own size, the costliest measure (seconds for a 1024-px painting)
#: and the last scale of every texture preset; the default's coarser scales take a moment at its first use
#: (the live panel shows them measured), and storing them too would take a new library from 24 to 34 MB.
DEFAULT_PLAN: tuple[tuple[str, Mapping], ...] = (
    *(("style_transfer", {"preset": name}) for name in (DEFAULT, *sorted(PREVIEWS))),
    *(("texture_synthesis", {"preset": name}) for name in sorted(PREVIEWS)),
)


def default_plan() -> tuple[tuple[str, Mapping], ...]:
    """:data:`DEFAULT_PLAN`, or nothing when ``NST_STYLE_ANALYSIS=0``."""
    return DEFAULT_PLAN if config.value("NST_STYLE_ANALYSIS") else ()


def analyse_plugin_styles(library, registry, engine, plan: Iterable[tuple[str, Mapping]] = DEFAULT_PLAN,
                          stopping: Callable[[], bool] = lambda: False) -> int:
    """Prepare every style that came from a plugin (but generated patterns) for every ``(filter id, params)``
    in ``plan``; returns how many targets had to be computed (0 when an earlier process already did it).
    Stops early when ``stopping()`` turns true; a filter that is not loaded, or fails, is logged and skipped."""
    plan = list(plan)
    computed = engine.targets.computed
    for style in library.list_styles():
        if style.plugin_id is None or GENERATED in style.tags:
            continue
        if stopping():
            break
        try:
            inputs = [StyleInput(library.style_image(style.id), style.pixel_digest)]
        except NSTError as exc:  # deleted meanwhile, or its image is damaged
            log.info("Style %s not analysed: %s", style.id, exc)
            continue
        for filter_id, params in plan:
            if stopping():
                break
            try:
                registry.prepare(filter_id, engine, inputs, params)
            except NSTError as exc:
                log.info("Style %r not prepared for %s: %s", style.name, filter_id, exc)
    done = engine.targets.computed - computed
    log.info("Plugin styles analysed: %d targets computed", done)
    return done
