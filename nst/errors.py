"""The engine's error types.

Every error a user can cause (a bad file, a bad parameter, missing weights)
is an :class:`NSTError` whose message is one readable sentence, so that the
CLI and the app can show it as it is, without a traceback.
"""

from __future__ import annotations


class NSTError(Exception):
    """Base class for errors that are meant to be shown to the user."""


class ImageError(NSTError, ValueError):
    """An image could not be read, or is unusable (too small, too large, not an image)."""


class WeightsError(NSTError):
    """The VGG19 weights are missing, corrupt or of the wrong shape."""


class ParameterError(NSTError, ValueError):
    """A setting is out of range or of the wrong kind."""


class ResumeError(ParameterError):
    """A render's resume point (a stored checkpoint's scale and image) does not fit the render's plan."""
