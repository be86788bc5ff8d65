"""The app's assembly, written once: open the style library, discover the plugins, add the styles they ship to
the library, and build the VGG19 engine (with the library's Gram store) when it is first needed.

The app (:mod:`ui.services`), the render workers (:mod:`studio.consumer`), the render farm's commands
(:mod:`studio.farm_cli`) and the CLI's own renders (:mod:`studio.cli_support`) all start from here:
:func:`assemble` does it all; its steps (:func:`discover_plugins`, :func:`open_library`,
:func:`sync_plugin_styles`, :func:`make_engine`, :func:`engine_provider`) are for the callers that hold
one part already, or open the library only when asked (a CLI render from files needs none).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from nst.plugin import lazy

if TYPE_CHECKING:
    from db import Library
    from nst.engine import Engine
    from nst.registry import Registry

    from .farm import Farm


def discover_plugins() -> "Registry":
    """Every plugin (the built-in folder, ``NST_PLUGIN_PATH``, the ``nst.plugins`` entry points), each probed
    in a child process first."""
    from nst.registry import Registry

    return Registry.discover()


def sync_plugin_styles(registry: "Registry", library: "Library") -> list[str]:
    """Add the styles plugins ship (the starter collection, ...) to the library; idempotent. The problems met."""
    return registry.sync_styles(library)


def open_library(registry: "Registry | None" = None, url: str | None = None) -> "Library":
    """The style library (``NST_DATABASE_URL``, or SQLite in the data directory), migrated to the newest
    schema, with the styles ``registry``'s plugins ship added; the instant filter's style vectors are kept in it."""
    from db import open_library as open_db

    library = open_db(url)
    keep_style_vectors(library)
    if registry is not None:
        sync_plugin_styles(registry, library)
    return library


def make_engine(library: "Library | None" = None) -> "Engine":
    """The VGG19 engine (loads TensorFlow), with the library's persistent Gram store when there is a library."""
    from nst.engine import Engine

    if library is None:
        return Engine()
    from db.gram_store import GramStore

    return Engine(store=GramStore(library))


def keep_style_vectors(library: "Library") -> None:
    """The instant filter's style vectors are kept in ``library`` beside the Gram matrices, so a process's
    instant renders (a worker's, the CLI's) analyse a style once for every later process too."""
    from db.gram_store import GramStore
    from nst import instant

    instant.VECTORS.attach(GramStore(library))


def engine_provider(library: "Library | None") -> Callable[[], "Engine"]:
    """A function that builds the engine (:func:`make_engine`) on its first call and returns it ever after."""
    return lazy(lambda: make_engine(library))


@dataclass
class Assembly:
    """What a process that runs or submits renders holds: the library, the plugins, the engine (built on
    first use)."""

    library: Any
    registry: Any
    engine: Callable[[], Any]

    def reload_plugins(self) -> "Registry":
        """Discover the plugins again and add their styles; the new registry is :attr:`registry` from now on."""
        fresh = discover_plugins()
        sync_plugin_styles(fresh, self.library)
        self.registry = fresh
        return fresh

    def farm(self, queue_url: str | None = None) -> "Farm":
        """Submit, watch and cancel renders on the render queue (``NST_QUEUE_URL``, or ``queue_url``)."""
        from .farm import Farm
        from .queue import RenderQueue

        return Farm(self.library, self.registry, RenderQueue(queue_url))

    def close(self) -> None:
        self.library.close()


def assemble(*, sync_styles: bool = True, url: str | None = None) -> Assembly:
    """Open the library, discover the plugins, add their styles to the library (unless ``sync_styles`` is
    false: a command that only reads the render history), and make the engine's provider."""
    registry = discover_plugins()
    library = open_library(registry if sync_styles else None, url)
    return Assembly(library, registry, engine_provider(library))
