"""The style library's error types.

Each is an :class:`nst.errors.NSTError`, so the CLI and the app show its
message (one sentence) as it is. Whenever one is raised, the library is left
exactly as it was: every user action is one transaction.
"""

from __future__ import annotations

from nst.errors import NSTError


class LibraryError(NSTError):
    """Something the style library cannot do (bad name, bad state, unreachable database...)."""


class DuplicateStyleError(LibraryError):
    """A style with that name (ignoring case) already exists."""


class StyleNotFoundError(LibraryError, LookupError):
    """No style has that id or name."""


class RenderNotFoundError(LibraryError, LookupError):
    """No render has that id."""


class PackError(LibraryError):
    """A style pack is unreadable, incomplete or inconsistent."""
