"""``nst styles ...``: the style library on the command line.

:func:`register` adds the ``styles`` command to an argparse sub-parser set;
each sub-command's handler takes the parsed arguments and returns an exit
code. Errors are raised as :class:`nst.errors.NSTError` for the caller to
print as one line. The database is ``args.database`` when the caller defines
such an option, else ``NST_DATABASE_URL``, else the default SQLite file.
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import contextmanager
from datetime import datetime
from typing import Iterator, Sequence

from db.library import STYLE_ORDERS, Library
from db.packs import CONFLICT_MODES, export_pack, import_pack
from db.records import StyleRecord

from .assembly import open_library


def register(subparsers) -> argparse.ArgumentParser:
    """Add ``styles`` and its sub-commands; returns the ``styles`` parser."""
    styles = subparsers.add_parser("styles", help="manage the style library",
                                   description="Add, find, edit, remove, export and import styles.")
    commands = styles.add_subparsers(dest="styles_command", metavar="COMMAND", required=True)

    add = commands.add_parser("add", help="add an image as a style")
    add.add_argument("file", metavar="FILE", help="the style image (PNG, JPEG, WebP, ...)")
    add.add_argument("--name", required=True, help="the style's name (unique, ignoring case)")
    add.add_argument("--artist", help="who made the original")
    add.add_argument("--tags", default="", help="comma-separated tags, e.g. oil,night")
    add.add_argument("--description", help="a free-text note")
    add.add_argument("--year", help='when it was made, e.g. 1889 or "c. 1831"')
    add.add_argument("--credit", help="where the image came from and its licence")
    add.set_defaults(func=cmd_add)

    listing = commands.add_parser("list", help="list styles")
    listing.add_argument("--search", metavar="Q", help="match name, artist or tag (any part, ignoring case)")
    listing.add_argument("--tag", metavar="T", help="only styles with this tag")
    listing.add_argument("--sort", choices=STYLE_ORDERS, default="name",
                         help="name, newest first (added), most recently used first (used), or artist")
    listing.set_defaults(func=cmd_list)

    show = commands.add_parser("show", help="show one style")
    show.add_argument("name", metavar="NAME")
    show.set_defaults(func=cmd_show)

    rename = commands.add_parser("rename", help="rename a style")
    rename.add_argument("name", metavar="NAME")
    rename.add_argument("new_name", metavar="NEW")
    rename.set_defaults(func=cmd_rename)

    tag = commands.add_parser("tag", help="replace a style's tags")
    tag.add_argument("name", metavar="NAME")
    tag.add_argument("tags", metavar="TAGS", help='comma-separated tags ("" removes them all)')
    tag.set_defaults(func=cmd_tag)

    remove = commands.add_parser("remove", help="remove a style (renders keep its name)")
    remove.add_argument("name", metavar="NAME")
    remove.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    remove.set_defaults(func=cmd_remove)

    export = commands.add_parser("export", help="write styles to a pack (.zip)")
    export.add_argument("out", metavar="OUT.zip")
    export.add_argument("names", metavar="NAME", nargs="*", help="styles to export (default: all)")
    export.set_defaults(func=cmd_export)

    imp = commands.add_parser("import", help="add the styles of a pack (.zip)")
    imp.add_argument("pack", metavar="PACK.zip")
    imp.add_argument("--on-conflict", choices=CONFLICT_MODES, default="skip",
                     help="when a name is taken: skip the style (default), rename it, or stop with an error")
    imp.set_defaults(func=cmd_import)
    return styles


@contextmanager
def _library(args: argparse.Namespace) -> Iterator[Library]:
    library = open_library(url=getattr(args, "database", None))
    try:
        yield library
    finally:
        library.close()


def cmd_add(args: argparse.Namespace) -> int:
    with _library(args) as library:
        style = library.add_style(args.file, name=args.name, artist=args.artist, description=args.description,
                                  tags=args.tags, year=args.year, credit=args.credit)
    print(f'Added "{style.name}" ({style.width}x{style.height} {style.format}, id {style.id}).')
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with _library(args) as library:
        styles = library.list_styles(query=args.search, tag=args.tag, sort=args.sort)
    if not styles:
        print("No styles match." if (args.search or args.tag) else "No styles yet; add one with: styles add FILE --name NAME")
        return 0
    rows = [(str(s.id), s.name, s.artist or "", ", ".join(s.tags), f"{s.width}x{s.height}", s.source)
            for s in styles]
    print(format_table(("ID", "NAME", "ARTIST", "TAGS", "SIZE", "SOURCE"), rows))
    print(f"{len(styles)} style{'s' if len(styles) != 1 else ''}.")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    with _library(args) as library:
        style = library.get_style(args.name)
    print(describe_style(style))
    return 0


def cmd_rename(args: argparse.Namespace) -> int:
    with _library(args) as library:
        old = library.get_style(args.name)
        style = library.rename_style(old.id, args.new_name)
    print(f'Renamed "{old.name}" to "{style.name}".')
    return 0


def cmd_tag(args: argparse.Namespace) -> int:
    with _library(args) as library:
        style = library.set_tags(args.name, args.tags)
    print(f'Tags of "{style.name}": {", ".join(style.tags)}.' if style.tags else f'"{style.name}" has no tags now.')
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    with _library(args) as library:
        style = library.get_style(args.name)
        if not args.yes and not _confirm(f'Remove the style "{style.name}"? [y/N] '):
            print("Nothing removed.")
            return 1
        library.delete_style(style.id)
    print(f'Removed "{style.name}".')
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    with _library(args) as library:
        names = args.names or None
        count = len({library.get_style(n).id for n in names}) if names else len(library.list_styles())
        path = export_pack(library, names, args.out)
    print(f"Exported {count} style{'s' if count != 1 else ''} to {path}.")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    with _library(args) as library:
        report = import_pack(library, args.pack, on_conflict=args.on_conflict)
    print(report.summary())
    for old, new in report.renamed:
        print(f'  "{old}" was imported as "{new}".')
    for name in report.skipped:
        print(f'  "{name}" was skipped: a style of that name exists.')
    return 0


def _confirm(prompt: str) -> bool:
    if not sys.stdin or not sys.stdin.isatty():
        print("Not confirmed (no terminal); add --yes to remove without asking.")
        return False
    try:
        return input(prompt).strip().lower() in ("y", "yes")
    except EOFError:
        return False


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]], max_width: int = 40) -> str:
    """A plain-text table; cells longer than ``max_width`` are shortened with an ellipsis."""
    def cut(cell: str) -> str:
        return cell if len(cell) <= max_width else cell[: max_width - 1] + "…"

    cells = [[cut(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(lines)


def describe_style(style: StyleRecord) -> str:
    fields = [
        ("Name", style.name),
        ("ID", str(style.id)),
        ("Artist", style.artist or "-"),
        ("Year", style.year or "-"),
        ("Tags", ", ".join(style.tags) or "-"),
        ("Source", style.source),
        ("Credit", style.credit or "-"),
        ("Image", f"{style.width}x{style.height} {style.format}, sha256 {style.sha256[:16]}..."),
        ("Suggested", json.dumps(style.suggested_params, sort_keys=True) if style.suggested_params else "-"),
        ("Added", _when(style.created_at)),
        ("Updated", _when(style.updated_at)),
        ("Description", style.description or "-"),
    ]
    width = max(len(label) for label, _ in fields) + 1
    return "\n".join(f"{(label + ':').ljust(width)} {value}" for label, value in fields)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment is not None else "unknown"
