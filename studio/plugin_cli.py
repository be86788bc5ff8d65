"""``python -m nst plugins list`` and ``python -m nst run FILTER ...``."""

from __future__ import annotations

import argparse
import sys
import threading
import time

from nst import images
from nst.errors import NSTError
from nst.params import parse_assignments

from .cli_support import (EXIT_INTERRUPTED, LibraryOpener, ProgressBar, ctrl_c_cancels, load_style, make_engine,
                          output_path, parse_blend)


def _list(args: argparse.Namespace) -> int:
    from .assembly import discover_plugins

    registry = discover_plugins()
    errors = registry.run_errors()
    for info in registry.plugins:
        mark = "ok    " if info.ok else "off   " if info.disabled else "FAILED"
        print(f"{mark} {info.id:24s} {info.origin:12s} {info.location}")
        if not info.ok:
            print(f"       {'why' if info.disabled else 'reason'}: {info.error}")
        for fid in info.filters:
            flt = registry.get(fid)
            needs = flt.needs
            inputs = ("photo + " if needs.content else "") + (
                f"{needs.min_styles}-{needs.max_styles} style(s)" if needs.min_styles != needs.max_styles
                else f"{needs.min_styles} style(s)")
            print(f"       filter {fid} ({flt.name}, v{flt.version}): {inputs}; parameters: "
                  f"{', '.join(p.name for p in flt.params if not p.hidden) or 'none'}")
            reason = registry.unavailable(fid)
            if reason:
                print(f"       unavailable: {reason}")
            if fid in errors:
                print(f"       last run failed: {errors[fid]}")
        for name in info.styles:
            print(f"       style  {name}")
        for problem in info.problems:
            print(f"       refused: {problem}")
    failed = sum(1 for p in registry.plugins if not p.ok and not p.disabled)
    disabled = sum(1 for p in registry.plugins if p.disabled)
    print(f"{len(registry.filters())} filters and {len(registry.styles())} styles from "
          f"{sum(1 for p in registry.plugins if p.ok)} plugins"
          + (f"; {failed} failed to load" if failed else "") + (f"; {disabled} disabled" if disabled else "") + ".")
    return 0


def _params_help(registry, filter_id: str) -> str:
    flt = registry.get(filter_id)
    lines = [f"{flt.name} ({flt.id}): {flt.description}", "", "Parameters (--param name=value):"]
    for p in flt.params:
        if p.hidden:  # set by the presets only
            continue
        lines.append(f"  {p.name:18s} {p.kind:6s} default {p.default!s:12s} {p.bounds_text()}. {p.help}")
    if flt.presets:
        lines.append("")
        lines.append("Presets (--preset NAME): " + ", ".join(flt.presets))
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    from nst.plugin import RunInputs, lazy
    from nst.targets import StyleInput

    from .assembly import discover_plugins

    registry = discover_plugins()
    if args.list_params:
        print(_params_help(registry, args.filter))
        return 0
    flt = registry.get(args.filter)
    if not args.output:
        raise NSTError("-o/--output is required.")
    out = output_path(args.output)
    params = parse_assignments(args.param or [])
    if args.preset:
        params["preset"] = args.preset
    open_library = LibraryOpener(sys.stderr)
    content = images.load(args.content) if args.content else None
    styles = [StyleInput.of(load_style(s, open_library)) for s in args.style or []]
    weights = parse_blend(args.style_weights, len(styles)) or [1.0] * len(styles)

    inputs = RunInputs(content=content, styles=styles, style_weights=weights, cancel=threading.Event(),
                       engine_provider=lazy(lambda: make_engine(open_library)), style_names=list(args.style or []))
    bar = ProgressBar(sys.stderr, quiet=args.quiet)
    started = time.perf_counter()
    with ctrl_c_cancels(inputs.cancel, sys.stderr):
        try:
            result = registry.run(flt.id, inputs, params, progress=bar)
        finally:
            bar.close()
    images.save(result.array(), out)
    h, w = result.array().shape[:2]
    print(f"Wrote {out} ({w}x{h}) with {flt.name} in {time.perf_counter() - started:.1f} s"
          + (" (stopped early: cancelled)" if result.cancelled else "") + ".")
    return EXIT_INTERRUPTED if result.cancelled else 0


def register(commands) -> None:
    plugins = commands.add_parser("plugins", help="list plugins and filters, with failures and their reasons")
    sub = plugins.add_subparsers(dest="plugins_command", metavar="ACTION")
    sub.required = True
    listing = sub.add_parser("list", help="every plugin found, loaded or failed")
    listing.set_defaults(func=_list)

    run = commands.add_parser("run", help="run any filter: python -m nst run FILTER --content PHOTO --style STYLE "
                              "-o OUT.png --param name=value")
    run.add_argument("filter", help="filter id (see: python -m nst plugins list)")
    run.add_argument("--content", help="the photo, for filters that take one")
    run.add_argument("--style", action="append", metavar="STYLE", help="a style file or saved style name (repeatable)")
    run.add_argument("--style-weights", metavar="W1,W2,...", help="blend weights for several styles")
    run.add_argument("--param", action="append", metavar="NAME=VALUE", help="a filter parameter (repeatable)")
    run.add_argument("--preset", help="one of the filter's presets")
    run.add_argument("-o", "--output", help="where to write the result (.png, .jpg, .webp)")
    run.add_argument("--list-params", action="store_true", help="show the filter's parameters and exit")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=_run)
