"""The command line: ``python -m nst COMMAND ...``.

Commands: ``transfer`` and ``texture`` (render), ``weights`` (which VGG19
weights are in use), ``styles`` (the style library), ``plugins`` and ``run``
(filters). Errors a user can cause print one line and exit with status 2;
Ctrl-C during a render stops it and still writes the best image so far.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Sequence

from . import __version__, images, options
from .errors import ImageError, NSTError
from .params import Param

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


# --------------------------------------------------------------------------- progress


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


# --------------------------------------------------------------------------- argument helpers


def add_param_options(parser: argparse.ArgumentParser, params: Sequence[Param]) -> None:
    """One ``--option`` per declared parameter; values are checked later by the declarations."""
    for p in params:
        if p.kind == "bool":
            parser.add_argument(p.option, dest=p.name, action=argparse.BooleanOptionalAction, default=None,
                                help=p.help)
        else:
            metavar = "{" + ",".join(map(str, p.choices)) + "}" if p.kind == "choice" else p.kind.upper()
            parser.add_argument(p.option, dest=p.name, default=None, metavar=metavar,
                                help=f"{p.help} ({p.bounds_text()}; preset default {p.default})")


def output_path(value: str) -> Path:
    path = Path(value).expanduser()
    images.format_for(path)  # refuses unknown suffixes before any work
    if not path.parent.exists():
        raise ImageError(f"Cannot write {path}: the folder {path.parent} does not exist.")
    return path


def load_style(arg: str, library_opener):
    """A style given as a file path, or as the name of a style saved in the library."""
    path = Path(arg).expanduser()
    if path.exists():
        return images.load(path)
    library = library_opener()
    if library is not None:
        from db.errors import StyleNotFoundError

        try:
            return library.style_image(arg)
        except StyleNotFoundError:
            pass
    raise ImageError(f"{arg}: no such file, and no saved style by that name.")


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
                from db.database import open_library

                self._library = open_library()
            except Exception as exc:  # noqa: BLE001 - the library is optional for file-based renders
                self.stream.write(f"note: the style library is unavailable ({exc}); continuing without it.\n")
        return self._library


# --------------------------------------------------------------------------- commands


def _render(args: argparse.Namespace, operation: str) -> int:
    err = sys.stderr
    out = output_path(args.output)
    values = {p.name: getattr(args, p.name) for p in options.declared(operation)}
    settings = options.to_settings(operation, values, preset=args.preset)
    blend = parse_blend(args.style_weights, len(args.styles))
    open_library = LibraryOpener(err)
    content = images.load(args.content) if operation == "transfer" else None
    styles = [load_style(s, open_library) for s in args.styles]
    snapshot_dir = Path(args.snapshots).expanduser() if args.snapshots else None

    started = time.perf_counter()
    engine = make_engine(open_library)  # TensorFlow loads here, after the arguments are known to be good
    if not args.quiet:
        err.write(f"{engine.weights_description}\n")
    cancel = threading.Event()
    bar = ProgressBar(err, quiet=args.quiet)
    with ctrl_c_cancels(cancel, err):
        try:
            common = dict(style_weights=blend, progress=bar, cancel=cancel,
                          snapshot_every=args.snapshot_every if snapshot_dir else 0, snapshot_dir=snapshot_dir)
            if operation == "transfer":
                result = engine.transfer(content, styles, settings, **common)
            else:
                result = engine.texture(styles, settings, **common)
        finally:
            bar.close()
    result.save(out)
    h, w = result.image.shape[:2]
    terms = ", ".join(f"{k} {v:.4g}" for k, v in result.losses.items() if k != "total")
    status = "stopped early (cancelled)" if result.cancelled else "done"
    print(f"Wrote {out} ({w}x{h}) in {time.perf_counter() - started:.1f} s: {status}, {result.steps} steps, "
          f"loss {result.losses.get('total', float('nan')):.4g} ({terms}).")
    return EXIT_INTERRUPTED if result.cancelled else 0


def make_engine(open_library):
    """The engine, with the style library's persistent Gram cache when the library opens."""
    from .engine import Engine

    library = open_library()
    if library is None:
        return Engine()
    from db.gram_store import GramStore

    return Engine(store=GramStore(library))


@contextlib.contextmanager
def ctrl_c_cancels(cancel: threading.Event, stream):
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
        stream.write("\nStopping after this step; the best image so far will be saved. Ctrl-C again to abort.\n")

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
        raise NSTError(f"--style-weights has {len(weights)} values for {count} styles.")
    return weights


def _weights(args: argparse.Namespace) -> int:
    from . import weights

    info = weights.locate()
    print(info.describe())
    return 0


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m nst", description="Neural style: paint photos in the style "
                                     "of saved paintings, or synthesize textures from them.")
    parser.add_argument("--version", action="version", version=f"nst {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    for operation, helptext in (("transfer", "paint a photo in the style of one or more paintings"),
                                ("texture", "synthesize a texture from one or more style images")):
        sub = commands.add_parser(operation, help=helptext, description=helptext.capitalize() + ".")
        if operation == "transfer":
            sub.add_argument("content", help="the photo (a file)")
        sub.add_argument("styles", nargs="+", metavar="STYLE", help="style image file(s) or saved style name(s)")
        sub.add_argument("-o", "--output", required=True, help="where to write the result (.png, .jpg, .webp)")
        sub.add_argument("--preset", choices=options.PRESET.choices, default=None,
                         help=options.PRESET.help + f" (default {options.PRESET.default})")
        sub.add_argument("--style-weights", default=None, metavar="W1,W2,...",
                         help="blend weights for several styles (default: equal)")
        add_param_options(sub, options.declared(operation))
        sub.add_argument("--snapshots", metavar="DIR", help="save the image every --snapshot-every steps here")
        sub.add_argument("--snapshot-every", type=int, default=10, metavar="N")
        sub.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
        sub.set_defaults(func=lambda a, op=operation: _render(a, op))

    sub = commands.add_parser("weights", help="show which VGG19 weights are used, and check them")
    sub.set_defaults(func=_weights)

    for register in _registrars():
        register(commands)
    return parser


def _registrars():
    """Commands contributed by other packages (the library, the plugin registry)."""
    found = []
    try:
        from db.cli import register as styles
        found.append(styles)
    except ImportError:
        pass
    try:
        from .plugin_cli import register as plugin_commands
        found.append(plugin_commands)
    except ImportError:
        pass
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except NSTError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
