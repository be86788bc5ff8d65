"""Style packs: styles exported to one zip file, to share or back up.

A pack holds ``pack.json`` and the original image files::

    {"format": "nst-style-pack", "version": 1,
     "styles": [{"name": "Starry Night", "artist": "Vincent van Gogh", "description": null,
                 "year": "1889", "credit": "Public domain, via ...",
                 "tags": ["post-impressionism"], "suggested_params": {"style_weight": 2.0},
                 "image": "images/3f2a....jpg", "sha256": "3f2a..."}]}

:func:`import_pack` checks everything first (safe member names, sizes, the
JSON, every style's fields, each image's sha256 and the image itself) and
only then writes, in one transaction: a bad pack changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterable

from sqlalchemy.orm import Session

from nst.errors import NSTError
from nst.files import write_atomic
from nst.images import open_checked
from nst.progress import is_cancelled

from . import validation
from .errors import DuplicateStyleError, LibraryError, PackError
from .ingest import MAX_FILE_BYTES, PreparedImage, prepare_image
from .library import Library
from .records import StyleRecord
from .styles import StyleRef, clean_fields

FORMAT = "nst-style-pack"
VERSION = 1
MANIFEST = "pack.json"
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_PACK_BYTES = 4 * 1024 * 1024 * 1024
MAX_STYLES = 10_000
#: Files in a pack (two a style at the most, and the manifest); counted before the zip is opened.
MAX_ENTRIES = 2 * MAX_STYLES + 1
#: Pixels of all the distinct images of a pack, declared sizes, checked before any is decoded.
MAX_PACK_PIXELS = 500_000_000
#: A member that unpacks to more than this many times its packed size is refused (a zip bomb).
MAX_RATIO = 100
#: A whole pack may unpack to at most this many times its packed size (its images are compressed
#: already, so a real pack unpacks to about its own size): this bounds what a pack costs in database.
MAX_PACK_RATIO = 10
#: Bytes of the zip's central directory per file allowed (a pack's names are short).
MAX_DIRECTORY_BYTES_PER_ENTRY = 160
CONFLICT_MODES = ("skip", "rename", "error")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_EXTENSIONS = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "BMP": "bmp", "TIFF": "tif"}


@dataclass(frozen=True)
class ImportReport:
    added: tuple[str, ...] = ()  # names as stored
    skipped: tuple[str, ...] = ()  # names already in the library (on_conflict="skip")
    renamed: tuple[tuple[str, str], ...] = ()  # (name in the pack, name given)

    def summary(self) -> str:
        parts = [f"{len(self.added)} style{'s' if len(self.added) != 1 else ''} imported"]
        if self.renamed:
            parts.append(f"{len(self.renamed)} renamed")
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped (already in the library)")
        return ", ".join(parts) + "."


@dataclass(frozen=True)
class _PackStyle:
    name: str
    fields: dict[str, Any] = field(repr=False)
    image: PreparedImage = field(repr=False)


# ---------------------------------------------------------------------- export


def export_pack(library: Library, style_ids_or_names: Iterable[StyleRef] | None, path: str | Path) -> Path:
    """Write the given styles (all if None) to a zip at ``path`` (replaced atomically)."""
    path = Path(path).expanduser()
    if not path.parent.is_dir():
        raise PackError(f"Cannot write {path}: the folder {path.parent} does not exist.")
    if style_ids_or_names is None:
        styles = library.list_styles()
        if not styles:
            raise PackError("The library has no styles to export.")
    else:
        styles = []
        for ref in style_ids_or_names:
            style = library.get_style(ref)
            if style.id not in {s.id for s in styles}:
                styles.append(style)
        if not styles:
            raise PackError("No styles were named to export.")
    entries, files = [], {}
    for style in styles:
        member = f"images/{style.sha256[:16]}.{_EXTENSIONS.get(style.format, 'img')}"
        if member not in files:
            files[member] = library.image_bytes(style.image_id)
        entries.append(_manifest_entry(style, member))
    manifest = {"format": FORMAT, "version": VERSION,
                "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "styles": entries}

    def write(handle) -> None:
        with zipfile.ZipFile(handle, "w") as archive:
            archive.writestr(MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False),
                             compress_type=zipfile.ZIP_DEFLATED)
            for member, data in files.items():
                archive.writestr(member, data, compress_type=zipfile.ZIP_STORED)  # images are compressed already

    try:
        write_atomic(path, write)  # through a new file beside it: never through a link
    except OSError as exc:
        raise PackError(f"Cannot write {path} ({exc.strerror or exc}).") from None
    return path


def _manifest_entry(style: StyleRecord, member: str) -> dict[str, Any]:
    return {"name": style.name, "artist": style.artist, "description": style.description, "year": style.year,
            "credit": style.credit, "tags": list(style.tags),
            "suggested_params": style.suggested_params, "image": member, "sha256": style.sha256}


# ---------------------------------------------------------------------- import


def import_pack(library: Library, path: str | Path, on_conflict: str = "skip",
                progress: Callable[[int, int], None] | None = None, cancel=None) -> ImportReport:
    """Add a pack's styles in one transaction.

    ``on_conflict`` decides what happens to a style whose name is already in
    the library: ``"skip"`` it, ``"rename"`` it ("Name (2)"), or raise
    :class:`DuplicateStyleError` (``"error"``, nothing is imported).
    ``progress(done, total)`` is called as the pack's images are checked; when
    ``cancel`` (an Event, or a callable) says so, the import stops and nothing is added.
    """
    if on_conflict not in CONFLICT_MODES:
        raise PackError(f"on_conflict must be one of {', '.join(CONFLICT_MODES)}, not {on_conflict!r}.")
    styles = read_pack(path, progress=progress, cancel=cancel)

    def work(session: Session) -> ImportReport:
        # every name when renaming, so that finding a free one asks nothing more of the database
        taken = library.styles.name_keys(session, None if on_conflict == "rename" else [s.name for s in styles])
        numbers: dict[str, int] = {}
        added, skipped, renamed = [], [], []
        for style in styles:
            name = style.name
            if validation.fold(name) in taken:
                if on_conflict == "skip":
                    skipped.append(name)
                    continue
                if on_conflict == "error":
                    raise DuplicateStyleError(
                        f'The pack\'s style "{name}" is already in the library; import with on_conflict '
                        f'"skip" or "rename".')
                name = _free_name(name, taken, numbers)
                renamed.append((style.name, name))
            library.styles.insert(session, style.image, name, **style.fields)
            taken.add(validation.fold(name))
            added.append(name)
        return ImportReport(tuple(added), tuple(skipped), tuple(renamed))

    return library.unit_of_work.write(work)


def _free_name(name: str, taken: set[str], numbers: dict[str, int]) -> str:
    """"Name (2)", "Name (3)"...: the first free one, counting on from where the last search for the same
    stem stopped (names that share a long prefix would otherwise make this quadratic)."""
    stem_key = validation.fold(name[: validation.MAX_NAME - 8])
    for number in range(numbers.get(stem_key, 2), numbers.get(stem_key, 2) + 100_000):
        suffix = f" ({number})"
        candidate = name[: validation.MAX_NAME - len(suffix)].rstrip() + suffix
        if validation.fold(candidate) not in taken:
            numbers[stem_key] = number + 1
            return candidate
    raise LibraryError(f'No free name was found for "{name}".')


def read_pack(path: str | Path, progress: Callable[[int, int], None] | None = None, cancel=None) -> list[_PackStyle]:
    """Open and check a pack completely; raises :class:`PackError` on the first problem."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise PackError(f"{path}: no such file." if not path.exists() else f"{path} is not a file.")
    entries, directory_bytes = _declared_directory(path)
    if entries is not None and entries > MAX_ENTRIES:
        raise PackError(f"{path.name} holds {entries:,} files; a style pack holds at most {MAX_ENTRIES:,}.")
    if directory_bytes is not None and directory_bytes > MAX_ENTRIES * MAX_DIRECTORY_BYTES_PER_ENTRY:
        raise PackError(f"{path.name} has a file list of {directory_bytes:,} bytes; a style pack's is at most "
                        f"{MAX_ENTRIES * MAX_DIRECTORY_BYTES_PER_ENTRY:,}.")
    try:
        with zipfile.ZipFile(path) as archive:
            return _read_archive(archive, path.name, progress or (lambda done, total: None), cancel)
    except zipfile.BadZipFile:
        raise PackError(f"{path.name} is not a style pack (it is not a valid zip file).") from None
    except NSTError:
        raise
    except (RecursionError, TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
        raise PackError(f"{path.name} is not a valid style pack ({type(exc).__name__}: {exc}).") from None
    except OSError as exc:
        raise PackError(f"{path.name} cannot be read ({exc.strerror or exc}).") from None


def _declared_directory(path: Path) -> tuple[int | None, int | None]:
    """How many files the zip's end record says it holds, and the size of its file list, read before
    that list is parsed (200,000 empty names cost hundreds of MB to parse; the count may lie, the size
    is what the parser reads)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - 65_557))
            tail = handle.read()
    except OSError:
        return None, None
    end = tail.rfind(b"PK\x05\x06")
    if end < 0 or end + 22 > len(tail):
        return None, None
    count, size = struct.unpack("<HI", tail[end + 10:end + 16])
    zip64 = tail.rfind(b"PK\x06\x06", 0, end)
    if zip64 >= 0 and zip64 + 48 <= len(tail) and (count == 0xFFFF or size == 0xFFFFFFFF):
        count, size = struct.unpack("<QQ", tail[zip64 + 32:zip64 + 48])
    return count, size


def _read_archive(archive: zipfile.ZipFile, label: str, progress: Callable[[int, int], None],
                  cancel) -> list[_PackStyle]:
    members = {}
    total = 0
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise PackError(f"{label} holds {len(infos):,} files; a style pack holds at most {MAX_ENTRIES:,}.")
    for info in infos:
        if not _safe_member(info.filename):
            raise PackError(f'{label} contains an unsafe file name "{info.filename}".')
        if info.filename in members:
            raise PackError(f'{label} contains "{info.filename}" twice.')
        if info.file_size > 64 * 1024 and info.file_size > MAX_RATIO * max(1, info.compress_size):
            raise PackError(f'{label}: "{info.filename}" unpacks to more than {MAX_RATIO} times its packed size '
                            f"(a zip bomb, or not a style pack).")
        members[info.filename] = info
        total += info.file_size
    if total > MAX_PACK_BYTES:
        raise PackError(f"{label} unpacks to more than {MAX_PACK_BYTES // 2**30} GiB.")
    packed = sum(info.compress_size for info in infos)
    if total > MAX_PACK_RATIO * max(packed, 1024 * 1024):
        raise PackError(f"{label} unpacks to more than {MAX_PACK_RATIO} times its packed size (a zip bomb, or not "
                        f"a style pack).")
    manifest = _read_manifest(archive, members, label)
    styles: list[_PackStyle] = []
    seen: dict[str, str] = {}
    images = _PackImages(archive, members, label)
    count = len(manifest["styles"])
    for number, entry in enumerate(manifest["styles"], start=1):
        if is_cancelled(cancel):
            raise PackError(f"The import of {label} was cancelled; nothing was added.")
        progress(number - 1, count)
        style = _read_style(members, entry, number, label, images)
        key = validation.fold(style.name)
        if key in seen:
            raise PackError(f'{label} has two styles named "{seen[key]}".')
        seen[key] = style.name
        styles.append(style)
    progress(count, count)
    return styles


class _PackImages:
    """A pack's images, each file read and checked once and each distinct image decoded once, with the
    declared pixels of the distinct images held to :data:`MAX_PACK_PIXELS` before any is decoded."""

    def __init__(self, archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], label: str):
        self.archive, self.members, self.label = archive, members, label
        self.by_member: dict[str, tuple[str, PreparedImage]] = {}  # member -> (its sha256, the image)
        self.by_sha256: dict[str, PreparedImage] = {}
        self.pixels = 0

    def get(self, member: str, sha256: str, where: str) -> PreparedImage:
        if member not in self.by_member:
            data = _read_member(self.archive, self.members[member], self.label, MAX_FILE_BYTES)
            digest = hashlib.sha256(data).hexdigest()
            if digest not in self.by_sha256:
                self._spend(data, member, where)
                try:
                    self.by_sha256[digest] = prepare_image(data, f'"{member}"')
                except NSTError as exc:
                    raise PackError(f"{where}: {exc}") from None
            self.by_member[member] = (digest, self.by_sha256[digest])
        digest, image = self.by_member[member]
        if digest != sha256:
            raise PackError(f'{where}: the image "{member}" does not match its sha256 (the pack is damaged).')
        return image

    def _spend(self, data: bytes, member: str, where: str) -> None:
        try:
            width, height = open_checked(data, f'"{member}"').size
        except NSTError as exc:
            raise PackError(f"{where}: {exc}") from None
        self.pixels += width * height
        if self.pixels > MAX_PACK_PIXELS:
            raise PackError(f"{self.label}: its images hold more than {MAX_PACK_PIXELS:,} pixels in all.")


def _safe_member(name: str) -> bool:
    if not name or "\\" in name or "\x00" in name or name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return False
    parts = PurePosixPath(name).parts
    return ".." not in parts and not any(part.startswith("/") for part in parts)


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, label: str, limit: int) -> bytes:
    if info.file_size > limit:
        raise PackError(f'{label}: "{info.filename}" is larger than {limit // 2**20} MiB.')
    try:
        with archive.open(info) as stream:
            data = stream.read(limit + 1)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError, ValueError) as exc:
        raise PackError(f'{label}: "{info.filename}" cannot be read ({exc}).') from None
    if len(data) > limit:
        raise PackError(f'{label}: "{info.filename}" is larger than {limit // 2**20} MiB.')
    return data


def _read_manifest(archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], label: str) -> dict:
    if MANIFEST not in members:
        raise PackError(f"{label} is not a style pack: it has no {MANIFEST}.")
    raw = _read_member(archive, members[MANIFEST], label, MAX_MANIFEST_BYTES)
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PackError(f"{label}: {MANIFEST} is not valid JSON ({exc}).") from None
    except RecursionError:
        raise PackError(f"{label}: {MANIFEST} is nested too deeply to be a style pack manifest.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise PackError(f'{label}: {MANIFEST} is not a style pack manifest (its "format" is not "{FORMAT}").')
    version = manifest.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise PackError(f'{label}: {MANIFEST} has no valid "version".')
    if version > VERSION:
        raise PackError(f"{label} is a version {version} pack; this app reads up to version {VERSION}. Update the app.")
    styles = manifest.get("styles")
    if not isinstance(styles, list) or not styles:
        raise PackError(f'{label}: {MANIFEST} lists no styles.')
    if len(styles) > MAX_STYLES:
        raise PackError(f"{label} has more than {MAX_STYLES} styles.")
    return manifest


def _read_style(members: dict[str, zipfile.ZipInfo], entry: Any, number: int, label: str,
                images: _PackImages) -> _PackStyle:
    where = f"{label}, style {number}"
    if not isinstance(entry, dict):
        raise PackError(f"{where}: expected an object with a name and an image.")
    try:
        name = validation.clean_name(entry.get("name"))
        where = f'{label}, style "{name}"'
        tags = entry.get("tags") or []
        if not isinstance(tags, list):
            raise LibraryError("tags must be a list of text.")
        fields = clean_fields(artist=entry.get("artist"), description=entry.get("description"), tags=tags,
                              suggested_params=entry.get("suggested_params"), year=entry.get("year"),
                              credit=entry.get("credit"))
    except LibraryError as exc:
        raise PackError(f"{where}: {exc}") from None
    member, sha256 = entry.get("image"), entry.get("sha256")
    if not isinstance(member, str) or not member:
        raise PackError(f'{where}: "image" must name an image file in the pack.')
    if not isinstance(sha256, str) or not _SHA256.match(sha256):
        raise PackError(f'{where}: "sha256" must be 64 lowercase hex digits.')
    if member not in members:
        raise PackError(f'{where}: the image file "{member}" is missing from the pack.')
    return _PackStyle(name, fields, images.get(member, sha256, where))
