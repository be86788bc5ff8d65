"""Where a plugin came from, as the pages say it: built in, a file added to ``plugins/``, a folder of
``NST_PLUGIN_PATH``, an installed package. Plain functions over the registry (no Streamlit)."""

from __future__ import annotations

from nst.registry import ENV_VAR

#: A plugin's origin (:attr:`nst.registry.PluginInfo.origin`) as the pages name it.
ORIGINS = {"builtin": "built in", "plugins/": "added to plugins/", "folder": f"from {ENV_VAR}",
           "entry point": "installed package"}


def origin_label(origin: str) -> str:
    return ORIGINS.get(origin, origin)


def plugin_origin(registry, plugin_id: str | None) -> str | None:
    """How the page names the origin of the plugin ``plugin_id``, or None when it is not loaded."""
    info = next((p for p in registry.plugins if p.id == plugin_id), None)
    return None if info is None else origin_label(info.origin)


def filter_origin(registry, filter_id: str) -> str | None:
    """``plugin id, origin`` of the plugin that provides the filter ``filter_id`` ("palette, added to plugins/"),
    or None when no loaded plugin lists it."""
    info = next((p for p in registry.plugins if filter_id in p.filters), None)
    return None if info is None else f"{info.id}, {origin_label(info.origin)}"
