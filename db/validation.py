"""Checks and normalises what callers pass to the library: names, tags, sources, JSON data."""

from __future__ import annotations

import json
import math
import re
import unicodedata
from typing import Any, Iterable

from .errors import LibraryError


class DamagedRecordError(LibraryError):
    """A value stored in the database cannot be read back (too deep, too long, not JSON): it was not
    written by the library. The message says which and why, in one line."""

MAX_NAME = 100
MAX_TAG = 40
MAX_TAGS = 30
MAX_TEXT = 10_000
MAX_YEAR = 40
MAX_CREDIT = 2_000
#: Deepest nesting of JSON data (parameters, metrics) the library keeps.
MAX_JSON_DEPTH = 20
#: Longest a render's parameters may be, as the JSON text the library stores (characters). A text parameter
#: is at most 1,000 characters unless its filter says otherwise (nst.params); this leaves room for many.
MAX_PARAMS_JSON = 64 * 1024
#: Bounds on what a render's row may hold, in bytes as stored: a row past one was not written by the library
#: (which never writes that much) and is not read. Events: some 100 bytes per entry, a few dozen entries.
MAX_EVENTS_JSON = 1_000_000
#: Progress, losses and timings (a few dozen numbers each).
MAX_METRICS_JSON = 64 * 1024
#: A render's error text (the library keeps 10,000 characters, at most 4 bytes each).
MAX_ERROR_BYTES = 64 * 1024
#: A running render's preview JPEG (512 px on its long side: some 100 KB).
MAX_PREVIEW_BYTES = 8 * 1024 * 1024
#: Styles of one render: the most a filter may take (nst.plugin refuses a filter declaring more).
MAX_RENDER_STYLES = 16
#: Digits of an integer in stored JSON (the library stores none beyond 2**63, 19 digits).
MAX_INT_DIGITS = 20
_PLUGIN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,100}$")


def storable(text: str, what: str = "A text") -> str:
    """``text``, if it can be stored (UTF-8 has no unpaired surrogates, which a command line can carry)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise LibraryError(f"{what} holds characters that are not valid text (unpaired surrogates).") from None
    return text


def _collapse(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", storable(text)).split())


def fold(text: str) -> str:
    """The case-insensitive form of a text (for unique keys and search)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", _collapse(text)).casefold())


def _printable(text: str, what: str) -> None:
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise LibraryError(f"{what} must not contain control characters.")


def clean_name(name: object) -> str:
    """A style name: trimmed, single spaces, 1 to 100 characters."""
    if not isinstance(name, str):
        raise LibraryError(f"A style name must be text, not {type(name).__name__}.")
    cleaned = _collapse(name)
    if not cleaned:
        raise LibraryError("A style name must not be empty.")
    if len(cleaned) > MAX_NAME:
        raise LibraryError(f"A style name must be at most {MAX_NAME} characters; this one has {len(cleaned)}.")
    _printable(cleaned, "A style name")
    if len(fold(cleaned)) > 2 * MAX_NAME:
        raise LibraryError(f'The style name "{cleaned}" is too long.')
    return cleaned


