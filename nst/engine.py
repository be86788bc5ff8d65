"""The engine: texture synthesis and style transfer on one VGG19 and one optimizer.

An :class:`Engine` is long-lived (one per process): it holds the feature
extractor, the compiled functions (one per choice of layers, reused for every
size and every image) and the style-target cache.

A render runs coarse to fine: from about ``start_size`` px up by sqrt(2) per
scale to the requested size. Each scale has its own style targets (the style
image resized in proportion, so strokes keep their size relative to the
result), and starts from the previous scale's result, upsampled.

A texture with a width and height learns from its styles (or a crop box of
each) seen at ``stroke_scale`` (1.0: the painting as if 1024 px on its long
side), whatever the texture's size; coarse to fine then starts where the style
is about ``start_size`` px. A ``tileable`` texture is optimised on a torus (see
:mod:`nst.features`, :mod:`nst.tiling`): it repeats without a seam.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
from PIL import Image

from . import backend, colors, crops, images, losses, targets, tiling
from .errors import ParameterError
from .features import FeatureExtractor, load_extractor
from .optimize import Run, ScalePlan
from .progress import Progress, is_cancelled
from .settings import STROKE_REFERENCE_SIDE, Settings
from .weights import LAYERS as LAYER_ORDER
from .targets import StyleInput

from keras import ops  # noqa: E402  (after nst.backend has configured TensorFlow)

#: Largest style image side used for targets (bounds memory for huge style scales).
MAX_STYLE_SIDE = 2048
#: Smallest side of any image the network sees (results, styles).
MIN_SIDE = 32
#: Each scale is this much larger than the one before.
SCALE_FACTOR = math.sqrt(2)
#: A tileable texture up to this many pixels is computed whole (fastest); a larger one tile by tile,
#: in tiles of TILE_SIDE px (exact, in bounded memory; see nst.tiling).
UNTILED_MAX_PIXELS = 1024 * 1024
TILE_SIDE = 512


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
        }

    def save(self, path) -> None:
        images.save(self.image, path)


def fit_size(width: int, height: int, long_side: int) -> tuple[int, int]:
    """(width, height) with the given long side, grown if needed so the short side is at least MIN_SIDE
    (VGG19 needs 16 px to reach block5; results under 32 px are not worth keeping)."""
    w, h = images.fit_long_side(width, height, long_side)
    if min(w, h) < MIN_SIDE:
        grow = MIN_SIDE / min(w, h)
        w, h = max(MIN_SIDE, round(w * grow)), max(MIN_SIDE, round(h * grow))
    return w, h


def plan_sizes(final: tuple[int, int], start_size: int) -> list[tuple[int, int]]:
    """(width, height) per scale: the final size, then down by sqrt(2) while above ``start_size``."""
    width, height = final
    long_side = max(width, height)
    sizes = [final]
    side = long_side / SCALE_FACTOR
    while side >= start_size - 0.5:
        scale = side / long_side
        sizes.append((max(MIN_SIDE, round(width * scale)), max(MIN_SIDE, round(height * scale))))
        side /= SCALE_FACTOR
    return sizes[::-1]


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

    def _function(self, kind: str, style_layers: tuple[str, ...], content_layer: str | None, wrap: bool = False):
        key = (kind, style_layers, content_layer) + (("wrap",) if wrap else ())
        with self._compile_lock:
            if key not in self._compiled:
                self._compiled[key] = self._build(kind, style_layers, content_layer, wrap)
            return self._compiled[key]

    def _build(self, kind: str, style_layers: tuple[str, ...], content_layer: str | None, wrap: bool = False):
        ex = self.extractor
        image_spec = backend.spec([1, None, None, 3])
        if kind == "grams":
            def grams(image):
                return [losses.gram(f) for f in ex.raw(image, style_layers)]

            return backend.compile_forward(grams, [image_spec])
        if kind == "content":
            def content(image):
                return ex(image, (content_layer,))[0]

            return backend.compile_forward(content, [image_spec])

        names = style_layers + ((content_layer,) if content_layer and content_layer not in style_layers else ())
        gram_specs = [backend.spec([ch, ch]) for ch in _channels(style_layers)]
        signature = [image_spec, gram_specs, backend.spec([len(style_layers)]), backend.spec([])]
        if content_layer:
            signature += [backend.spec([1, None, None, _channels((content_layer,))[0]]), backend.spec([])]
            content_index = names.index(content_layer)

        def objective(image, style_targets, style_weights, tv_weight, *content):
            feats = ex.raw(image, names, wrap)
            grams = [losses.gram(f) for f in feats[: len(style_layers)]]
            style = losses.style_loss(grams, style_targets, style_weights)
            tv = tv_weight * losses.tv_loss(image, wrap)
            terms = [style, tv]
            if content:
                content_target, content_weight = content
                terms.append(content_weight * losses.content_loss(feats[content_index], content_target))
            # One vector [total, style, tv(, content)]: a single transfer back to Python per step.
            return ops.stack([sum(terms)] + terms), None

        return backend.compile_value_and_grad(objective, signature)

    def _tiled_functions(self, style_layers: tuple[str, ...]):
        keys = (("tile-grams", style_layers), ("tile-grad", style_layers))
        with self._compile_lock:
            if keys[0] not in self._compiled:
                self._compiled.update(zip(keys, tiling.build(self.extractor, style_layers)))
            return self._compiled[keys[0]], self._compiled[keys[1]]

    def _tv_function(self):
        with self._compile_lock:
            if ("tv-wrap",) not in self._compiled:
                self._compiled[("tv-wrap",)] = tiling.build_tv()
            return self._compiled[("tv-wrap",)]

    def tracing_counts(self) -> dict[str, int]:
        return {"/".join(str(k) for k in key): backend.tracing_count(fn) for key, fn in self._compiled.items()}

    # ------------------------------------------------------------------ targets

    def style_grams(self, style: StyleInput, size: tuple[int, int], layers: Sequence[str]) -> targets.Grams:
        """The style's Gram matrices with the style image resized to ``size`` (cached)."""
        layers = tuple(layers)
        key = targets.TargetKey(style.pixel_digest, size[0], size[1], layers, self.extractor.id)

        def compute() -> targets.Grams:
            pixels = images.to_array(images.resize(style.image, size))[None]
            out = self._function("grams", layers, None)(backend.to_tensor(pixels))
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
            self.style_grams(style, self._style_size(style.image, max(size), max(final), settings, texture),
                             tuple(settings.style_layers))
        return self.targets.computed - before

    def features(self, pixels: np.ndarray, layer: str) -> np.ndarray:
        """One layer's features of an (H, W, 3) image in [0, 1], shaped (1, h, w, C), float32."""
        return backend.to_numpy(self._function("content", (), layer)(backend.to_tensor(pixels[None])))

    # ------------------------------------------------------------------ operations

    def transfer(self, content, styles, settings: Settings | None = None, *,
                 style_weights: Sequence[float] | None = None, progress: Callable[[Progress], None] | None = None,
                 cancel=None, preview_every: int = 0, snapshot_every: int = 0, snapshot_dir=None) -> RenderResult:
        """Paint ``content`` in the style of ``styles`` (one or several, blended by ``style_weights``)."""
        settings = settings or Settings()
        content_image = content if isinstance(content, Image.Image) else images.load(content)
        style_inputs = self._styles(styles)
        final = fit_size(content_image.width, content_image.height, settings.size)
        return self._render(settings, final, style_inputs, style_weights, content_image, progress, cancel,
                            preview_every, snapshot_every, snapshot_dir)

    def texture(self, styles, settings: Settings | None = None, *, style_weights: Sequence[float] | None = None,
                progress: Callable[[Progress], None] | None = None, cancel=None, preview_every: int = 0,
                snapshot_every: int = 0, snapshot_dir=None) -> RenderResult:
        """Synthesize a texture from noise with the statistics of ``styles``."""
        settings = settings or Settings()
        style_inputs = self._styles(styles)
        boxes = crops.for_styles(settings.crop, [s.image.size for s in style_inputs])
        first = style_inputs[0].image
        style_finals = None
        if settings.width is not None:
            final = (settings.width, settings.height)
            if settings.style_size is None:
                style_finals = [stroke_size(s.image.size, box, settings.stroke_scale)
                                for s, box in zip(style_inputs, boxes)]
        elif settings.square:
            final = (settings.size, settings.size)
        else:
            final = fit_size(first.width, first.height, settings.size)
        if any(boxes):
            style_inputs = [s if box is None else StyleInput.of(crops.crop(s.image, box))
                            for s, box in zip(style_inputs, boxes)]
        return self._render(settings, final, style_inputs, style_weights, None, progress, cancel,
                            preview_every, snapshot_every, snapshot_dir, style_finals=style_finals)

    @staticmethod
    def _styles(styles) -> list[StyleInput]:
        if isinstance(styles, (Image.Image, StyleInput, str)) or hasattr(styles, "__fspath__"):
            styles = [styles]
        styles = list(styles)
        if not styles:
            raise ParameterError("At least one style image is needed.")
        return [StyleInput.of(s if isinstance(s, (Image.Image, StyleInput)) else images.load(s)) for s in styles]

    def _style_size(self, style: Image.Image, scale_long: int, final_long: int, settings: Settings,
                    texture: bool) -> tuple[int, int]:
        """The style image's size at one scale: in proportion to the result, times ``style_scale``."""
        base = settings.style_size if settings.style_size is not None else final_long
        long_side = base * settings.style_scale * scale_long / final_long
        long_side = int(round(min(MAX_STYLE_SIDE, long_side)))
        if texture and settings.square:
            side = max(MIN_SIDE, long_side)
            return side, side
        return fit_size(style.width, style.height, long_side)

    def _render(self, settings, final, style_inputs, style_weights, content_image, progress, cancel,
                preview_every, snapshot_every, snapshot_dir, style_finals=None) -> RenderResult:
        texture = content_image is None
        weights = list(style_weights) if style_weights is not None else [1.0] * len(style_inputs)
        if len(weights) != len(style_inputs):
            raise ParameterError(f"Got {len(style_inputs)} styles but {len(weights)} style weights.")
        if settings.tileable and not texture:
            raise ParameterError("tileable is an option of textures only.")
        wrap = settings.tileable
        style_layers = tuple(settings.style_layers)
        content_layer = None if texture else settings.content_layer
        start = settings.start_size
        if style_finals is not None:  # start where the (largest) style is about start_size px
            start = round(start * max(1.0, max(final) / max(max(size) for size in style_finals)))
        sizes = plan_sizes(final, start)
        if wrap:  # every scale a multiple of the deepest layer's stride: then pooling closes on itself
            sizes = _aligned(sizes, tiling.stride(max(style_layers, key=LAYER_ORDER.index)))
        plans = [
            ScalePlan(size, max(1, round(settings.steps * settings.coarse_steps ** (len(sizes) - 1 - i))))
            for i, size in enumerate(sizes)
        ]
        if settings.final_steps is not None:
            plans[-1].steps = settings.final_steps
        final_content = None if texture else images.to_array(images.resize(content_image, final))
        postprocess = None
        if settings.preserve_colors and final_content is not None:
            postprocess = lambda x: colors.keep_colors(x, _fit(final_content, x))  # noqa: E731
        run = Run(plans, progress=progress, cancel=cancel, preview_every=preview_every,
                  snapshot_every=snapshot_every, snapshot_dir=snapshot_dir, postprocess=postprocess)
        if snapshot_every and snapshot_dir is not None:
            from pathlib import Path

            try:
                Path(snapshot_dir).mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ParameterError(f"Cannot make the snapshot folder {snapshot_dir} ({exc.strerror or exc}).") from None
        fn = self._function("loss", style_layers, content_layer, wrap)
        layer_weights = np.asarray(settings.style_layer_weights, dtype=np.float64)
        layer_weights = layer_weights / layer_weights.sum() if settings.normalize else layer_weights

        with self._render_lock:
            x = self._initial(settings, sizes[0], style_inputs, content_image, texture, weights, wrap)
            for index, size in enumerate(sizes):
                if is_cancelled(cancel):
                    run.cancelled = True
                    run.stop_reasons.append("cancelled")
                    break
                if x.shape[:2] != (size[1], size[0]):
                    detail = settings.keep_detail and not texture and settings.init == "content"
                    x = (np.clip(images.resize_periodic(x, size), 0.0, 1.0) if wrap
                         else self._upsample(x, size, content_image if detail else None))
                gram_sets = [
                    self.style_grams(s, self._style_size(s.image, max(size), max(final), settings, texture)
                                     if style_finals is None else _scaled(style_finals[i], max(size) / max(final)),
                                     style_layers)
                    for i, s in enumerate(style_inputs)
                ]
                grams = losses.blend(gram_sets, weights) if len(gram_sets) > 1 else gram_sets[0]
                style_targets = [grams[name] for name in style_layers]
                magnitudes = np.array([np.mean(np.square(t)) + 1e-8 for t in style_targets])
                effective, tv_weight = settings.style_weight * layer_weights, settings.tv_weight
                if settings.normalize:
                    effective = effective / magnitudes
                elif texture and settings.balance_coarse and index < len(sizes) - 1:
                    # A raw objective is ruled by its largest Gram matrices (block4's, for the
                    # tutorial's); at the coarse scales every layer counts alike, so the layout
                    # the final scale starts from fits all of them.
                    effective, tv_weight = layer_weights / layer_weights.sum() / magnitudes, 0.0
                args = [[backend.to_tensor(t) for t in style_targets], backend.to_tensor(effective),
                        backend.to_tensor(tv_weight)]
                if content_layer:
                    pixels = final_content if size == final else images.to_array(images.resize(content_image, size))
                    target = self.features(pixels, content_layer)
                    weight = settings.content_weight
                    if settings.normalize:
                        weight = weight / (float(np.mean(np.square(target))) + 1e-8)
                    args += [backend.to_tensor(target), backend.to_tensor(weight)]
                if wrap and size[0] * size[1] > UNTILED_MAX_PIXELS:
                    objective = tiling.TiledObjective(
                        self._tiled_functions(style_layers), self._tv_function(), style_layers, style_targets,
                        effective, tv_weight, size, TILE_SIDE)
                else:
                    objective = _objective(fn, args)
                x = run.run_scale(index, objective, x, settings.optimizer)
                if run.cancelled:
                    break  # the finer scales never start: the result is this scale's best image

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
            weights=self.weights_description,
        )

    @staticmethod
    def _upsample(x: np.ndarray, size: tuple[int, int], content: Image.Image | None) -> np.ndarray:
        """The previous scale's result at ``size``; with ``content``, plus the photo's detail that
        upsampling cannot restore (the photo at ``size`` minus the photo upsampled from the old size)."""
        up = images.resize_array(x, size)
        if content is not None:
            old = images.to_array(images.resize(content, (x.shape[1], x.shape[0])))
            up += images.to_array(images.resize(content, size)) - images.resize_array(old, size)
        return np.clip(up, 0.0, 1.0)

    def _initial(self, settings: Settings, size, style_inputs, content_image, texture: bool,
                 weights: Sequence[float] = (), wrap: bool = False) -> np.ndarray:
        if not texture and (settings.init == "content" or (settings.init == "palette" and settings.preserve_colors)):
            return images.to_array(images.resize(content_image, size))
        if not texture and settings.init == "palette":  # the photo in the painting's colours
            photo = images.to_array(images.resize(content_image, size))
            smalls = [images.to_array(images.thumbnail(s.image, 256)) for s in style_inputs]
            mean, cov = colors.blended_stats(smalls, list(weights) or [1.0] * len(smalls))
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


