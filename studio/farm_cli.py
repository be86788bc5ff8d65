"""``python -m nst worker``, ``python -m nst renders list|show|cancel`` and ``transfer|texture --queue``."""

from __future__ import annotations

import argparse
import hashlib
import sys
import threading
import time
from pathlib import Path

from nst import images
from nst.builtin_filters import FILTER_IDS
from nst.errors import NSTError
from nst.progress import Progress

from .cli_support import EXIT_INTERRUPTED, ProgressBar, ctrl_c_cancels, parse_blend

def _farm(sync_styles: bool = False):
    """The farm over the library and the plugins, assembled as the app and the workers assemble them (with
    ``sync_styles``, the styles plugins ship are added to the library, so that a render can name them)."""
    from .assembly import assemble

    return assemble(sync_styles=sync_styles).farm()


# --------------------------------------------------------------------------- transfer/texture --queue


def _style_id(library, arg: str) -> int:
    """A saved style's id; a file is added to the library first (named after the file) unless it is there."""
    from db import DuplicateStyleError

    path = Path(arg).expanduser()
    if not path.is_file():
        return library.get_style(arg).id
    data = images.read_file(path)
    try:
        record = library.add_style(data, name=path.stem)
        print(f'note: added {path.name} to the style library as "{record.name}".', file=sys.stderr)
        return record.id
    except DuplicateStyleError:
        existing = library.get_style(path.stem)
        if existing.sha256 == hashlib.sha256(data).hexdigest():
            return existing.id
        raise NSTError(f'The library has another style named "{existing.name}"; add {path.name} under a new name '
                       f'(python -m nst styles add {path} --name NAME) and use that name.') from None


def render_on_farm(args: argparse.Namespace, operation: str, values: dict, out: Path) -> int:
    """Submit the render to the queue, show its progress, write its result when a worker is done."""
    farm = _farm(sync_styles=True)
    library = farm.library
    params = {k: v for k, v in values.items() if v is not None}
    if args.preset:
        params["preset"] = args.preset
    content = images.read_file(Path(args.content).expanduser()) if operation == "transfer" else None
    style_ids = [_style_id(library, s) for s in args.styles]
    blend = parse_blend(args.style_weights, len(style_ids)) or [1.0] * len(style_ids)
    render_id = farm.submit(FILTER_IDS[operation], params, content, list(zip(style_ids, blend)))
    err = sys.stderr
    if not args.quiet:
        err.write(announcement(farm, render_id) + "\n")
    record = watch(farm, render_id, err, quiet=args.quiet)
    return _report(farm, record, out)


def announcement(farm, render_id: int) -> str:
    """What became of a render just submitted: queued, or (the queue did not answer, and the submit said
    so) recorded and waiting for the queue; never "queued" right after "not queued yet"."""
    try:
        farm.queue.check()
    except NSTError:
        return (f"Render {render_id} is recorded, not queued yet: a worker sends it to the queue at "
                f"{farm.queue.description} when that answers again.")
    return f"Render {render_id} queued on {farm.queue.description}."


def watch(farm, render_id: int, stream, quiet: bool = False):
    """Follow a render to its end with a progress bar; the first Ctrl-C cancels it (it keeps its best image)."""
    bar = ProgressBar(stream, quiet=quiet)
    cancelled = threading.Event()
    asked = said_waiting = False
    since = time.monotonic()
    with ctrl_c_cancels(cancelled, stream, "Cancelling; the best image so far will be written. Ctrl-C again to "
                                           "stop watching."):
        try:
            while True:
                if cancelled.is_set() and not asked:
                    asked = True
                    try:
                        farm.cancel(render_id)
                    except NSTError:
                        pass  # it ended meanwhile
                record = farm.library.get_render(render_id)
                if not record.active:
                    return record
                if record.status == "queued" and not said_waiting and not quiet and time.monotonic() - since > 3:
                    said_waiting = True
                    stream.write("Waiting for a worker (the app, or: python -m nst worker).\n")
                p = record.progress if isinstance(record.progress, dict) else {}
                if record.status == "running" and p.get("total"):
                    try:
                        size = p.get("size") or (0, 0)
                        progress = Progress(step=int(p["step"]), total=int(p["total"]),
                                            elapsed=float(p.get("elapsed", 0.0)), scale=int(p.get("scale", 0)),
                                            scales=int(p.get("scales", 1)), size=(int(size[0]), int(size[1])),
                                            losses=dict(p.get("losses", {})), eta=p.get("eta"),
                                            fraction=p.get("fraction"))
                    except (TypeError, ValueError, KeyError, IndexError, OverflowError):
                        progress = None  # progress written by other means than a worker: no bar this time
                    if progress is not None:
                        bar(progress)
                time.sleep(0.25)
        finally:
            bar.close()


def _report(farm, record, out: Path) -> int:
    if record.status == "failed":
        raise NSTError(f"Render {record.id} failed: {record.error}")
    if record.result_image_id is None:
        print(f"Render {record.id} was {record.status} before it made an image; nothing written.")
        return EXIT_INTERRUPTED
    picture = images.load(farm.library.image_bytes(record.result_image_id), f"the result of render {record.id}",
                          as_input=False)
    images.save(picture, out)
    seconds = (record.timings or {}).get("seconds")
    loss = (record.losses or {}).get("total")
    status = "stopped early (cancelled)" if record.status == "cancelled" else "done"
    print(f"Wrote {out} ({picture.width}x{picture.height}): render {record.id} {status}"
          + (f" in {seconds:.1f} s" if isinstance(seconds, (int, float)) else "")
          + (f", loss {loss:.4g}" if isinstance(loss, (int, float)) else "") + ".")
    return EXIT_INTERRUPTED if record.status == "cancelled" else 0


