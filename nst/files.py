"""Writing files safely: never through a link, never half-written, private when asked.

Every file the app writes goes through :func:`write_atomic`: the bytes go to a
temporary file created exclusively beside the target (``O_CREAT | O_EXCL |
O_NOFOLLOW``, a random name, so a link planted at a predictable ``.NAME.part``
path is never followed), then it is renamed over the target (a rename
replaces a link at the target itself, it never writes through it). A failure
leaves the target as it was and removes the temporary file.

:func:`private_dir` makes a folder only its owner can enter (0700); files in
the data directory are written 0600, and :func:`private_file` creates a file
0600 before a library (SQLite) opens it, so that it never exists with wider
permissions, even for a moment.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path
from typing import BinaryIO, Callable

from .errors import NSTError

#: Permissions of the data directory and of the files in it.
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
#: Permissions asked for an ordinary file (the umask takes its bits away, as for any new file).
PUBLIC_FILE_MODE = 0o666
#: Flags of a file created exclusively: never an existing file, never through a link.
_CREATE = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
           | getattr(os, "O_BINARY", 0))

#: Flags of a file opened to be read: opening a FIFO or a terminal never blocks nor takes it over.
_READ = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
         | getattr(os, "O_BINARY", 0))


def read_regular(path: Path | str, limit: int) -> tuple[bytes, os.stat_result]:
    """The bytes of the regular file at ``path`` (a link to one is followed) and its status, both from one
    open file, so what was checked is what is read. A FIFO, a device or a folder is refused without
    blocking, and so is a file of more than ``limit`` bytes: ``OSError`` saying which."""
    fd = os.open(path, _READ)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file (a pipe or a device?)"
            raise OSError(errno.EINVAL, f"it is {kind}")
        if info.st_size > limit:
            raise OSError(errno.EFBIG, f"it is larger than {limit:,} bytes")
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:  # it grew since
        raise OSError(errno.EFBIG, f"it is larger than {limit:,} bytes")
    return data, info


def _create_exclusive(folder: Path, name: str, mode: int) -> tuple[int, Path]:
    """A new file with a random name derived from ``name`` in ``folder``, opened for writing."""
    for _ in range(100):
        tmp = folder / f".{name[:40]}.{secrets.token_hex(6)}.part"  # short enough for any name of 255 bytes
        try:
            return os.open(tmp, _CREATE, mode), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {folder / name}")


def write_atomic(path: Path | str, data: bytes | Callable[[BinaryIO], None], *, private: bool = False) -> Path:
    """Write ``data`` (bytes, or a function writing to a binary file) to ``path`` atomically.

    ``private`` makes the file 0600; otherwise it gets the usual permissions (0666 less the umask),
    as a file the user asked for (``-o painting.png``) should. Raises ``OSError`` on failure, with
    the target untouched.
    """
    path = Path(path)
    # The kernel applies the umask at creation: no process-wide umask change (another thread could
    # create a file while it was 0).
    fd, tmp = _create_exclusive(path.parent, path.name, PRIVATE_FILE_MODE if private else PUBLIC_FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            if private:
                os.fchmod(handle.fileno(), PRIVATE_FILE_MODE)  # exactly 0600, whatever the umask
            if callable(data):
                data(handle)
            else:
                handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)
    return path


def _sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (best effort: not every system can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def private_file(path: Path | str) -> Path:
    """Create ``path`` empty and 0600 if nothing is there yet (not through a link); an existing file is
    left as it is, and a link there is refused (:class:`NSTError`), since the library that opens the file
    by name would follow it. For a file another library opens by name (an SQLite database: its ``-wal``
    and ``-shm`` files get the database file's permissions). Other errors are left for it to report."""
    path = Path(path)
    try:
        fd = os.open(path, _CREATE, PRIVATE_FILE_MODE)
    except FileExistsError:
        if path.is_symlink():
            raise NSTError(f"{path} is a link (to {os.readlink(path)}); it is not followed. Remove the link, "
                           f"or name the real file (NST_DATABASE_URL, NST_QUEUE_URL).") from None
        return path
    except OSError:  # the folder cannot be written (a read-only disk...): the opener says why
        return path
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
    finally:
        os.close(fd)
    return path


def private_dir(path: Path) -> Path:
    """Create ``path`` (and its parents) if needed and make it 0700. A folder another user owns is refused
    (:class:`NSTError`: its owner could read every file and plant links or a queue in it), and so is one
    that others can still write after that (a read-only disk)."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    info = path.stat()
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise NSTError(f"The data directory {path} belongs to another user (uid {info.st_uid}), who could read "
                       f"and replace its files; set NST_DATA_DIR to a folder of your own.")
    if info.st_mode & 0o777 != PRIVATE_DIR_MODE:
        try:
            os.chmod(path, PRIVATE_DIR_MODE)
        except OSError:  # a read-only disk: browsing still works, if no one else can write there
            pass
        if path.stat().st_mode & 0o022:
            raise NSTError(f"The data directory {path} can be written by other users and could not be made "
                           f"private (chmod 700 {path}), or set NST_DATA_DIR to a folder of your own.")
    return path
