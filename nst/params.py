"""Typed parameter declarations: declared once, they drive validation, CLI options and widgets.

A filter (see :mod:`nst.plugin`) lists its parameters as :class:`Param`
values. :func:`validate` turns user input (strings from a command line,
numbers from a widget) into checked, typed values, or raises
:class:`~nst.errors.ParameterError` naming the parameter and its bounds, before
any work starts.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping, Sequence

from .errors import ParameterError

KINDS = ("float", "int", "bool", "choice", "text", "size", "layers", "boxes")
#: Kinds whose values are written as one line of text on a command line and in the app's form (the text is
#: parsed at admission into the typed value; :meth:`Param.text` writes a value back).
TEXT_KINDS = ("text", "layers", "boxes")
#: Longest text value a "text" parameter takes unless its declaration says otherwise (``max_length``).
DEFAULT_MAX_LENGTH = 1_000
#: Characters of a refused value shown in the error message.
_SHOWN = 60
_TRUE = {"1", "true", "yes", "on", "y"}
_FALSE = {"0", "false", "no", "off", "n"}
#: A layer weight as the text may give it: plain decimal digits, a point, an exponent.
_WEIGHT = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?", re.ASCII)


@dataclass(frozen=True)
class Param:
    name: str  # identifier: letters, digits and underscores
    # One of KINDS. "size": (width, height), written "WxH"; min and max bound each side. "layers": VGG19
    # layers with weights, ((name, weight), ...), written "block1_conv1,block3_conv1:2"; choices are the layer
    # names, max bounds a weight. "boxes": crop boxes, ((x, y, w, h) or None, ...), written "x,y,w,h;..."
    # (:mod:`nst.crops`). A checked value is always the typed one, never its text.
    kind: str
    default: Any
    help: str = ""
    label: str = ""  # shown in the app; defaults to the name, humanised
    min: float | None = None
    max: float | None = None
    step: float | None = None
    choices: tuple = ()
    advanced: bool = False  # tucked away in the app unless asked for
    log: bool = False  # spans orders of magnitude (the app shows it in scientific notation)
    hidden: bool = False  # set by a filter's presets only: neither the app nor the CLI shows it
    #: A number that means "not set", allowed besides min..max (style_size 0: the result's size decides).
    unset: float | None = None
    #: Longest value of a "text" parameter, in characters (None: :data:`DEFAULT_MAX_LENGTH`).
    max_length: int | None = None

    def __post_init__(self) -> None:
        problems = declaration_problems(self)
        if problems:
            raise ParameterError(f"Parameter {self.name!r} is declared wrongly: {problems[0]}")

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    @property
    def longest(self) -> int:
        """The most characters a "text" value may have."""
        return DEFAULT_MAX_LENGTH if self.max_length is None else self.max_length

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")

    def bounds_text(self) -> str:
        if self.kind == "layers":
            return (f"comma-separated layers of {', '.join(map(str, self.choices))}, each with an optional weight "
                    f"(block3_conv1:2)")
        if self.kind == "boxes":
            return (f"x,y,w,h in pixels (at least {self.min or 1:g} px a side), or one box per style separated "
                    f"by ';' (empty: the whole image)")
        if self.kind == "size":
            low = "" if self.min is None else f"{self.min:g}"
            high = "" if self.max is None else f"{self.max:g}"
            sides = (f"each side between {low} and {high}" if low and high else
                     f"each side at least {low}" if low else f"each side at most {high}" if high else "")
            return "WIDTHxHEIGHT in pixels (or one number for a square)" + (f", {sides}" if sides else "")
        if self.kind == "choice":
            return "one of " + ", ".join(map(str, self.choices))
        if self.kind == "bool":
            return "true or false"
        if self.kind == "text":
            return f"text of at most {self.longest:,} characters"
        if self.min is not None and self.max is not None:
            bounds = f"between {self.min:g} and {self.max:g}"
        elif self.min is not None:
            bounds = f"at least {self.min:g}"
        elif self.max is not None:
            bounds = f"at most {self.max:g}"
        else:
            bounds = "a number" if self.kind in ("float", "int") else "text"
        return bounds if self.unset is None else f"{self.unset:g} (not set) or {bounds}"

    def coerce(self, value: Any) -> Any:
        """A typed, checked value, or ParameterError naming this parameter and its bounds."""
        def fail(reason: str = "") -> ParameterError:
            got = f"got {shown_value(value)}" + (f" ({reason})" if reason else "")
            return ParameterError(f"{self.name} must be {self.bounds_text()}; {got}.")

        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
                return value.strip().lower() in _TRUE
            if isinstance(value, (int, float)) and value in (0, 1):
                return bool(value)
            raise fail()
        if self.kind == "choice":
            for choice in self.choices:
                if value == choice or (isinstance(value, str) and str(choice) == value.strip()):
                    return choice
            raise fail()
        if self.kind == "text":
            if not isinstance(value, str):
                raise fail()
            if len(value) > self.longest:
                raise fail(f"{len(value):,} characters")
            return value
        if self.kind == "size":
            return self._coerce_size(value, fail)
        if self.kind == "layers":
            return self._coerce_layers(value, fail)
        if self.kind == "boxes":
            return self._coerce_boxes(value, fail)
        # numbers
        if isinstance(value, bool):
            raise fail()
        try:
            number = float(value.strip()) if isinstance(value, str) else float(value)
        except (TypeError, ValueError):
            raise fail("not a number") from None
        if not math.isfinite(number):
            raise fail()
        if self.kind == "int":
            if number != int(number):
                raise fail("not a whole number")
            number = int(number)
        if number == self.unset:
            return number
        if (self.min is not None and number < self.min) or (self.max is not None and number > self.max):
            raise fail()
        return number


    def _coerce_size(self, value: Any, fail) -> tuple[int, int]:
        """``"1024x768"``, ``"512"`` (a square), ``(1024, 768)``, ``[1024, 768]`` (stored JSON) -> ``(1024, 768)``."""
        if isinstance(value, str):
            parts = value.strip().lower().replace("×", "x").split("x")
            parts = [p.strip() for p in parts]
        elif isinstance(value, (tuple, list)):
            parts = list(value)
        else:
            parts = [value]
        if len(parts) == 1:
            parts = parts * 2
        if len(parts) != 2 or any(isinstance(p, bool) for p in parts):
            raise fail("not WIDTHxHEIGHT")
        sides = []
        for part in parts:
            try:
                number = float(part)
            except (TypeError, ValueError, OverflowError):
                raise fail("not WIDTHxHEIGHT") from None
            if not math.isfinite(number) or number != int(number):
                raise fail("not whole numbers")
            if (self.min is not None and number < self.min) or (self.max is not None and number > self.max):
                raise fail()
            sides.append(int(number))
        return sides[0], sides[1]

    def _coerce_layers(self, value: Any, fail) -> tuple[tuple[str, float], ...]:
        """``"block1_conv1,block3_conv1:2"``, or (stored JSON) ``[["block1_conv1", 1.0], "block3_conv1"]`` ->
        ``(("block1_conv1", 1.0), ("block3_conv1", 2.0))``: known layers, none twice, each weight above 0 and
        at most ``max``."""
        names = ", ".join(map(str, self.choices))
        if isinstance(value, str):
            self._short_text(value)
            items = []
            for item in (part.strip() for part in value.split(",")):
                if item:
                    name, colon, weight = (piece.strip() for piece in item.partition(":"))
                    items.append((name, (float(weight) if _WEIGHT.fullmatch(weight) else weight) if colon else 1.0))
        elif isinstance(value, (list, tuple)) and len(value) <= 4 * max(1, len(self.choices)):
            items = [(item, 1.0) if isinstance(item, str) else
                     tuple(item) if isinstance(item, (list, tuple)) and len(item) == 2 else (item, None)
                     for item in value]
        else:
            raise fail()
        layers = []
        for name, weight in items:
            if name not in self.choices:
                raise ParameterError(f"{self.name} must be a comma-separated list of {names}, each with an "
                                     f"optional weight (block3_conv1:2); {shown_value(name)} is not one of them.")
            good = (isinstance(weight, (int, float)) and not isinstance(weight, bool) and math.isfinite(weight)
                    and 0 < weight <= (math.inf if self.max is None else self.max))
            if not good:
                high = "" if self.max is None else f" and at most {self.max:g}"
                raise ParameterError(f"The weight of style layer {name} must be a number above 0{high} (leave a "
                                     f"layer out to turn it off); got {shown_value(weight)}.")
            layers.append((name, float(weight)))
        if not layers:
            raise ParameterError(f"{self.name} must name at least one of {names}; got {shown_value(value)}.")
        if len({name for name, _ in layers}) != len(layers):
            raise ParameterError("Style layers must not repeat.")
        return tuple(layers)

    def _short_text(self, value: str) -> None:
        """The text of a typed value is read only when it is no longer than a text parameter's."""
        if len(value) > DEFAULT_MAX_LENGTH:
            raise ParameterError(f"{self.name} must be text of at most {DEFAULT_MAX_LENGTH:,} characters; got "
                                 f"{shown_value(value)} ({len(value):,} characters).")

    def _coerce_boxes(self, value: Any, fail) -> tuple:
        """``"x,y,w,h"`` or ``"x,y,w,h; ;x,y,w,h"``, or (stored JSON) ``[[x, y, w, h], null]`` -> checked boxes
        (None: a style's whole image; () when none is given): :func:`check_boxes`, each side at least ``min``."""
        if isinstance(value, str):
            self._short_text(value)
            text, boxes = value.strip(), []
            for index, entry in enumerate(text.split(";") if text else ()):
                entry = entry.strip()
                try:
                    box = tuple(int(part.strip()) for part in entry.split(",")) if entry else None
                except ValueError:
                    box = ()
                if box is not None and len(box) != 4:
                    where = f" (box {index + 1})" if ";" in text else ""
                    raise ParameterError(f"{self.name} must be x,y,w,h in pixels, e.g. {BOX_EXAMPLE}; got "
                                         f"{shown_value(entry)}{where}.")
                boxes.append(box)
        elif isinstance(value, (list, tuple)) and len(value) <= 64:
            boxes = [tuple(box) if isinstance(box, (list, tuple)) else box for box in value]
        else:
            raise fail()
        return check_boxes(boxes, int(self.min or 1))

    def text(self, value: Any) -> str:
        """A checked value as a command line or the app's form writes it (and :meth:`coerce` reads back)."""
        if self.kind == "size":
            return f"{value[0]}x{value[1]}"
        if self.kind == "layers":
            def number(weight: float) -> str:
                short = f"{weight:g}"
                return short if float(short) == weight else repr(float(weight))

            return ",".join(name if weight == 1 else f"{name}:{number(weight)}" for name, weight in value)
        if self.kind == "boxes":
            return ";".join("" if box is None else ",".join(map(str, box)) for box in value)
        return str(value)