def stroke_size(image_size: tuple[int, int], box, stroke_scale: float) -> tuple[int, int]:
    """The size a style image's region (``box``, or all of it) is seen at, at a texture's final scale:
    the painting as if STROKE_REFERENCE_SIDE px on its long side, times ``stroke_scale``."""
    factor = stroke_scale * STROKE_REFERENCE_SIDE / max(image_size)
    width, height = (image_size if box is None else box[2:])
    factor = min(factor, MAX_STYLE_SIDE / max(width, height))
    return max(1, round(width * factor)), max(1, round(height * factor))


def _aligned(sizes: list[tuple[int, int]], align: int) -> list[tuple[int, int]]:
    """Sizes rounded to multiples of ``align`` (at least MIN_SIDE), repeats dropped. A final size that is
    not such a multiple is synthesized at the nearest one and resampled (periodically) at the end."""
    def side(value: int) -> int:
        return max(align * math.ceil(MIN_SIDE / align), align * round(value / align))

    out: list[tuple[int, int]] = []
    for width, height in sizes:
        size = (side(width), side(height))
        if not out or out[-1] != size:
            out.append(size)
    return out


def _scaled(size: tuple[int, int], ratio: float) -> tuple[int, int]:
    return fit_size(size[0], size[1], max(1, round(max(size) * ratio)))


def _fit(reference: np.ndarray, like: np.ndarray) -> np.ndarray:
    if reference.shape == like.shape:
        return reference
    return images.resize_array(reference, (like.shape[1], like.shape[0]))


def _channels(layers: Sequence[str]) -> list[int]:
    from .features import CHANNELS

    return [CHANNELS[name] for name in layers]


TERMS = ("style", "tv", "content")


def _objective(fn, args):
    """Adapt a compiled function to the optimizer's numpy interface."""

    def fun(image: np.ndarray):
        values, _, grad = fn(backend.to_tensor(image[None]), *args)
        values = backend.to_numpy(values).tolist()
        return values[0], dict(zip(TERMS, values[1:])), backend.to_numpy(grad)[0]

    return fun

