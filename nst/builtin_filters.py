"""The built-in filters, style transfer and texture synthesis: one filter class over the engine's two operations.

``plugins/style_transfer.py`` and ``plugins/texture_synthesis.py`` each hold one
(``FILTERS = [builtin_filter("transfer")]``), so they are discovered, probed,
admitted and run exactly as any user plugin is; the app, the render workers and
the CLI's ``transfer`` and ``texture`` all run them through the registry
(:meth:`nst.registry.Registry.run` and its admission). Their parameters are the
engine's options (:mod:`nst.options`); their presets, and which of them is the
default and which are previews, are the preset table's (:mod:`nst.presets`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from . import __version__, crops, presets, pyramid
from .errors import ParameterError
from .plugin import Filter, FilterResult, Needs
from .progress import Progress
from .settings import settings_of


@dataclass(frozen=True)
class Operation:
    """What tells the two built-in filters apart."""

    id: str
    name: str
    description: str
    content: bool  # paints a photo (transfer), or grows a picture from noise (texture)


OPERATIONS = {
    "transfer": Operation(
        "style_transfer", "Style transfer",
        "Paints the photo with the strokes and colours of one or more paintings (several are blended by their "
        "weights).", content=True),
    # The texture has any width and height; by default it is a seamless tile (it repeats without an edge),
    # learnt from each style image (or a crop box of it) at the painting's own stroke size.
    "texture": Operation(
        "texture_synthesis", "Texture synthesis",
        "Grows a texture from noise that matches the painting's Gram statistics, layer by layer: any size, a "
        "seamless tile by default, from the whole painting or a region of it.", content=False),
}

#: The built-in filter's id behind each of the CLI's commands (``transfer``, ``texture``).
FILTER_IDS = {operation: op.id for operation, op in OPERATIONS.items()}


class EngineFilter(Filter):
    """A built-in filter: one of the engine's operations (:meth:`nst.engine.Engine.transfer` or
    :meth:`~nst.engine.Engine.texture`), with the preset table's presets."""

    def __init__(self, operation: str):
        if operation not in OPERATIONS:
            raise ParameterError(f"Unknown operation {operation!r}; choose from {', '.join(OPERATIONS)}.")
        op = OPERATIONS[operation]
        self.operation = operation
        self.id, self.name, self.description, self.version = op.id, op.name, op.description, __version__
        self.needs = Needs(content=op.content, min_styles=1, max_styles=4, vgg=True)
        self.params = presets.params(operation)
        self.presets = presets.offered(operation)
        self.default_preset = presets.DEFAULT

    def check(self, inputs, params):
        if "crop" in params:  # a texture's crop boxes, each inside its style image (named as the user named it)
            names = list(inputs.style_names)
            crops.for_styles(params["crop"], [s.size for s in inputs.styles],
                             names=names if len(names) == len(inputs.styles) else None)

    def run(self, inputs, params, progress):
        settings = settings_of(self.operation, params)
        started = time.monotonic()

        def stage(text: str, fraction: float) -> None:  # what the render does before its first step
            progress(Progress(0, 0, time.monotonic() - started, fraction=fraction, stage=text))

        stage("Loading the network", 0.0)
        engine = inputs.engine()
        self._measure(engine, list(inputs.styles), settings, None if inputs.content is None else inputs.content.size,
                      stage)
        pictures = (inputs.content, inputs.styles) if self.needs.content else (inputs.styles,)
        render = engine.transfer if self.needs.content else engine.texture
        resumable = {"checkpoint": inputs.checkpoint, "resume": inputs.resume} if self.needs.content else {}
        result = render(*pictures, settings, style_weights=inputs.style_weights, progress=progress,
                        cancel=inputs.cancel, preview_every=inputs.preview_every,
                        snapshot_every=inputs.snapshot_every, snapshot_dir=inputs.snapshot_dir, **resumable)
        return FilterResult(result.image, metrics=result.metrics(), cancelled=result.cancelled)

    def scale_sizes(self, inputs, params):
        """A transfer's canvas at each scale (the plan :meth:`nst.engine.Engine.transfer` follows); a texture
        has no checkpoints."""
        if not self.needs.content or inputs.content is None:
            return None
        plan = pyramid.transfer(settings_of(self.operation, params), inputs.content.size,
                                [style.image.size for style in inputs.styles])
        return plan.sizes

    def prepare(self, engine, styles, params):
        """The Gram targets of ``styles`` at every scale of a render with ``params`` (a transfer's, for any photo:
        the style's sizes follow only the result's long side)."""
        self._measure(engine, list(styles), settings_of(self.operation, params), None)

    def _measure(self, engine, styles, settings, content_size, stage=None) -> None:
        """Find (or compute, and so cache) the Gram targets of ``styles`` at every scale of a render with
        ``settings``, saying how far it got through ``stage(text, fraction)``; a texture learnt from crop boxes
        of its styles is left to the engine, which measures the crops."""
        sizes = [style.image.size for style in styles]
        if self.needs.content:
            plan = pyramid.transfer(settings, content_size or (settings.size, settings.size), sizes)
        elif any(crops.for_styles(settings.crop, sizes)):
            return
        else:
            plan = pyramid.texture(settings, sizes)
        needed = list(dict.fromkeys((index, size) for per_scale in plan.style_sizes
                                    for index, size in enumerate(per_scale)))
        layers = tuple(settings.style_layers)
        for done, (index, size) in enumerate(needed):
            if stage is not None:
                stage(f"Measuring the style{'s' if len(styles) > 1 else ''}: {done} of {len(needed)} sizes",
                      done / len(needed))
            engine.style_grams(styles[index], size, layers)
        if stage is not None:
            stage("Style measured; preparing the first step", 1.0)


def builtin_filter(operation: str) -> EngineFilter:
    """The built-in filter of ``operation`` (``"transfer"`` or ``"texture"``)."""
    return EngineFilter(operation)