def shown_value(value: Any) -> str:
    """A refused value as an error message shows it: its repr, cut short (a value may be megabytes long)."""
    if isinstance(value, str) and len(value) > _SHOWN:
        return repr(value[:_SHOWN]) + "..."
    if isinstance(value, (list, tuple, dict, set)) and len(value) > 8:
        return f"a {type(value).__name__} of {len(value):,} items"
    text = repr(value)
    return text if len(text) <= 2 * _SHOWN else text[:2 * _SHOWN] + "..."


def blend_weights(weights: Any, count: int | None = None, *, name: str = "Style weights") -> tuple[float, ...]:
    """Blend weights checked, the one place they are: a list of numbers (``count`` of them, one per
    style, when given), each finite and at least 0, not all 0 (an empty list is no blend). ``name``
    names them in the error message (``--style-weights`` on a command line)."""
    if isinstance(weights, (str, bytes, Mapping)) or not isinstance(weights, Sequence):
        raise ParameterError(f"{name} must be a list of numbers, got {shown_value(weights)}.")
    if count is not None and len(weights) != count:
        raise ParameterError(f"{name}: {len(weights)} value{'s' if len(weights) != 1 else ''} for {count} "
                             f"style{'s' if count != 1 else ''}.")
    try:
        if any(isinstance(w, (bool, str, bytes)) for w in weights):
            raise TypeError
        checked = tuple(float(w) for w in weights)
    except (TypeError, ValueError, OverflowError):
        raise ParameterError(f"{name} must be numbers, got {shown_value(weights)}.") from None
    if not all(math.isfinite(w) and w >= 0 for w in checked):
        raise ParameterError(f"{name} must be finite numbers of at least 0, got {shown_value(list(checked))}.")
    if checked and not any(w > 0 for w in checked):
        raise ParameterError(f"{name} must not all be 0.")
    return checked


