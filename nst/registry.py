"""Plugin discovery and isolation: the registry of filters and contributed styles.

Plugins are found in three places, each loaded on its own under a namespaced
module name (``nst_plugins.<origin>.<name>``), so two folders may both have a
``blur.py``:

* the built-in ``plugins/`` folder next to the ``nst`` package;
* every folder in ``NST_PLUGIN_PATH`` (separated by ``os.pathsep``);
* modules registered under the ``nst.plugins`` entry-point group.

Files whose names start with ``_`` are skipped. A plugin that fails to import
(a syntax error, an exception), declares something invalid, or reuses a
filter id is recorded as failed with its reason; the others load as usual.
Every plugin file, the built-in folder's too, is first imported in a child
process, so one that ends the interpreter or hangs at import is reported
instead of ending the host (:mod:`nst.plugin_probe`).

:meth:`Registry.admit` is the admission check every render goes through: a preset named
among the parameters is resolved there into the filter's values, every value
is checked, and the inputs too. What comes out is plain values that a render
record stores. A record may have been written by anyone who can write to the
database, so a worker takes it through admission again: :meth:`Registry.admit_stored`
before it reads the render's images, :meth:`Registry.run_admitted` (the inputs
and the filter's own check) before the filter runs. :meth:`Registry.run` checks
and runs at once (the CLI's ``run``, ``transfer`` and ``texture``). A
filter's exceptions come back as a :class:`PluginError` naming it, so a
broken filter never takes the host down.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

from . import config, files
from .errors import NSTError, ParameterError
from .params import blend_weights, shown_value, validate
from .plugin import (Filter, FilterResult, RunInputs, StyleContribution, filter_problems, preset_of,
                     style_problems)
from .progress import ProgressCallback

if TYPE_CHECKING:
    from .targets import StyleInput

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "plugins"
ENV_VAR = "NST_PLUGIN_PATH"
DISABLED_VAR = "NST_DISABLED_PLUGINS"
ENTRY_POINT_GROUP = "nst.plugins"
#: The plugin files the project ships in :data:`BUILTIN_DIR` (labelled "builtin"; any other file there is
#: labelled "plugins/"). Every one of them is probed all the same.
SHIPPED = frozenset({"example_palette.py", "instant.py", "starter_collection.py", "style_transfer.py",
                     "texture_synthesis.py"})

log = logging.getLogger(__name__)


class PluginError(NSTError):
    """A plugin failed: at import, in its declaration, or while running."""


@dataclass
class PluginInfo:
    """One plugin source (a file or an entry point) and what became of it."""

    id: str  # the file's stem or the entry point's name; styles' source is "plugin:<id>"
    origin: str  # "builtin" (shipped), "plugins/" (added to the built-in folder), "folder" or "entry point"
    location: str  # a path, or "module:object" for an entry point
    status: str = "loaded"  # "loaded", "failed" or "disabled" (named in NST_DISABLED_PLUGINS)
    error: str = ""  # why it failed (one line), when it did
    details: str = ""  # the traceback, for the curious
    filters: list[str] = field(default_factory=list)
    styles: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # parts refused while the rest loaded

    @property
    def ok(self) -> bool:
        return self.status == "loaded"

    @property
    def disabled(self) -> bool:
        return self.status == "disabled"


@dataclass(frozen=True)
class Admitted:
    """A render let through admission: its checked parameter values, and whether it is a quick preview."""

    params: dict[str, Any]
    preview: bool = False


#: The key under which a render's parameters name a preset, on the way in (and in renders recorded
#: before presets were resolved on the way in).
PRESET_KEY = "preset"


@dataclass
class FilterEntry:
    filter: Filter
    plugin: PluginInfo
    last_error: str = ""  # the last run's failure, if it failed


class Registry:
    """Filters and styles from every plugin; thread-safe for reads and runs."""

    def __init__(self) -> None:
        self.probe = False
        self.plugins: list[PluginInfo] = []
        self._filters: dict[str, FilterEntry] = {}
        self._styles: list[tuple[PluginInfo, StyleContribution]] = []
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ discovery

    @classmethod
    def discover(cls, folders: Iterable[Path] | None = None, *, builtin: bool = True,
                 entry_points: bool = True, probe: bool = True) -> "Registry":
        """A registry loaded from the built-in folder, ``folders`` (default: ``NST_PLUGIN_PATH``)
        and the ``nst.plugins`` entry points. With ``probe``, every plugin file (the built-in folder's
        too) is first imported in a child process (:mod:`nst.plugin_probe`): all of them in one child."""
        registry = cls()
        registry.probe = probe
        if folders is None:
            folders = config.value(ENV_VAR)
        registry._load_folders(([(BUILTIN_DIR, "builtin")] if builtin else [])
                               + [(Path(folder), "folder") for folder in folders])
        if entry_points:
            registry.load_entry_points()
        return registry

    def load_folder(self, folder: Path, origin: str = "folder") -> None:
        self._load_folders([(folder, origin)])

    def load_files(self, paths: Iterable[Path], origin: str = "folder") -> None:
        """Load plugin files, probed first all in one child (see :meth:`load_file`)."""
        self._load([(Path(path), origin, False) for path in paths])

    def _load_folders(self, folders: Sequence[tuple[Path, str]]) -> None:
        """Load the plugin files of (folder, origin) pairs, in order."""
        found: list[tuple[Path, str, bool]] = []  # (path, origin, whether it is a folder that is not there)
        for folder, origin in folders:
            if not folder.is_dir():
                found.append((folder, origin, True))
                continue
            found += [(path, origin, False) for path in sorted(folder.glob("*.py")) if not path.name.startswith("_")]
        self._load(found)

    def _load(self, found: Sequence[tuple[Path, str, bool]]) -> None:
        """Load (path, origin, whether it is a folder that is not there) in order, every file probed first, all
        in one child (one Python start, not one per file or folder)."""
        verdicts: dict[tuple[Path, str], Any] = {}
        if self.probe:
            from .plugin_probe import probe_files

            wanted = [(path, origin) for path, origin, missing in found
                      if not missing and path.stem not in disabled_ids()]
            verdicts = dict(zip(wanted, probe_files([(_module_name(path, _label(path, origin)), path)
                                                     for path, origin in wanted])))
        for path, origin, missing in found:
            if missing:
                self.plugins.append(PluginInfo(id=path.name or str(path), origin=origin, location=str(path),
                                               status="failed", error=f"{path} is not a folder"))
            else:
                self.load_file(path, origin, probed=verdicts.get((path, origin)))

    def load_file(self, path: Path, origin: str = "folder", *, probed: Any = None) -> PluginInfo:
        """Load one plugin file. With :attr:`probe`, it is first tried in a child process (``probed``: that
        trial's :class:`~nst.plugin_probe.Probed`, when the caller has it) and the host imports the bytes
        the trial judged. A file in the built-in folder that the project does not ship is labelled
        ``plugins/``, not ``builtin``."""
        origin = _label(path, origin)
        info = PluginInfo(id=path.stem, origin=origin, location=str(path))
        if self._skip_disabled(info):
            return info
        module_name = _module_name(path, origin)
        if self.probe and probed is None:
            from .plugin_probe import probe_file

            probed = probe_file(path, module_name)
        if probed is not None and not probed.ok:
            info.status, info.error, info.details = "failed", probed.problem, probed.details
            self.plugins.append(info)
            return info
        from .plugin_probe import MAX_PLUGIN_BYTES, spec_for

        if probed is None:  # not probed: read here all the same as the probe reads (a FIFO never blocks)
            try:
                source, _ = files.read_regular(path, MAX_PLUGIN_BYTES)
            except OSError as exc:
                info.status, info.error = "failed", f"cannot be read ({exc.strerror or exc})"
                self.plugins.append(info)
                return info
        else:
            source = probed.source
        try:
            spec = spec_for(module_name, path, source)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load {path}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            spec.loader.exec_module(module)
        except BaseException as exc:  # noqa: BLE001 - a plugin must never take the host down
            sys.modules.pop(module_name, None)
            if isinstance(exc, KeyboardInterrupt):
                raise
            self._fail(info, exc)
            return info
        self._register(info, module)
        return info

    def load_entry_points(self) -> None:
        for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
            info = PluginInfo(id=entry.name, origin="entry point", location=entry.value)
            if self._skip_disabled(info):
                continue
            try:
                loaded = entry.load()
            except BaseException as exc:  # noqa: BLE001
                if isinstance(exc, KeyboardInterrupt):
                    raise
                self._fail(info, exc)
                continue
            self._register(info, loaded)

    def _skip_disabled(self, info: PluginInfo) -> bool:
        """A plugin named in NST_DISABLED_PLUGINS is listed, never imported."""
        if info.id not in disabled_ids():
            return False
        info.status, info.error = "disabled", f"disabled by {DISABLED_VAR}"
        self.plugins.append(info)
        return True

    def _fail(self, info: PluginInfo, exc: BaseException) -> None:
        info.status = "failed"
        if isinstance(exc, SyntaxError):
            info.error = f"syntax error at line {exc.lineno}: {exc.msg}"
        else:
            info.error = f"{type(exc).__name__}: {exc}"
        info.details = "".join(traceback.format_exception(exc))
        self.plugins.append(info)

    def _register(self, info: PluginInfo, module: ModuleType | Any) -> None:
        try:
            filters = getattr(module, "FILTERS", [])
            styles = getattr(module, "STYLES", [])
        except Exception as exc:  # noqa: BLE001 - a module may define __getattr__
            self._fail(info, exc)
            return
        if not isinstance(filters, (list, tuple)) or not isinstance(styles, (list, tuple)):
            info.status, info.error = "failed", "FILTERS and STYLES must be lists"
            self.plugins.append(info)
            return
        if not filters and not styles:
            info.status, info.error = "failed", "defines neither FILTERS nor STYLES"
            self.plugins.append(info)
            return
        with self._lock:
            for item in filters:
                problems = _safely(filter_problems, item)
                if not problems and item.id in self._filters:
                    owner = self._filters[item.id].plugin
                    problems = [f"duplicate filter id {item.id!r} (already provided by {owner.location})"]
                if problems:
                    info.problems.append(f"filter {getattr(item, 'id', item)!r} refused: {problems[0]}")
                    continue
                self._filters[item.id] = FilterEntry(item, info)
                info.filters.append(item.id)
            for item in styles:
                problems = _safely(style_problems, item)
                if problems:
                    info.problems.append(f"style refused: {problems[0]}")
                    continue
                self._styles.append((info, item))
                info.styles.append(item.name)
        if info.problems and not info.filters and not info.styles:
            info.status, info.error = "failed", info.problems[0]
        self.plugins.append(info)

    # ------------------------------------------------------------------ queries

    def filters(self, *, content: bool | None = None) -> list[Filter]:
        """Loaded filters, optionally only those that do (or do not) take a content image."""
        with self._lock:
            found = [e.filter for e in self._filters.values()]
        return [f for f in found if content is None or f.needs.content == content]

    def entry(self, filter_id: str) -> FilterEntry:
        with self._lock:
            entry = self._filters.get(filter_id)
        if entry is None:
            failed = [p for p in self.plugins if not p.ok and filter_id in (p.id, *p.filters)]
            reason = f" (its plugin failed to load: {failed[0].error})" if failed else ""
            known = ", ".join(sorted(self._filters)) or "none"
            raise PluginError(f"No filter {shown_value(filter_id)}{reason}; available: {known}.")
        return entry

    def get(self, filter_id: str) -> Filter:
        return self.entry(filter_id).filter

    def unavailable(self, filter_id: str) -> str:
        """Why a loaded filter cannot run here (its :meth:`~nst.plugin.Filter.unavailable`), or ""."""
        flt = self.get(filter_id)
        try:
            return str(flt.unavailable() or "")
        except Exception as exc:  # noqa: BLE001 - a broken declaration is reported, never raised as a crash
            return f"its availability check failed: {type(exc).__name__}: {exc}"

    def failures(self) -> list[PluginInfo]:
        """Plugins that failed, or had parts refused, or whose filters failed when run."""
        with self._lock:
            run_failures = {e.plugin.location for e in self._filters.values() if e.last_error}
        return [p for p in self.plugins
                if (not p.ok and not p.disabled) or p.problems or p.location in run_failures]

    def run_errors(self) -> dict[str, str]:
        with self._lock:
            return {fid: e.last_error for fid, e in self._filters.items() if e.last_error}

    def styles(self) -> list[tuple[PluginInfo, StyleContribution]]:
        return list(self._styles)

    # ------------------------------------------------------------------ running

    def admit(self, filter_id: str, inputs: RunInputs, params: Mapping[str, Any] | None = None) -> Admitted:
        """Admission: a named preset resolved into the filter's values, then every parameter and input
        checked, once; raises before any work if they do not fit."""
        flt = self.get(filter_id)
        checked, preview = self._resolved(flt, params)
        self._check_inputs(flt, inputs, checked)
        return Admitted(checked, preview)

    def admit_stored(self, filter_id: str, params: Any, *, content: bool, style_weights: Sequence[Any]) -> Admitted:
        """Admission again, for a stored render (one a worker takes), before its images are read: the filter
        exists, the values are checked as :meth:`admit` checks them (under the filter's present declarations:
        see :meth:`_as_declared_now`), and so are the photo's presence, the count of styles and their weights.
        The filter's own check, which needs the images, is :meth:`run_admitted`'s."""
        flt = self.get(filter_id)
        checked = self._as_declared_now(flt, params)
        self._check_shape(flt, content, style_weights)
        return Admitted(checked)

    def _check_inputs(self, flt: Filter, inputs: RunInputs, checked: dict[str, Any]) -> None:
        """The inputs fit the filter's needs, and its own check passes."""
        self._check_shape(flt, inputs.content is not None, inputs.style_weights, len(inputs.styles))
        reason = self.unavailable(flt.id)
        if reason:
            raise PluginError(f"{flt.name} is unavailable: {reason}")
        try:
            flt.check(inputs, checked)
        except NSTError:
            raise
        except Exception as exc:  # noqa: BLE001 - a broken check is the plugin's fault, not the user's
            raise PluginError(f"The filter {flt.id!r} failed checking its inputs: {type(exc).__name__}: {exc}") from exc

    @staticmethod
    def _check_shape(flt: Filter, content: bool, style_weights: Sequence[Any], count: int | None = None) -> None:
        """A photo if the filter needs one, as many styles as it takes (``count``: the weights' count), and
        their weights: finite, at least 0, not all 0."""
        needs = flt.needs
        if needs.content and not content:
            raise ParameterError(f"{flt.name} needs a content image (a photo).")
        if count is None:
            count = len(style_weights)
        if not needs.min_styles <= count <= needs.max_styles:
            wanted = (f"{needs.min_styles}" if needs.min_styles == needs.max_styles
                      else f"{needs.min_styles} to {needs.max_styles}")
            raise ParameterError(f"{flt.name} takes {wanted} style image(s), got {count}.")
        blend_weights(style_weights, count)

    def check(self, filter_id: str, inputs: RunInputs, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Checked parameter values (see :meth:`admit`)."""
        return self.admit(filter_id, inputs, params).params

    def resolve(self, filter_id: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Checked parameter values, a named preset resolved, without inputs to check (the CLI's
        ``transfer --queue`` checks its values so before a style file is added to the library)."""
        return self._resolved(self.get(filter_id), params)[0]

    def run(self, filter_id: str, inputs: RunInputs, params: Mapping[str, Any] | None = None,
            progress: ProgressCallback | None = None) -> FilterResult:
        """Check, then run a filter. Its failures come back as :class:`PluginError`."""
        return self._execute(filter_id, inputs, self.check(filter_id, inputs, params), progress)

    def run_admitted(self, filter_id: str, inputs: RunInputs, admitted: Admitted,
                     progress: ProgressCallback | None = None) -> FilterResult:
        """Run a stored render whose values came through :meth:`admit_stored` (the worker's admission check, which
        checked them under the filter's present declarations), once its images are read: the inputs are
        checked as :meth:`admit` checks them, the filter's own check included, and the values are not
        checked a third time."""
        flt = self.get(filter_id)
        self._check_inputs(flt, inputs, admitted.params)
        return self._execute(filter_id, inputs, admitted.params, progress)

    def _as_declared_now(self, flt: Filter, params: Any) -> dict[str, Any]:
        """A stored render's values under the filter's present declarations, checked (a parameter declared since takes its default, one no longer declared is left out and logged, a
        stored preset name is resolved)."""
        if not isinstance(params, Mapping) or not all(isinstance(k, str) for k in params):
            raise ParameterError(f"The render's stored parameters are not named values ({type(params).__name__}).")
        names = {p.name for p in flt.params}
        gone = sorted(set(params) - names - {PRESET_KEY})
        if gone:
            shown = ", ".join(repr(name[:40]) for name in gone[:5]) + (f" and {len(gone) - 5} more" if len(gone) > 5 else "")
            log.warning("%s no longer declares %s; the stored value(s) are ignored.", flt.id, shown)
        return self._resolved(flt, {k: v for k, v in params.items() if k not in gone})[0]

    def _execute(self, filter_id: str, inputs: RunInputs, checked: dict[str, Any],
                 progress: ProgressCallback | None) -> FilterResult:
        entry = self.entry(filter_id)
        started = time.perf_counter()
        try:
            result = entry.filter.run(inputs, checked, progress or (lambda p: None))
            if not isinstance(result, FilterResult):
                raise TypeError(f"run() returned {type(result).__name__}, not a FilterResult")
            array = result.array()
            if array.ndim != 3 or array.shape[2] != 3 or not array.size:
                raise ValueError(f"run() returned an image shaped {array.shape}, not (H, W, 3)")
            if not isinstance(result.metrics, dict):
                raise TypeError(f"run() returned metrics of type {type(result.metrics).__name__}, not a dict")
        except NSTError:
            raise  # the user's input was at fault (a clear message already)
        except BaseException as exc:  # noqa: BLE001 - isolate the host from the plugin (even sys.exit)
            if isinstance(exc, KeyboardInterrupt):
                raise
            entry.last_error = f"{type(exc).__name__}: {exc}"
            raise PluginError(f"The filter {filter_id!r} failed: {entry.last_error}") from exc
        entry.last_error = ""
        result.metrics.setdefault("seconds", round(time.perf_counter() - started, 3))
        return result

    @staticmethod
    def _resolved(flt: Filter, params: Mapping[str, Any] | None) -> tuple[dict[str, Any], bool]:
        """(checked values, whether a preview preset was chosen): the chosen preset's values, overridden
        by the values given, every one checked against the filter's declarations."""
        values = dict(params or {})
        name = values.pop(PRESET_KEY, None)
        preview = False
        if name is not None:
            if not isinstance(name, str) or name not in flt.presets:
                raise ParameterError(f"{flt.id} has no preset {shown_value(name)}; choose from "
                                     f"{', '.join(flt.presets) or 'none'}.")
            preset = preset_of(flt.presets[name], name)
            values, preview = {**preset.values, **values}, preset.preview
        return validate(flt.params, values), preview

    # ------------------------------------------------------------------ styles into the library

    def prepare(self, filter_id: str, engine, styles: Sequence[StyleInput], params: Mapping[str, Any] | None = None) -> None:
        """Let a filter work out ahead of time what it needs from ``styles`` for a render with ``params``."""
        flt = self.get(filter_id)
        checked = self._resolved(flt, params)[0]
        try:
            flt.prepare(engine, list(styles), checked)
        except NSTError:
            raise
        except Exception as exc:  # noqa: BLE001 - a plugin's failure is reported, never raised as a crash
            raise PluginError(f"{flt.name} failed while preparing its styles: {type(exc).__name__}: {exc}") from exc

    def sync_styles(self, library, log: Callable[[str], None] | None = None) -> list[str]:
        """Add every contributed style to the library (idempotent); returns the problems met."""
        problems = []
        for info, style in self._styles:
            try:
                library.ensure_plugin_style(
                    info.id, name=style.name, data=style.image_bytes(), artist=style.artist,
                    tags=style.tags, suggested_params=dict(style.suggested_params or {}) or None,
                    description=style.description, year=style.year, credit=style.credit,
                    sample=style.sample_bytes(),
                )
            except BaseException as exc:  # noqa: BLE001 - one bad style must not stop the others
                if isinstance(exc, KeyboardInterrupt):
                    raise
                message = f"style {style.name!r} from {info.id}: {exc}"
                info.problems.append(message)
                problems.append(message)
                if log:
                    log(message)
        return problems


def disabled_ids() -> set[str]:
    """Plugin ids listed in NST_DISABLED_PLUGINS (separated by commas or spaces)."""
    return set(config.value(DISABLED_VAR))


def _safely(check: Callable[[Any], list[str]], item: Any) -> list[str]:
    """A declaration check that reports, rather than raises, on objects too broken to inspect."""
    try:
        return check(item)
    except Exception as exc:  # noqa: BLE001
        return [f"cannot be inspected ({type(exc).__name__}: {exc})"]


def _label(path: Path, origin: str) -> str:
    """``builtin`` only for a file the project ships; another file dropped into that folder is ``plugins/``."""
    if origin == "builtin" and (path.name not in SHIPPED or path.parent.resolve() != BUILTIN_DIR):
        return "plugins/"
    return origin


def _module_name(path: Path, origin: str) -> str:
    """A plugin's own module name: two folders may both have a ``blur.py``."""
    folder_key = hashlib.sha1(str(path.parent.resolve()).encode()).hexdigest()[:8]
    return f"nst_plugins.{_slug(origin)}_{folder_key}.{_slug(path.stem)}"


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)