def clean_optional(value: object, what: str, limit: int, multiline: bool = False) -> str | None:
    """Optional free text (artist, description): trimmed; empty means None."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise LibraryError(f"{what} must be text, not {type(value).__name__}.")
    cleaned = storable(value, what).strip() if multiline else _collapse(value)
    if not cleaned:
        return None
    if len(cleaned) > limit:
        raise LibraryError(f"{what} must be at most {limit} characters; this one has {len(cleaned)}.")
    if not multiline:
        _printable(cleaned, what)
    return cleaned


def clean_artist(artist: object) -> str | None:
    cleaned = clean_optional(artist, "An artist's name", MAX_NAME)
    if cleaned is not None and len(fold(cleaned)) > 2 * MAX_NAME:  # some characters fold to many (U+FDFA: 18)
        raise LibraryError(f"An artist's name must be at most {MAX_NAME} characters once case is folded; "
                           f"this one has {len(fold(cleaned))}.")
    return cleaned


def clean_description(description: object) -> str | None:
    return clean_optional(description, "A description", MAX_TEXT, multiline=True)


def clean_year(year: object) -> str | None:
    """When a work was made, as people write it: 1889, "c. 1831", "1913-1914"."""
    if isinstance(year, int) and not isinstance(year, bool):
        year = str(year)
    return clean_optional(year, "A year", MAX_YEAR)


def clean_credit(credit: object) -> str | None:
    """Where an image came from and its licence."""
    return clean_optional(credit, "A credit (source and licence)", MAX_CREDIT, multiline=True)


def clean_tag(tag: object) -> str:
    if not isinstance(tag, str):
        raise LibraryError(f"A tag must be text, not {type(tag).__name__}.")
    cleaned = fold(tag)
    if not cleaned:
        raise LibraryError("A tag must not be empty.")
    if "," in cleaned:
        raise LibraryError(f'The tag "{cleaned}" contains a comma; tags are separated by commas.')
    if len(cleaned) > MAX_TAG:
        raise LibraryError(f'The tag "{cleaned}" is longer than {MAX_TAG} characters.')
    _printable(cleaned, "A tag")
    return cleaned


def clean_tags(tags: str | Iterable[str] | None) -> list[str]:
    """Tags, casefolded, without repeats, in the order given. A string is split on commas."""
    if tags is None:
        return []
    if isinstance(tags, str):
        tags = [t for t in tags.split(",") if t.strip()]
    result: list[str] = []
    for tag in tags:
        cleaned = clean_tag(tag)
        if cleaned not in result:
            result.append(cleaned)
    if len(result) > MAX_TAGS:
        raise LibraryError(f"A style can have at most {MAX_TAGS} tags, not {len(result)}.")
    return result


def plugin_source(plugin_id: object) -> str:
    if not isinstance(plugin_id, str) or not _PLUGIN_ID.match(plugin_id):
        raise LibraryError(f"{plugin_id!r} is not a valid plugin id (letters, digits, '_', '.', '-').")
    return f"plugin:{plugin_id}"


def clean_source(source_label: object) -> str:
    """``"upload"`` or ``"plugin:<plugin id>"``."""
    if source_label == "upload":
        return "upload"
    if isinstance(source_label, str) and source_label.startswith("plugin:"):
        return plugin_source(source_label[len("plugin:"):])
    raise LibraryError(f'A style\'s source must be "upload" or "plugin:<plugin id>", not {source_label!r}.')


def to_json(value: Any, what: str, depth: int = 0) -> Any:
    """``value`` as plain JSON data (numpy scalars become numbers; NaN and infinities become null)."""
    if depth > MAX_JSON_DEPTH:
        raise LibraryError(f"{what} is nested more than {MAX_JSON_DEPTH} levels deep.")
    if isinstance(value, str):
        return storable(value, what)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) > 2 ** 63:
            raise LibraryError(f"{what} holds a number too large to store.")
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise LibraryError(f"{what} must have text keys; {key!r} is not text.")
            storable(key, what)
            out[key] = to_json(item, what, depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        return [to_json(item, what, depth + 1) for item in value]
    item = getattr(value, "item", None)  # numpy scalars and 0-d arrays
    if callable(item) and getattr(value, "shape", None) == ():
        return to_json(item(), what, depth + 1)
    raise LibraryError(f"{what} must be JSON data (numbers, text, lists, dicts); {type(value).__name__} is not.")


def to_json_object(value: Any, what: str, optional: bool = True) -> dict | None:
    if value is None and optional:
        return None
    if not isinstance(value, dict):
        raise LibraryError(f"{what} must be a dict, not {type(value).__name__}.")
    return to_json(value, what)


def bounded_json_object(value: Any, what: str, limit: int) -> dict:
    """``value`` as plain JSON data (see :func:`to_json`) whose stored text is at most ``limit`` characters."""
    data = to_json_object(value, what, optional=False)
    size = len(json.dumps(data))  # as the database column stores it (ASCII, escapes included)
    if size > limit:
        raise LibraryError(f"{what} take {size:,} characters; at most {limit:,} are kept.")
    return data


_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_A_BRACKET = re.compile(r'[^\[\]{}]+')
_INNERMOST = re.compile(r'\[\]|\{\}')


def _nesting_within(text: str, limit: int) -> bool:
    """Whether the JSON ``text`` nests at most ``limit`` levels, found without recursion: strings dropped,
    then only brackets kept, then innermost pairs removed once per level (each pass is one C loop)."""
    brackets = _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", text))
    for _ in range(limit):
        if not brackets:
            return True
        brackets, removed = _INNERMOST.subn("", brackets)
        if not removed:
            return True  # unbalanced: not JSON, which the decoder says
    return not brackets


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {len(digits):,} digits")
    return int(digits)


def load_json(data: str | bytes | None, what: str, limit: int) -> Any:
    """Stored JSON text -> data, the one way the library decodes what a database row holds (None stays
    None). Refused with :class:`DamagedRecordError` (a one-line reason) instead of decoded: more than
    ``limit`` bytes, nested deeper than :data:`MAX_JSON_DEPTH`, an integer of more than
    :data:`MAX_INT_DIGITS` digits, or anything that is not JSON. Costs at most a few times ``limit``."""
    if data is None:
        return None
    if isinstance(data, memoryview):
        data = bytes(data)
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise DamagedRecordError(f"{what} take {size:,} bytes, more than the {limit:,} the library writes.")
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        if not _nesting_within(text, MAX_JSON_DEPTH + 1):
            raise ValueError(f"nested more than {MAX_JSON_DEPTH} levels deep")
        return json.loads(text, parse_int=_bounded_int)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        why = " ".join(str(exc).split())[:120]
        raise DamagedRecordError(f"{what} are not JSON the library could have written ({why}).") from None