#: A crop box as an example in messages.
BOX_EXAMPLE = "120,40,400,300"


def check_boxes(boxes: Sequence[Any], min_side: int, sizes: Sequence[tuple[int, int]] | None = None,
                names: Sequence[str] | None = None) -> tuple:
    """Crop boxes ((x, y, w, h) in a style image's pixels, or None for its whole image) checked, the one place
    they are (:mod:`nst.crops` calls it). Without ``sizes``: each box on its own (four whole numbers, its corner
    in the image, each side at least ``min_side``), and () when no box is given. With the styles' (width,
    height) ``sizes``: one box (or None) per style (a single box applies to every style), each inside its image."""
    boxes = tuple(boxes)
    for box in boxes:
        if box is None:
            continue
        if not (isinstance(box, tuple) and len(box) == 4
                and all(isinstance(v, int) and not isinstance(v, bool) for v in box)):
            raise ParameterError(f"crop {shown_value(box)}: a box is four whole numbers x,y,w,h.")
        x, y, w, h = box
        problem = None
        if x < 0 or y < 0:
            problem = f"its corner ({x}, {y}) is outside the image (x and y start at 0)"
        elif w < min_side or h < min_side:
            problem = f"{w}x{h} px is smaller than {min_side}x{min_side} px"
        if problem:
            raise ParameterError(f"crop {x},{y},{w},{h}: {problem}.")
    if sizes is None:
        return () if all(b is None for b in boxes) else boxes
    count = len(sizes)
    if not any(b is not None for b in boxes):
        return (None,) * count
    if len(boxes) == 1:
        boxes = boxes * count
    elif len(boxes) != count:
        raise ParameterError(f"crop has {len(boxes)} boxes for {count} style{'s' if count != 1 else ''}: "
                             f"give one box for all, or one per style separated by ';'.")
    for index, (box, (width, height)) in enumerate(zip(boxes, sizes)):
        if box is not None and (box[0] + box[2] > width or box[1] + box[3] > height):
            label = names[index] if names else (f"style {index + 1}" if count > 1 else "the style image")
            x, y, w, h = box
            raise ParameterError(f"crop {x},{y},{w},{h}: it reaches ({x + w}, {y + h}), outside {label} "
                                 f"({width}x{height} px).")
    return boxes


