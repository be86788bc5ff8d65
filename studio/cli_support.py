"""What the commands share: the progress bar, Ctrl-C handling, reading inputs, checking outputs."""

from __future__ import annotations

import argparse
import contextlib
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
from nst.params import Param, blend_weights

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class ProgressBar:
    """A render's progress on stderr: rich's live bar on a terminal (filled by the engine's cost-weighted
    fraction of the work; step of total, scale, size, loss, elapsed time and the engine's own estimate
    of the time left), a plain line every few seconds otherwise (a log, a pipe), and nothing when quiet."""

    def __init__(self, stream=None, quiet: bool = False):
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.interactive = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last = 0.0
        self._bar = None
        self._task = None

    def __call__(self, progress) -> None:
        if self.quiet:
            return
        if getattr(progress, "stage", ""):  # before the first step (loading the network, measuring the style)
            if self.interactive:  # shown on the live bar; a log gets the steps only, as before
                self._live().update(self._task, completed=0.0, total=1.0, step="", scale=progress.stage, loss="",
                                    eta="")
            return
        w, h = progress.size
        loss = f"{progress.losses.get('total', float('nan')):.4g}"
        eta = f"eta {progress.eta:.0f}s" if progress.eta is not None else ""
        scale = f"scale {progress.scale + 1}/{progress.scales} {w}x{h}"
        if self.interactive:
            # the bar fills by the engine's fraction of the work (weighted by each scale's cost), not by
            # steps, so the many cheap steps at the coarse scales do not run it ahead
            self._live().update(self._task, completed=float(progress.fraction or 0.0), total=1.0,
                                step=f"{progress.step}/{progress.total}", scale=scale, loss=f" loss {loss}", eta=eta)
            return
        now = time.perf_counter()
        if progress.step < progress.total and now - self._last < 2.0:
            return
        self._last = now
        self.stream.write(f"{progress.step:4d}/{progress.total} {scale} loss {loss} {progress.elapsed:5.1f}s"
                          f"{' ' + eta if eta else ''}\n")
        self.stream.flush()

    def _live(self):
        if self._bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(BarColumn(bar_width=24), TextColumn("{task.fields[step]}"),
                                 TextColumn("{task.fields[scale]}{task.fields[loss]}"), TimeElapsedColumn(),
                                 TextColumn("{task.fields[eta]}"), console=Console(file=self.stream),
                                 refresh_per_second=10)
            self._task = self._bar.add_task("render", total=1, step="", scale="", loss="", eta="")
            self._bar.start()
        return self._bar

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


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
                                help=f"{p.help} ({p.bounds_text()}; preset default {p.text(p.default) or 'none'})")


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
    from .assembly import discover_plugins, sync_plugin_styles as sync

    sync(discover_plugins(), library)


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
                from .assembly import open_library

                self._library = open_library()
            except Exception as exc:  # noqa: BLE001 - the library is optional for file-based renders
                self.stream.write(f"note: the style library is unavailable ({exc}); continuing without it.\n")
        return self._library


def make_engine(open_library):
    """The engine, with the style library's persistent Gram cache when the library opens (``open_library``:
    a :class:`LibraryOpener`, or any function that returns the library or None)."""
    from .assembly import make_engine as assembled

    return assembled(open_library())


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
    return list(blend_weights(weights, count, name="--style-weights"))
