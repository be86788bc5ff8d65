"""The command line: ``python -m nst COMMAND ...``.

Commands: ``transfer`` and ``texture`` (render here, or ``--queue`` to hand
the render to the farm), ``weights`` (which VGG19 weights are in use),
``styles`` (the style library), ``plugins`` and ``run`` (filters),
``worker`` and ``renders`` (the render farm). ``transfer`` and ``texture``
run their built-in filter through the registry, as the app and the workers
do: the same admission (preset, values, inputs), then the filter's run with
the snapshots and the progress bar in its inputs. Errors a user can cause print
one line and exit with status 2; Ctrl-C during a render stops it and still
writes the best image so far.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import threading
import time
from pathlib import Path
from typing import Sequence

from nst import __version__, images
from nst.builtin_filters import FILTER_IDS
from nst.errors import NSTError
from nst.plugin import Filter, RunInputs, default_preset, lazy, preset_of
from nst.registry import BUILTIN_DIR, PRESET_KEY, Registry
from nst.targets import StyleInput

from . import farm_cli, plugin_cli, styles_cli
from .cli_support import (EXIT_INTERRUPTED, EXIT_USAGE, LibraryOpener, ProgressBar, add_param_options,
                          ctrl_c_cancels, load_style, make_engine, output_path, parse_blend)


@functools.cache
def _builtins() -> Registry:
    """The built-in filters behind ``transfer`` and ``texture``, loaded through the registry as the app
    loads them (their files are named for their ids)."""
    registry = Registry()
    registry.probe = True  # probed first, as the app probes them (one child; remembered in the data directory)
    registry.load_files([BUILTIN_DIR / f"{filter_id}.py" for filter_id in FILTER_IDS.values()], origin="builtin")
    return registry


def builtin(operation: str) -> Filter:
    """The filter ``transfer`` or ``texture`` renders with."""
    return _builtins().get(FILTER_IDS[operation])


def declared(operation: str):
    """The options of ``transfer`` or ``texture``: the filter's parameters a user sets (with the default
    preset's values as their defaults)."""
    return tuple(p for p in builtin(operation).params if not p.hidden)


def preset_help(operation: str) -> str:
    flt = builtin(operation)
    described = " ".join(f"{name}: {preset_of(value, name).description}" for name, value in flt.presets.items())
    return f"Starting point for every other option. {described} (default {default_preset(flt)})"


def _render(args: argparse.Namespace, operation: str) -> int:
    """One render, through the registry as the app's and the workers' are: the built-in filter's admission checks
    the preset, every value and the inputs, then the filter runs the engine (built only then)."""
    err = sys.stderr
    out = output_path(args.output)
    if args.depth == 16 and images.format_for(out) not in ("PNG", "TIFF"):
        raise NSTError(f"--depth 16 writes a PNG or a TIFF; {out.name} is {images.format_for(out)}.")
    values = {p.name: getattr(args, p.name) for p in declared(operation)}
    given = {k: v for k, v in values.items() if v is not None}
    flt = builtin(operation)
    params = {**given, PRESET_KEY: args.preset or default_preset(flt)}
    if args.queue:
        if args.snapshots:
            raise NSTError("--snapshots works only for renders made here, not with --queue.")
        if args.depth == 16:
            raise NSTError("--depth 16 works only for renders made here: the farm keeps 8 bits a channel.")
        # the values first, before a style file is added to the library; the farm's admission then checks it all
        _builtins().resolve(flt.id, params)
        return farm_cli.render_on_farm(args, operation, values, out)
    blend = parse_blend(args.style_weights, len(args.styles))
    snapshot_dir = Path(args.snapshots).expanduser() if args.snapshots else None
    if snapshot_dir is not None and snapshot_dir.exists() and not snapshot_dir.is_dir():
        raise NSTError(f"--snapshots {snapshot_dir}: it is a file; name a folder.")
    if args.snapshot_every < 1:
        raise NSTError(f"--snapshot-every must be at least 1, got {args.snapshot_every}.")
    open_library = LibraryOpener(err)
    content = images.load(args.content) if flt.needs.content else None
    styles = [StyleInput.of(load_style(s, open_library)) for s in args.styles]

    def engine():  # TensorFlow loads here, once admission has let the render through
        built = make_engine(open_library)
        if not args.quiet:
            err.write(f"{built.weights_description}\n")
        return built

    cancel = threading.Event()
    inputs = RunInputs(content=content, styles=styles, style_weights=blend or [1.0] * len(styles), cancel=cancel,
                       engine_provider=lazy(engine), snapshot_every=args.snapshot_every if snapshot_dir else 0,
                       snapshot_dir=snapshot_dir, style_names=list(args.styles))
    started = time.perf_counter()
    bar = ProgressBar(err, quiet=args.quiet)
    with ctrl_c_cancels(cancel, err):
        try:
            result = _builtins().run(flt.id, inputs, params, progress=bar)
        finally:
            bar.close()
    # For print: the painting's own precision (--depth, 16 in a TIFF by default) and the photo's DPI and profile.
    info = images.print_info(args.content) if flt.needs.content else None
    images.save(result.image, out, depth=args.depth, info=info)
    h, w = result.array().shape[:2]
    metrics = result.metrics
    losses = metrics.get("losses") or {}
    terms = ", ".join(f"{k} {v:.4g}" for k, v in losses.items() if k != "total")
    status = "stopped early (cancelled)" if result.cancelled else "done"
    print(f"Wrote {out} ({w}x{h}) in {time.perf_counter() - started:.1f} s: {status}, {metrics.get('steps', 0)} steps, "
          f"loss {losses.get('total', float('nan')):.4g} ({terms}).")
    return EXIT_INTERRUPTED if result.cancelled else 0