# --------------------------------------------------------------------------- renders


def _render_id(text: str) -> int:
    """A render number as typed: ASCII digits only (``int`` also reads "١" as 1 and "1_0" as 10)."""
    from db.ids import parse_id  # here: the library's package is loaded only by commands that use it

    value = parse_id(text)
    if value is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a render number (1 or more, in digits 0-9)")
    return value


def _limit(text: str) -> int:
    from db.ids import parse_id

    value = parse_id(text)
    if value is None or value > 10_000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 1 to 10000")
    return value


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _list(args: argparse.Namespace) -> int:
    farm = _farm()
    for r in farm.library.list_renders(limit=args.limit, status=args.status or None):
        styles = ", ".join(s.style_name for s in r.styles) or "-"
        seconds = (r.timings or {}).get("seconds")
        extra = f"{seconds:.1f} s" if isinstance(seconds, (int, float)) else ""
        if r.status == "running":
            p = r.progress or {}
            extra = f"step {p.get('step', 0)}/{p.get('total', '?')} on {r.owner}"
        print(f"{r.id:6d}  {r.status:10s} {r.filter_id:18s} {_when(r.created_at)}  {styles[:40]:40s} {extra}")
    return 0


def _show(args: argparse.Namespace) -> int:
    import json

    farm = _farm()
    r = farm.library.get_render(args.render_id)
    print(f"render {r.id}: {r.status}, filter {r.filter_id}, priority {r.priority}, attempts {r.attempts}")
    print("  styles: " + (", ".join(f"{s.style_name} ({s.weight:g})" for s in r.styles) or "none"))
    print(f"  created {_when(r.created_at)}, started {_when(r.started_at)}, finished {_when(r.finished_at)}")
    if r.owner:
        print(f"  running on {r.owner}, last heartbeat {_when(r.heartbeat_at)}")
    if r.error:
        print(f"  error: {r.error}")
    if r.result_image_id:
        print(f"  result: image {r.result_image_id}")
    print("  parameters: " + json.dumps(r.params, sort_keys=True))
    for e in (entry for entry in r.events if isinstance(entry, dict)):  # a row written by other means
        detail = f": {e['detail']}" if e.get("detail") else ""
        who = f" ({e['owner']})" if e.get("owner") else ""
        print(f"  {e.get('at', '')}  {e.get('event')}{who}{detail}")
    return 0


def _cancel(args: argparse.Namespace) -> int:
    farm = _farm()
    record = farm.library.request_cancel(args.render_id)
    if record.status == "cancelled":
        print(f"Render {record.id} was still queued: cancelled.")
    else:
        print(f"Render {record.id} is running on {record.owner}: asked to stop (it keeps its best image).")
    return 0


# --------------------------------------------------------------------------- worker


def _worker(args: argparse.Namespace) -> int:
    import logging

    from .consumer import run_many, run_one

    if not 1 <= args.workers <= 64:
        raise NSTError(f"--workers must be between 1 and 64, got {args.workers}.")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s",
                        stream=sys.stderr)
    for noisy in ("huey", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.workers == 1:
        return run_one(args.name, warm=not args.no_warm_up, analyse=not args.no_style_analysis)
    return run_many(args.workers, warm=not args.no_warm_up, analyse=not args.no_style_analysis)


def register(commands) -> None:
    worker = commands.add_parser("worker", help="take renders from the queue (the app's, or NST_QUEUE_URL's)",
                                 description="Take renders from the render queue until Ctrl-C or SIGTERM (a "
                                 "running render then goes back to the queue). Uses NST_QUEUE_URL and "
                                 "NST_DATABASE_URL, like the app.")
    worker.add_argument("--workers", type=int, default=1, metavar="N",
                        help="worker processes to start (each loads the engine once; default 1)")
    worker.add_argument("--name", default="w1", help="this worker's name in the render history")
    worker.add_argument("--no-warm-up", action="store_true",
                        help="load the engine on the first render that needs it, not at start")
    worker.add_argument("--no-style-analysis", action="store_true",
                        help="do not compute the style targets of the styles plugins ship after the warm-up")
    worker.set_defaults(func=_worker)

    renders = commands.add_parser("renders", help="the render history and queue: list, show, cancel")
    sub = renders.add_subparsers(dest="renders_command", metavar="ACTION")
    sub.required = True
    listing = sub.add_parser("list", help="recent renders, newest first")
    listing.add_argument("--status", action="append",
                         choices=("queued", "running", "done", "failed", "cancelled", "interrupted"))
    listing.add_argument("--limit", type=_limit, default=30)
    listing.set_defaults(func=_list)
    show = sub.add_parser("show", help="one render: settings, worker, events")
    show.add_argument("render_id", type=_render_id)
    show.set_defaults(func=_show)
    cancel = sub.add_parser("cancel", help="drop a queued render, or stop a running one (it keeps its best image)")
    cancel.add_argument("render_id", type=_render_id)
    cancel.set_defaults(func=_cancel)

