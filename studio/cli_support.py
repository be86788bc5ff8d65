"""What the commands share: the progress bar, Ctrl-C handling, reading inputs, checking outputs."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Sequence

from nst import images
from nst.errors import ImageError, NSTError
from nst.params import Param

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class ProgressBar:
    """One self-rewriting line on stderr (a line per update when it is not a terminal)."""

    def __init__(self, stream=None, width: int = 24, quiet: bool = False):
        self.stream = stream or sys.stderr
        self.width = width
        self.quiet = quiet
        self.interactive = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last = 0.0

    def __call__(self, progress) -> None:
        if self.quiet:
            return
        now = time.perf_counter()
        final = progress.step >= progress.total
        if not final and now - self._last < (0.1 if self.interactive else 2.0):
            return
        self._last = now
        filled = int(round(self.width * progress.fraction))
        bar = "#" * filled + "-" * (self.width - filled)
        eta = f" eta {progress.eta:4.0f}s" if progress.eta is not None else ""
        w, h = progress.size
        line = (f"[{bar}] {progress.step:4d}/{progress.total} scale {progress.scale + 1}/{progress.scales} "
                f"{w}x{h} loss {progress.losses.get('total', float('nan')):.4g} {progress.elapsed:5.1f}s{eta}")
        if self.interactive:
            self.stream.write("\r" + line.ljust(100))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.interactive and not self.quiet:
            self.stream.write("\n")
            self.stream.flush()


def add_param_options(parser: argparse.ArgumentParser, params: Sequence[Param]) -> None:
    """One ``--option`` per declared parameter; values are checked later by the declarations."""
    for p in params:
        if p.kind == "bool":
            parser.add_argument(p.option, dest=p.name, action=argparse.BooleanOptionalAction, default=None,
                                help=p.help)
        else:
            metavar = ("{" + ",".join(map(str, p.choices)) + "}" if p.kind == "choice" else
                       "WxH" if p.kind == "size" else p.kind.upper())
            parser.add_argument(p.option, dest=p.name, default=None, metavar=metavar,
                                help=f"{p.help} ({p.bounds_text()}; preset default {p.default if p.default != '' else 'none'})")


def output_path(value: str) -> Path:
    """Where a result goes, checked before any work: a known suffix, an existing folder we can write in."""
    path = Path(value).expanduser()
    if value.endswith(("/", os.sep)) or path.is_dir():
        raise ImageError(f"Cannot write {value}: it is a folder; name a file such as {path / 'result.png'}.")
    images.format_for(path)  # refuses unknown suffixes before any work
    if not path.parent.exists():
        raise ImageError(f"Cannot write {path}: the folder {path.parent} does not exist.")
    try:
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".nst-write-test-"):
            pass
    except OSError as exc:
        raise ImageError(f"Cannot write in {path.parent} ({exc.strerror or exc}).") from None
    return path


def load_style(arg: str, library_opener):
    """A style given as a file path, or as the name of a style saved in the library."""
    path = Path(arg).expanduser()
    if path.exists():
        return images.load(path)
    library = library_opener()
    if library is not None:
        from db.errors import StyleNotFoundError

        for attempt in range(2):
            try:
                return library.style_image(arg)
            except StyleNotFoundError:
                if attempt == 0:  # perhaps a style a plugin ships, and the app never started here yet
                    sync_plugin_styles(library)
    raise ImageError(f"{arg}: no such file, and no saved style by that name.")


def sync_plugin_styles(library) -> None:
    """Add the styles plugins ship (the starter collection, ...) to the library, as the app does at start."""
    from nst.registry import Registry

    Registry.discover().sync_styles(library)


class LibraryOpener:
    """Opens the style library on first use; a library that cannot open is reported once and skipped."""

    def __init__(self, stream):
        self.stream = stream
        self._library = None
        self._tried = False

    def __call__(self):
        if not self._tried:
            self._tried = True
            try:
                from db import open_library

                self._library = open_library()
            except Exception as exc:  # noqa: BLE001 - the library is optional for file-based renders
                self.stream.write(f"note: the style library is unavailable ({exc}); continuing without it.\n")
        return self._library


def make_engine(open_library):
    """The engine, with the style library's persistent Gram cache when the library opens."""
    from nst.engine import Engine

    library = open_library()
    if library is None:
        return Engine()
    from db.gram_store import GramStore

    return Engine(store=GramStore(library))


@contextlib.contextmanager
def ctrl_c_cancels(cancel: threading.Event, stream,
                   message: str = "Stopping after this step; the best image so far will be saved. "
                                  "Ctrl-C again to abort."):
    """The first Ctrl-C asks the work to stop (it keeps its best image); a second one aborts."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)

    def on_interrupt(signum, frame):
        if cancel.is_set():
            signal.signal(signal.SIGINT, previous)
            raise KeyboardInterrupt
        cancel.set()
        stream.write(f"\n{message}\n")

    signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def parse_blend(text: str | None, count: int) -> list[float] | None:
    if not text:
        return None
    try:
        weights = [float(x) for x in text.split(",")]
    except ValueError:
        raise NSTError(f"--style-weights must be comma-separated numbers, got {text!r}.") from None
    if len(weights) != count:
        raise NSTError(f"--style-weights has {len(weights)} values for {count} style{'s' if count != 1 else ''}.")
    if not all(math.isfinite(w) and w >= 0 for w in weights):
        raise NSTError(f"--style-weights must be finite numbers of at least 0, got {text!r}.")
    if not any(w > 0 for w in weights):
        raise NSTError("--style-weights must not all be 0.")
    return weights