def _weights(args: argparse.Namespace) -> int:
    from nst import weights

    info = weights.locate()
    print(info.describe())
    return 0


# --------------------------------------------------------------------------- parser


def _unavailable(commands, operation: str, helptext: str, why: NSTError) -> None:
    """``transfer`` or ``texture`` when its built-in filter did not load: whatever follows it, the command
    prints why in one line (its options come from the filter, so they cannot be parsed)."""
    sub = commands.add_parser(operation, help=f"{helptext} (unavailable: its filter did not load)",
                              prefix_chars="\0", add_help=False)  # no option: every word is taken as it is
    sub.add_argument("words", nargs=argparse.REMAINDER)

    def refuse(args: argparse.Namespace) -> int:
        raise NSTError(f"{operation} is unavailable: {why}")

    sub.set_defaults(func=refuse)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m nst", description="Neural style: paint photos in the style "
                                     "of saved paintings, or synthesize textures from them.")
    parser.add_argument("--version", action="version", version=f"nst {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    for operation, helptext in (("transfer", "paint a photo in the style of one or more paintings"),
                                ("texture", "synthesize a texture from one or more style images")):
        try:
            builtin(operation)
        except NSTError as exc:  # its plugin failed or is disabled: the other commands work all the same
            _unavailable(commands, operation, helptext, exc)
            continue
        sub = commands.add_parser(operation, help=helptext, description=helptext.capitalize() + ".")
        if operation == "transfer":
            sub.add_argument("content", help="the photo (a file)")
        sub.add_argument("styles", nargs="+", metavar="STYLE", help="style image file(s) or saved style name(s)")
        sub.add_argument("-o", "--output", required=True,
                         help="where to write the result (.png, .jpg, .webp, or .tif for print: 16 bits a channel)")
        sub.add_argument("--depth", type=int, choices=images.DEPTHS, default=None,
                         help="bits per channel of a PNG or TIFF (default 8 in a PNG, 16 in a TIFF); the photo's "
                         "DPI and colour profile are kept")
        sub.add_argument("--preset", choices=list(builtin(operation).presets), default=None,
                         help=preset_help(operation))
        sub.add_argument("--style-weights", default=None, metavar="W1,W2,...",
                         help="blend weights for several styles (default: equal)")
        add_param_options(sub, declared(operation))
        sub.add_argument("--snapshots", metavar="DIR", help="save the image every --snapshot-every steps here")
        sub.add_argument("--snapshot-every", type=int, default=10, metavar="N")
        sub.add_argument("--queue", action="store_true",
                         help="hand the render to the render farm (NST_QUEUE_URL) and follow it; the result is "
                         "written here when a worker is done")
        sub.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
        sub.set_defaults(func=lambda a, op=operation: _render(a, op))

    sub = commands.add_parser("weights", help="show which VGG19 weights are used, and check them")
    sub.set_defaults(func=_weights)

    for module in (styles_cli, plugin_cli, farm_cli):
        module.register(commands)
    return parser


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
