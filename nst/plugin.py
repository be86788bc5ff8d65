"""The filter contract: what a plugin file provides.

A plugin is a Python file (in ``plugins/``, in a folder named by
``NST_PLUGIN_PATH``, or a module behind an ``nst.plugins`` entry point) with
either or both of these module-level names:

``FILTERS``
    a list of :class:`Filter` instances;
``STYLES``
    a list of :class:`StyleContribution` values, added to the style library.

A filter declares an ``id``, a display ``name``, a ``description``, a
``version``, what it needs (:class:`Needs`: a content image or not, how many
styles), typed parameters (:class:`~nst.params.Param`) and, optionally, named
:class:`Preset` values with their descriptions (whether each is a quick
preview is a field of the preset) and the ``default_preset`` a form starts
from (else the first one). The host resolves a chosen
preset into parameter values and checks them (:func:`nst.params.validate`)
and the inputs, and calls the filter's own :meth:`Filter.check`, once, when a
render is asked for; :meth:`Filter.run` later gets a :class:`RunInputs`, those
checked values as they are and a progress callback, and returns a
:class:`FilterResult`.
Progress and cancellation work as in the engine (:mod:`nst.progress`).

A complete example to copy is ``plugins/example_palette.py``.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Mapping, Sequence

import numpy as np
from PIL import Image

from .errors import NSTError
from .params import Param, declaration_problems
from .progress import Progress, ProgressCallback, is_cancelled

if TYPE_CHECKING:
    from .engine import Engine
    from .targets import StyleInput

ID_PATTERN = re.compile(r"^[a-z][a-z0-9_.-]{1,63}$")


@dataclass(frozen=True)
class Preset:
    """A named set of parameter values a filter offers (the app's row of presets, the CLI's ``--preset``)."""

    values: Mapping[str, Any]
    description: str = ""  # shown beside the preset's name
    preview: bool = False  # a quick preview: the render queue takes it before other renders


#: A preset declared as a plain mapping under this name is a quick preview (as it was before
#: :class:`Preset` could say so; a :class:`Preset` says it in its ``preview`` field).
PREVIEW_NAME = "fast"


def preset_of(declared: "Preset | Mapping[str, Any]", name: str | None = None) -> Preset:
    """A filter's preset named ``name`` as a :class:`Preset`: a plain mapping of values is one without a
    description, a preview when it is named :data:`PREVIEW_NAME`."""
    if isinstance(declared, Preset):
        return declared
    return Preset(dict(declared), preview=name == PREVIEW_NAME)


def default_preset(flt: "Filter") -> str | None:
    """The name of the preset ``flt`` starts from: its :attr:`Filter.default_preset`, else its first preset,
    else None (a filter without presets)."""
    names = list(flt.presets)
    if flt.default_preset in names:
        return flt.default_preset
    return names[0] if names else None


@dataclass(frozen=True)
class Needs:
    """What a filter takes as input."""

    content: bool = True  # a content image (a photo)
    min_styles: int = 1
    max_styles: int = 1
    vgg: bool = False  # uses the VGG19 engine (so it needs the weights installed)


@dataclass
class RunInputs:
    """What the host hands to :meth:`Filter.run`."""

    content: Image.Image | None  # 8-bit RGB, upright, or None when the filter needs none
    styles: list["StyleInput"]  # each has ``.image`` (8-bit RGB) and ``.pixel_digest``
    style_weights: list[float]
    cancel: threading.Event = field(default_factory=threading.Event)
    preview_every: int = 0  # ask for a preview image every this many steps (0: never)
    engine_provider: Callable[[], "Engine"] | None = None  # the shared VGG19 engine, built on first use
    snapshot_every: int = 0  # save the image into snapshot_dir every this many steps (0: never)
    snapshot_dir: Path | None = None  # a folder, made when the first snapshot is saved (the CLI's --snapshots)
    style_names: Sequence[str] = ()  # how the user named each style (a file, a saved style), for messages
    #: Told of each finished scale of a render that has scales: ``checkpoint(index, image)`` (the farm stores
    #: it); a filter without scales ignores it.
    checkpoint: Callable[[int, Any], None] | None = None
    #: Resume after a finished scale: ``(index, image)``, a checkpoint of an earlier attempt at the same render.
    resume: tuple[int, Any] | None = None

    @property
    def cancelled(self) -> bool:
        return is_cancelled(self.cancel)

    def engine(self) -> "Engine":
        """The shared engine (loads TensorFlow and VGG19 on first use)."""
        if self.engine_provider is None:
            from .engine import Engine

            self.engine_provider = lazy(Engine)
        return self.engine_provider()

    @property
    def style_images(self) -> list[Image.Image]:
        return [s.image for s in self.styles]


def lazy(factory: Callable[[], Any]) -> Callable[[], Any]:
    """A function that calls ``factory`` on its first call only, and returns that result ever after."""
    made: list = []
    lock = threading.Lock()

    def get():
        with lock:  # two threads asking first build it once
            if not made:
                made.append(factory())
            return made[0]

    return get


@dataclass
class FilterResult:
    image: np.ndarray | Image.Image  # (H, W, 3) float in [0, 1], or a PIL image
    metrics: dict[str, Any] = field(default_factory=dict)  # losses, steps, seconds... (JSON-able)
    cancelled: bool = False

    def array(self) -> np.ndarray:
        if isinstance(self.image, Image.Image):
            return np.asarray(self.image.convert("RGB"), dtype=np.float32) / 255.0
        return np.asarray(self.image, dtype=np.float32)

    def pil(self) -> Image.Image:
        if isinstance(self.image, Image.Image):
            return self.image.convert("RGB")
        from .images import to_pil

        return to_pil(self.image)


class Filter:
    """Base class for filters. Subclasses set the class attributes and implement :meth:`run`."""

    id: ClassVar[str] = ""
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    version: ClassVar[str] = "1.0"
    needs: ClassVar[Needs] = Needs()
    params: ClassVar[Sequence[Param]] = ()
    #: Named sets of parameter values offered in the app and the CLI (``--preset``): :class:`Preset`
    #: values, or plain mappings of parameter values.
    presets: ClassVar[Mapping[str, "Preset | Mapping[str, Any]"]] = {}
    #: The preset the app's form starts from and the CLI renders with when none is named (None: the first
    #: of :attr:`presets`); see :func:`default_preset`.
    default_preset: ClassVar[str | None] = None

    def check(self, inputs: RunInputs, params: Mapping[str, Any]) -> None:
        """Optional: refuse inputs that do not fit the (already validated) parameters, by raising
        :class:`~nst.errors.ParameterError` with the reason. Called before anything is recorded or run
        (a crop box outside its image, say); keep it cheap."""

    def run(self, inputs: RunInputs, params: Mapping[str, Any], progress: ProgressCallback) -> FilterResult:
        raise NotImplementedError

    def unavailable(self) -> str:
        """Optional: why this filter cannot run on this machine (one line that names what to install), or ""
        when it can. The filter stays listed with that reason, and the host refuses its renders at admission
        with it. Called whenever filters are listed: keep it cheap."""
        return ""

    def scale_sizes(self, inputs: RunInputs, params: Mapping[str, Any]) -> Sequence[tuple[int, int]] | None:
        """Optional, for a filter that reports finished scales through ``inputs.checkpoint``: the (width, height)
        of each scale a render of these inputs and checked ``params`` runs through, coarse to fine. The host
        reads a stored checkpoint back only when its declared size is its scale's here (None, the default:
        the filter has no scales, and it is never resumed)."""
        return None

    def prepare(self, engine: Any, styles: Sequence["StyleInput"], params: Mapping[str, Any]) -> None:
        """Optional: work out ahead of a render what this filter needs from its styles (for the built-in
        filters, their Gram targets), so that a later render with these checked ``params`` does not wait
        for it. The host calls it in the background for the styles plugins ship."""

    def __repr__(self) -> str:
        return f"<Filter {self.id} {self.version}>"


@dataclass(frozen=True)
class StyleContribution:
    """A style a plugin adds to the library: image bytes, or a function that makes the image.

    ``year`` and ``credit`` (where the image came from, its licence) are shown on the style's page;
    ``sample`` is a result made with the style (bytes, or a function returning bytes or a PIL image),
    shown on its gallery card until the user paints with it.
    """

    name: str
    data: bytes | None = None
    make: Callable[[], "bytes | Image.Image"] | None = None
    artist: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()
    suggested_params: Mapping[str, Any] | None = None
    year: str | None = None
    credit: str | None = None
    sample: "bytes | Callable[[], bytes | Image.Image] | None" = None

    def image_bytes(self) -> bytes:
        """The image as encoded bytes (PNG when ``make`` returns a PIL image)."""
        if self.data is not None:
            return bytes(self.data)
        return _encoded(self.make(), "make()")  # type: ignore[misc]

    def sample_bytes(self) -> bytes | None:
        if self.sample is None or isinstance(self.sample, (bytes, bytearray)):
            return None if self.sample is None else bytes(self.sample)
        return _encoded(self.sample(), "sample()")


def _encoded(made: Any, what: str) -> bytes:
    if isinstance(made, Image.Image):
        from .images import encode

        return encode(made.convert("RGB"), "PNG")
    if isinstance(made, (bytes, bytearray)):
        return bytes(made)
    raise TypeError(f"{what} returned a {type(made).__name__}, not bytes or a PIL image")


def filter_problems(item: Any) -> list[str]:
    """What is wrong with a filter's declaration (empty when it is fine)."""
    if not isinstance(item, Filter):
        return [f"{item!r} is not an nst.plugin.Filter"]
    problems = []
    if not isinstance(item.id, str) or not ID_PATTERN.match(item.id):
        problems.append(f"id {item.id!r} must be 2-64 characters: lowercase letters, digits, '_', '-' or '.'")
    if not isinstance(item.name, str) or not item.name.strip():
        problems.append("name must be a non-empty string")
    if not isinstance(item.version, str) or not item.version.strip():
        problems.append("version must be a non-empty string")
    needs = item.needs
    if not isinstance(needs, Needs):
        problems.append("needs must be an nst.plugin.Needs")
    elif not (0 <= needs.min_styles <= needs.max_styles) or needs.max_styles > 16:
        problems.append(f"styles must satisfy 0 <= min ({needs.min_styles}) <= max ({needs.max_styles}) <= 16")
    names = set()
    for param in item.params:
        if not isinstance(param, Param):
            problems.append(f"parameter {param!r} is not an nst.params.Param")
            continue
        problems += [f"parameter {param.name!r}: {p}" for p in declaration_problems(param)]
        if param.name in names:
            problems.append(f"parameter {param.name!r} is declared twice")
        names.add(param.name)
    declared = {p.name: p for p in item.params if isinstance(p, Param)}
    if item.default_preset is not None and item.default_preset not in dict(item.presets):
        problems.append(f"default_preset {item.default_preset!r} is not one of its presets")
    for preset, declared_preset in dict(item.presets).items():
        if not isinstance(declared_preset, (Preset, Mapping)):
            problems.append(f"preset {preset!r} must be an nst.plugin.Preset or a mapping of parameter values")
            continue
        values = preset_of(declared_preset).values
        unknown = set(values) - names
        if unknown:
            problems.append(f"preset {preset!r} sets unknown parameter(s) {', '.join(sorted(unknown))}")
            continue
        for name, value in dict(values).items():
            try:
                declared[name].coerce(value)
            except NSTError as exc:
                problems.append(f"preset {preset!r}: {exc}")
    if type(item).run is Filter.run:
        problems.append("run() is not implemented")
    return problems


def style_problems(item: Any) -> list[str]:
    if not isinstance(item, StyleContribution):
        return [f"{item!r} is not an nst.plugin.StyleContribution"]
    problems = []
    if not item.name or not item.name.strip():
        problems.append("a style needs a name")
    if (item.data is None) == (item.make is None):
        problems.append(f"style {item.name!r} needs exactly one of data and make")
    return problems


def report_step(progress: ProgressCallback | None, step: int, total: int, started: float, **extra) -> None:
    """Convenience for simple filters: report ``step`` of ``total``."""
    import time

    if progress is not None:
        progress(Progress(step=step, total=total, elapsed=time.perf_counter() - started, **extra))
