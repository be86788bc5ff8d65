"""Where the app keeps its files, and the environment variables that move them.

=====================  ===================================================
``NST_DATA_DIR``       the data directory (default: ``$XDG_DATA_HOME/nst-gallery``,
                       i.e. ``~/.local/share/nst-gallery``)
``NST_DATABASE_URL``   the style library's database (default: SQLite in the data dir)
``NST_VGG19_WEIGHTS``  a VGG19 weights file to use (``.h5`` or the quantized ``.bin``)
``NST_PLUGIN_PATH``    extra plugin folders, separated by ``os.pathsep``
=====================  ===================================================
"""

from __future__ import annotations

import os
from pathlib import Path

from . import files
from .errors import NSTError

APP_DIR_NAME = "nst-gallery"


def data_dir() -> Path:
    """The folder for the database, renders and other state (created on demand, private: 0700)."""
    explicit = os.environ.get("NST_DATA_DIR")
    if explicit:
        path = Path(explicit).expanduser()
    else:
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        path = Path(base).expanduser() / APP_DIR_NAME
    try:
        files.private_dir(path)  # 0700: other users of this machine see none of its photos and queue
    except FileExistsError:
        raise NSTError(f"The data directory {path} is a file, not a folder (NST_DATA_DIR).") from None
    except OSError as exc:
        raise NSTError(f"Cannot create the data directory {path} ({exc.strerror or exc}); set NST_DATA_DIR "
                       f"to a folder you can write.") from None
    return path