def parse_size(value: str | tuple[int, int]) -> tuple[int, int]:
    """A checked size (``(width, height)``, or its ``"WxH"`` text) -> (width, height)."""
    width, height = value.split("x") if isinstance(value, str) else value
    return int(width), int(height)


def declaration_problems(param: Param) -> list[str]:
    """What is wrong with a declaration (empty when it is fine)."""
    problems = []
    if not isinstance(param.name, str) or not param.name.isidentifier():
        problems.append("the name must be an identifier")
    if param.kind not in KINDS:
        problems.append(f"kind must be one of {', '.join(KINDS)}, not {param.kind!r}")
        return problems
    if param.kind in ("choice", "layers") and not param.choices:
        problems.append(f"a {param.kind} parameter needs choices")
    if param.min is not None and param.max is not None and param.min > param.max:
        problems.append(f"min {param.min} is above max {param.max}")
    if param.unset is not None and param.kind not in ("float", "int"):
        problems.append("only a number can have an unset value")
    if param.max_length is not None and (param.kind != "text" or isinstance(param.max_length, bool)
                                         or not isinstance(param.max_length, int) or param.max_length < 1):
        problems.append("only a text parameter has a max_length, a whole number of at least 1")
    if param.kind in ("float", "int", "size") and param.step is not None and param.step <= 0:
        problems.append("step must be positive")
    if param.kind in ("int", "size") and param.step is not None and param.step != int(param.step):
        problems.append(f"an {param.kind} parameter needs a whole step")
    if not problems:
        try:
            Param.coerce(param, param.default)
        except ParameterError as exc:
            problems.append(f"the default is invalid ({exc})")
    return problems


def validate(params: Sequence[Param], values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every parameter's value: given values checked, the rest defaulted. Unknown names are refused."""
    values = dict(values or {})
    known = {p.name: p for p in params}
    unknown = [name for name in values if name not in known]
    if unknown:
        raise ParameterError(
            f"Unknown parameter {shown_value(unknown[0])}; known parameters: {', '.join(known) or 'none'}."
        )
    return {p.name: (p.coerce(values[p.name]) if p.name in values else p.default) for p in params}


def parse_assignments(items: Iterable[str]) -> dict[str, str]:
    """``["size=256", "seed=3"]`` -> ``{"size": "256", "seed": "3"}``."""
    parsed = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ParameterError(f"Expected name=value, got {item!r}.")
        parsed[name.strip().replace("-", "_")] = value
    return parsed


def with_defaults(params: Sequence[Param], defaults: Mapping[str, Any]) -> list[Param]:
    """The same declarations with other defaults (e.g. a preset's)."""
    out = []
    for p in params:
        out.append(replace(p, default=p.coerce(defaults[p.name])) if p.name in defaults else p)
    return out
