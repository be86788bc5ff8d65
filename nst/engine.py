"""The engine: texture synthesis and style transfer on one VGG19 and one optimizer.

An :class:`Engine` is long-lived (one per process): it holds the feature
extractor, the compiled functions (:mod:`nst.objective`; one per choice of
layers, reused for every size and every image) and the style-target cache.

:meth:`Engine.transfer` and :meth:`Engine.texture` check their inputs and plan
the render (:mod:`nst.pyramid`: the scales, their step budgets, the style's size
at each) into one :class:`RenderRequest`; the render then runs it coarse to
fine, each scale with its own style targets and starting from the previous
scale's result, upsampled, and reports every step to its listeners (the
caller's progress callback, :mod:`nst.snapshots`). A ``tileable`` texture is
optimised on a torus (see :mod:`nst.features`, :mod:`nst.tiling`): it repeats
without a seam.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
from PIL import Image

from . import backend, colors, crops, images, instant, losses, objective, pyramid, targets, terms, tiling
from .errors import ParameterError, ResumeError
from .features import FeatureExtractor, load_extractor
from .optimize import Run, ScalePlan
from .params import blend_weights
from .progress import Callback, Listener, Progress, is_cancelled
from .pyramid import Pyramid, plan_sizes
from .settings import Settings
from .snapshots import Snapshots
from .targets import StyleInput

#: A tileable texture up to this many pixels is computed whole (fastest); a larger one tile by tile,
#: in tiles of TILE_SIDE px (exact, in bounded memory; see nst.tiling).
UNTILED_MAX_PIXELS = 1024 * 1024
TILE_SIDE = 512
#: A transfer's scale above this many pixels (print sizes) is computed tile by tile, in tiles of
#: TRANSFER_TILE_SIDE px, each read with the margin of its neighbours VGG19's deepest layer sees (exact:
#: the Gram matrices summed over tiles, the photo's content per tile; see nst.tiling); a painting measured
#: at such a size too. A 1024x768 scale (2.7 GB for the whole command) is the largest computed whole.
TRANSFER_UNTILED_MAX_PIXELS = 1024 * 768
TRANSFER_TILE_SIDE = 768

log = logging.getLogger(__name__)


@dataclass
class RenderResult:
    image: np.ndarray  # (H, W, 3) float32 in [0, 1]
    losses: dict[str, float]  # the returned (best) image's total and weighted terms
    steps: int  # evaluations made
    seconds: float  # wall time of the optimization
    stop_reasons: list[str]  # per scale: converged, stalled, budget, cancelled or non-finite
    scale_sizes: list[tuple[int, int]]
    scale_seconds: list[float]
    scale_steps: list[int]
    history: list[tuple[int, float, float]] = field(repr=False)  # (step, elapsed, loss)
    settings: Settings | None = None
    weights: str = ""
    start: str = ""  # what the render started from, when it is not what its settings asked (a fallback)

    @property
    def cancelled(self) -> bool:
        return "cancelled" in self.stop_reasons

    def to_pil(self) -> Image.Image:
        return images.to_pil(self.image)

    def metrics(self) -> dict:
        """What the render reports, as JSON-able values."""
        return {
            "losses": {k: float(f"{float(v):.6g}") for k, v in self.losses.items()},
            "steps": self.steps,
            "seconds": round(self.seconds, 2),
            "scales": [f"{w}x{h}" for w, h in self.scale_sizes],
            "scale_steps": list(self.scale_steps),
            "scale_seconds": [round(s, 2) for s in self.scale_seconds],
            "stopped": list(self.stop_reasons),
            "weights": self.weights,
            **({"start": self.start} if self.start else {}),
        }

    def save(self, path) -> None:
        images.save(self.image, path)


@dataclass(frozen=True)
class RenderRequest:
    """One render, checked and planned: what the engine paints, at which sizes, and who hears of it."""

    settings: Settings
    styles: tuple[StyleInput, ...]  # as the render sees them (a texture's already cropped to its boxes)
    style_weights: tuple[float, ...]  # one per style
    pyramid: Pyramid  # the scales, their step budgets, the styles' sizes at each
    content: Image.Image | None = None  # the photo of a transfer; None for a texture
    listeners: tuple[Listener, ...] = ()  # told of every step (the caller's progress, snapshots)
    cancel: object = None  # an Event or a callable (see nst.progress.is_cancelled)
    #: Told of each finished scale: ``checkpoint(index, image)`` (the best image of scale ``index``).
    checkpoint: Callable[[int, np.ndarray], None] | None = None
    #: Resume after scale ``index``, whose best image is given (a checkpoint of an earlier attempt).
    resume: tuple[int, np.ndarray] | None = None

    @property
    def texture(self) -> bool:
        return self.content is None


class Engine:
    """Texture synthesis and style transfer; thread-safe, one render at a time."""

    def __init__(self, extractor: FeatureExtractor | None = None, *, precision: str = "auto",
                 store: targets.TargetStore | None = None):
        self.extractor = extractor or load_extractor(precision)
        self.targets = targets.TargetCache(store)
        self._compiled: dict[tuple, object] = {}
        self._compile_lock = threading.Lock()
        self._render_lock = threading.Lock()

    @property
    def weights_description(self) -> str:
        return self.extractor.weights_info.describe()

    # ------------------------------------------------------------------ compiled functions

    def _cached(self, key: tuple, build: Callable[[], object]):
        with self._compile_lock:
            if key not in self._compiled:
                self._compiled[key] = build()
            return self._compiled[key]

    def _grams_function(self, layers: tuple[str, ...]):
        return self._cached(("grams", layers, None), lambda: objective.compile_grams(self.extractor, layers))

    def _features_function(self, layer: str):
        return self._cached(("content", (), layer), lambda: objective.compile_features(self.extractor, layer))

    def _objective_function(self, render_terms: tuple[terms.Term, ...], wrap: bool = False):
        key = ("loss", render_terms) + (("wrap",) if wrap else ())
        return self._cached(key, lambda: objective.compile_objective(self.extractor, render_terms, wrap))

    def _tiled_functions(self, layers: tuple[str, ...]):
        keys = (("tile-grams", layers), ("tile-grad", layers))
        with self._compile_lock:
            if keys[0] not in self._compiled:
                self._compiled.update(zip(keys, tiling.build(self.extractor, layers)))
            return self._compiled[keys[0]], self._compiled[keys[1]]

    def _transfer_tiled_functions(self, layers: tuple[str, ...], local: tuple[terms.Term, ...]):
        return self._cached(("tile-transfer", layers, local),
                            lambda: tiling.build(self.extractor, layers, local, wrap=False))

    def _whole_function(self, term: terms.Term, wrap: bool = True):
        key = ("tile-whole", term) + (() if wrap else ("unwrapped",))
        return self._cached(key, lambda: tiling.build_whole(term, wrap))

    def _tiled_objective(self, render_terms: tuple[terms.Term, ...], arguments: list, size: tuple[int, int],
                         wrap: bool = True):
        whole = {term: self._whole_function(term, wrap) for term in render_terms if term.whole_image}
        layers = tiling.gram_layers(render_terms)
        if wrap:
            return tiling.TiledObjective(self._tiled_functions(layers), whole, render_terms, arguments, size,
                                         TILE_SIDE)
        functions = self._transfer_tiled_functions(layers, tiling.local_terms(render_terms))
        return tiling.TiledObjective(functions, whole, render_terms, arguments, size, TRANSFER_TILE_SIDE, wrap=False)

    def tracing_counts(self) -> dict[str, int]:
        """How often each compiled function was traced (a tiled transfer's pair counted one by one)."""
        counts = {}
        for key, compiled in self._compiled.items():
            name = "/".join(str(k) for k in key)
            if isinstance(compiled, tuple):
                counts.update({f"{name}/{i}": backend.tracing_count(fn) for i, fn in enumerate(compiled)})
            else:
                counts[name] = backend.tracing_count(compiled)
        return counts

    # ------------------------------------------------------------------ targets

    def style_grams(self, style: StyleInput, size: tuple[int, int], layers: Sequence[str]) -> targets.Grams:
        """The style's Gram matrices with the style image resized to ``size`` (cached)."""
        layers = tuple(layers)
        key = targets.TargetKey(style.pixel_digest, size[0], size[1], layers, self.extractor.id)

        def compute() -> targets.Grams:
            pixels = images.to_array(images.resize(style.image, size))
            if size[0] * size[1] > TRANSFER_UNTILED_MAX_PIXELS:  # a painting measured for a print size
                grams_fn = self._transfer_tiled_functions(layers, ())[0]
                return dict(zip(layers, tiling.grams(grams_fn, pixels, layers, TRANSFER_TILE_SIDE)))
            out = self._grams_function(layers)(backend.to_tensor(pixels[None]))
            return {name: backend.to_numpy(g) for name, g in zip(layers, out)}

        return self.targets.get_or_compute(key, compute)

    def prepare_targets(self, style: StyleInput | Image.Image, settings: Settings | None = None, *,
                        texture: bool = False) -> int:
        """Compute (or find in the cache) the style targets a render with ``settings`` will use, at every
        scale; returns how many had to be computed. The style's sizes follow only the result's long side,
        so one call serves every photo."""
        settings = settings or Settings()
        style = StyleInput.of(style)
        final = (settings.size, settings.size)
        before = self.targets.computed
        for size in plan_sizes(final, settings.start_size):
            self.style_grams(style, pyramid.style_size(style.image.size, max(size), max(final), settings, texture),
                             tuple(settings.style_layers))
        return self.targets.computed - before

    def features(self, pixels: np.ndarray, layer: str) -> np.ndarray:
        """One layer's features of an (H, W, 3) image in [0, 1], shaped (1, h, w, C), float32."""
        return backend.to_numpy(self._features_function(layer)(backend.to_tensor(pixels[None])))

    # ------------------------------------------------------------------ operations

    def transfer(self, content, styles, settings: Settings | None = None, *,
                 style_weights: Sequence[float] | None = None, progress: Callable[[Progress], None] | None = None,
                 cancel=None, preview_every: int = 0, snapshot_every: int = 0, snapshot_dir=None,
                 checkpoint: Callable[[int, np.ndarray], None] | None = None,
                 resume: tuple[int, np.ndarray] | None = None) -> RenderResult:
        """Paint ``content`` in the style of ``styles`` (one or several, blended by ``style_weights``).

        ``checkpoint(index, image)`` is told of each finished scale's image; ``resume=(index, image)`` starts
        after scale ``index`` from its image (a checkpoint of an earlier attempt at the same render)."""
        settings = settings or Settings()
        content_image = content if isinstance(content, Image.Image) else images.load(content)
        style_inputs = self._styles(styles)
        weights = _checked_weights(settings, style_inputs, style_weights, texture=False)
        plan = pyramid.transfer(settings, content_image.size, [s.image.size for s in style_inputs])
        resume = _checked_resume(resume, plan)
        return self._render(RenderRequest(
            settings, tuple(style_inputs), weights, plan, content_image,
            _listeners(progress, preview_every, snapshot_every, snapshot_dir), cancel, checkpoint, resume))

    def texture(self, styles, settings: Settings | None = None, *, style_weights: Sequence[float] | None = None,
                progress: Callable[[Progress], None] | None = None, cancel=None, preview_every: int = 0,
                snapshot_every: int = 0, snapshot_dir=None) -> RenderResult:
        """Synthesize a texture from noise with the statistics of ``styles``."""
        settings = settings or Settings()
        style_inputs = self._styles(styles)
        boxes = crops.for_styles(settings.crop, [s.image.size for s in style_inputs])
        weights = _checked_weights(settings, style_inputs, style_weights, texture=True)
        plan = pyramid.texture(settings, [s.image.size for s in style_inputs], boxes)
        if any(boxes):
            style_inputs = [s if box is None else StyleInput.of(crops.crop(s.image, box))
                            for s, box in zip(style_inputs, boxes)]
        return self._render(RenderRequest(
            settings, tuple(style_inputs), weights, plan, None,
            _listeners(progress, preview_every, snapshot_every, snapshot_dir), cancel))

    @staticmethod
    def _styles(styles) -> list[StyleInput]:
        if isinstance(styles, (Image.Image, StyleInput, str)) or hasattr(styles, "__fspath__"):
            styles = [styles]
        styles = list(styles)
        if not styles:
            raise ParameterError("At least one style image is needed.")
        return [StyleInput.of(s if isinstance(s, (Image.Image, StyleInput)) else images.load(s)) for s in styles]

    def _render(self, request: RenderRequest) -> RenderResult:
        settings, plan, content_image = request.settings, request.pyramid, request.content
        texture, wrap = request.texture, settings.tileable
        final, sizes = plan.final, list(plan.sizes)
        render_terms = terms.of(settings, texture)
        if wrap and any(w * h > UNTILED_MAX_PIXELS for w, h in sizes):
            tiling.check(render_terms)  # before a first step is spent
        if not texture and any(_tiled_transfer(size) for size in sizes):
            tiling.check(render_terms, f"a painting larger than {TRANSFER_UNTILED_MAX_PIXELS:,} pixels")
        postprocess = None
        if settings.preserve_colors and not texture:  # the photo at the result's size, kept for the colours
            final_content = images.to_array(images.resize(content_image, final))
            postprocess = lambda x: colors.keep_colors(x, _fit(final_content, x))  # noqa: E731
        run = Run([ScalePlan(size, steps) for size, steps in zip(plan.sizes, plan.steps)],
                  listeners=request.listeners, cancel=request.cancel, postprocess=postprocess)
        fn = self._objective_function(render_terms, wrap)

        with self._render_lock:
            x, start = self._instant_start(sizes[0], request) if settings.init == "instant" and not texture \
                else (None, "")
            if x is None:  # start: "" or the fallback of a missing instant model
                x = self._initial(settings.replace(init="tones") if start else settings, sizes[0], request.styles,
                                  content_image, texture, request.style_weights, wrap)
            first = 0
            if request.resume is not None:  # the scales before are done: count them, start from the image
                first, x = request.resume[0] + 1, request.resume[1]
                run.resumed(first)
            for index, size in enumerate(sizes[first:], first):
                if is_cancelled(request.cancel):
                    run.cancelled = True
                    run.stop_reasons.append("cancelled")
                    break
                if x.shape[:2] != (size[1], size[0]):
                    detail = settings.keep_detail and not texture and settings.init == "content"
                    x = (np.clip(images.resize_periodic(x, size), 0.0, 1.0) if wrap
                         else self._upsample(x, size, content_image if detail else None))
                tiled = (not texture and _tiled_transfer(size)) or (wrap and size[0] * size[1] > UNTILED_MAX_PIXELS)
                scale = self._scale(request, index, tiled)
                arguments = [term.arguments(scale) for term in render_terms]
                if tiled:
                    loss = self._tiled_objective(render_terms, arguments, size, wrap)
                else:
                    loss = objective.bind(fn, render_terms, terms.tensors(arguments))
                del scale, arguments  # a print-size scale's photo features are held by the objective only
                x = run.run_scale(index, loss, x, settings.optimizer, half_history=tiled)
                del loss
                if run.cancelled:
                    break  # the finer scales never start: the result is this scale's best image
                if request.checkpoint is not None and index < len(sizes) - 1:  # the last one is the result
                    request.checkpoint(index, x)

        if x.shape[:2] == (final[1], final[0]):
            image = x
        else:
            image = np.clip((images.resize_periodic if wrap else images.resize_array)(x, final), 0.0, 1.0)
        if postprocess is not None:
            image = postprocess(image)
        return RenderResult(
            image=image.astype(np.float32), losses=dict(run.best_terms or run.last_terms), steps=run.step, seconds=run.elapsed,
            stop_reasons=run.stop_reasons, scale_sizes=sizes[: len(run.stop_reasons)],
            scale_seconds=run.scale_seconds, scale_steps=run.scale_steps, history=run.history, settings=settings,
            weights=self.weights_description, start=start,
        )

    def _scale(self, request: RenderRequest, index: int, tiled: bool = False) -> terms.Scale:
        """What the terms' targets are made from at scale ``index`` of the render (``tiled``: the photo's
        features computed tile by tile, as its large scales are, and kept in float16)."""
        plan, size = request.pyramid, request.pyramid.sizes[index]
        style_sizes = plan.style_sizes[index]
        blended: dict[tuple[str, ...], list[np.ndarray]] = {}

        def style_grams(layers: tuple[str, ...]) -> list[np.ndarray]:
            if layers not in blended:
                gram_sets = [self.style_grams(style, style_size, layers)
                             for style, style_size in zip(request.styles, style_sizes)]
                grams = losses.blend(gram_sets, request.style_weights) if len(gram_sets) > 1 else gram_sets[0]
                blended[layers] = [grams[name] for name in layers]
            return blended[layers]

        def style_features(layer: str) -> list[np.ndarray]:
            return [self.features(images.to_array(images.resize(style.image, style_size)), layer)
                    for style, style_size in zip(request.styles, style_sizes)]

        content_features = None
        if not request.texture:
            def content_features(layer: str) -> np.ndarray:
                pixels = images.to_array(images.resize(request.content, size))
                if tiled:
                    return tiling.features(self._features_function(layer), pixels, layer, TRANSFER_TILE_SIDE,
                                           np.float16)
                return self.features(pixels, layer)

        return terms.Scale(request.settings, request.texture, index < len(plan.sizes) - 1, style_grams,
                           style_features, request.style_weights, content_features)

    @staticmethod
    def _upsample(x: np.ndarray, size: tuple[int, int], content: Image.Image | None) -> np.ndarray:
        """The previous scale's result at ``size``; with ``content``, plus the photo's detail that
        upsampling cannot restore (the photo at ``size`` minus the photo upsampled from the old size)."""
        up = images.resize_array(x, size)
        if content is not None:
            old = images.to_array(images.resize(content, (x.shape[1], x.shape[0])))
            up += images.to_array(images.resize(content, size)) - images.resize_array(old, size)
        return np.clip(up, 0.0, 1.0)

    @staticmethod
    def _instant_start(size: tuple[int, int], request: RenderRequest) -> tuple[np.ndarray | None, str]:
        """``init="instant"``: the photo as the instant filter paints it in the render's styles, at the first
        scale's size, and ""; without the instant model, None and the fallback said in one line (the render
        then starts from ``tones``, the photo in the painting's colours)."""
        try:
            painted = instant.stylize(request.content, request.styles, request.style_weights,
                                      instant.Request(size=max(size), preserve_colors=request.settings.preserve_colors))
        except instant.InstantModelError as exc:
            note = f"tones (init instant unavailable: {exc})"
            log.warning("Starting from the photo in the painting's colours (init tones): %s", exc)
            return None, note
        return np.clip(images.resize_array(painted, size), 0.0, 1.0).astype(np.float32), ""

    def _initial(self, settings: Settings, size, style_inputs, content_image, texture: bool,
                 weights: Sequence[float] = (), wrap: bool = False) -> np.ndarray:
        recoloured = settings.init in ("palette", "tones")
        if not texture and (settings.init == "content" or (recoloured and settings.preserve_colors)):
            return images.to_array(images.resize(content_image, size))
        if not texture and recoloured:  # the photo in the painting's colours
            photo = images.to_array(images.resize(content_image, size))
            smalls = [images.to_array(images.thumbnail(s.image, 256)) for s in style_inputs]
            blend = list(weights) or [1.0] * len(smalls)
            if settings.init == "tones":
                return colors.tone_map(photo, smalls, blend)
            mean, cov = colors.blended_stats(smalls, blend)
            return colors.match_colors(photo, mean, cov)
        rng = np.random.default_rng(settings.seed)
        shape = (size[1], size[0], 3)
        if settings.noise == "uniform":
            return rng.random(shape, dtype=np.float32)
        small = images.to_array(images.thumbnail(style_inputs[0].image, 256))
        mean, std = colors.channel_stats(small)
        if settings.noise == "smooth":  # noise at a quarter of the size, upsampled: soft blobs, little TV
            low = mean + std * rng.standard_normal((max(2, size[1] // 4), max(2, size[0] // 4), 3), dtype=np.float32)
            resize = images.resize_periodic if wrap else images.resize_array
            return np.clip(resize(low, size), 0.0, 1.0).astype(np.float32)
        return np.clip(mean + std * rng.standard_normal(shape, dtype=np.float32), 0.0, 1.0).astype(np.float32)


def _checked_weights(settings: Settings, styles: Sequence[StyleInput], style_weights: Sequence[float] | None,
                     *, texture: bool) -> tuple[float, ...]:
    """One blend weight per style (all 1 by default); a transfer is never tileable."""
    weights = (blend_weights(style_weights, len(styles)) if style_weights is not None
               else (1.0,) * len(styles))  # refused here, before a start is painted with them
    if settings.tileable and not texture:
        raise ParameterError("tileable is an option of textures only.")
    return weights


def _tiled_transfer(size: tuple[int, int]) -> bool:
    """Whether a transfer's scale of ``size`` is computed tile by tile."""
    return size[0] * size[1] > TRANSFER_UNTILED_MAX_PIXELS


def _checked_resume(resume, plan: Pyramid) -> tuple[int, np.ndarray] | None:
    """``resume=(index, image)`` checked against the render's plan: a scale before the last, and an image of
    that scale's size, finite, in [0, 1]."""
    if resume is None:
        return None
    try:
        index, image = resume
    except (TypeError, ValueError):
        raise ResumeError("A resumed render needs the scale it finished and that scale's image.") from None
    if not isinstance(index, (int, np.integer)) or isinstance(index, bool) or not 0 <= index < len(plan.sizes) - 1:
        raise ResumeError(f"A render resumes after one of its first {len(plan.sizes) - 1} scales, not {index!r}.")
    width, height = plan.sizes[index]
    image = np.asarray(image)
    if image.shape != (height, width, 3) or not np.issubdtype(image.dtype, np.floating):
        raise ResumeError(f"The image a render resumes from after scale {index} must be {width}x{height} "
                          f"RGB, not shaped {image.shape}.")
    if not np.all(np.isfinite(image)) or image.min() < 0.0 or image.max() > 1.0:
        raise ResumeError("The image a render resumes from must hold numbers from 0 to 1.")
    return int(index), image.astype(np.float32)


def _listeners(progress: Callable[[Progress], None] | None, preview_every: int, snapshot_every: int,
               snapshot_dir) -> tuple[Listener, ...]:
    """The snapshots (when asked for: their folder is made now) and then the caller's progress callback."""
    listeners: list[Listener] = []
    if snapshot_every and snapshot_dir is not None:
        listeners.append(Snapshots.into(snapshot_dir, snapshot_every))
    if progress is not None:
        listeners.append(Callback(progress, preview_every))
    return tuple(listeners)


def _fit(reference: np.ndarray, like: np.ndarray) -> np.ndarray:
    if reference.shape == like.shape:
        return reference
    return images.resize_array(reference, (like.shape[1], like.shape[0]))
