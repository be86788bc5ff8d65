"""The style library: styles, their images, the Gram cache and the render history, in one database.

Open it with :func:`open_library` (SQLite in the data directory by default,
or ``NST_DATABASE_URL``); everything goes through the returned
:class:`~db.library.Library`, a facade over small repositories (styles,
images, renders, leases) that share one unit of work.
:class:`~db.gram_store.GramStore` gives the engine a persistent style-target
cache on the same database.
"""

from .library import open_library
from .errors import DuplicateStyleError, LibraryError, PackError, RenderNotFoundError, StyleNotFoundError
from .gram_store import GramStore
from .library import Library
from .records import ImageRecord, LibraryStats, RenderRecord, RenderStyleRecord, StyleRecord

__all__ = [
    "open_library", "Library", "GramStore",
    "StyleRecord", "RenderRecord", "RenderStyleRecord", "ImageRecord", "LibraryStats",
    "LibraryError", "DuplicateStyleError", "StyleNotFoundError", "RenderNotFoundError", "PackError",
]
