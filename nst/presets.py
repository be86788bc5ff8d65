"""Named settings: ``quality`` (the default), ``best`` (the strongest, in about twice the time), ``fast``
(a preview in seconds) and ``tutorial``.

``tutorial`` reproduces the notebook this project started from, for
comparison: Adam (beta_1 0.99, epsilon 0.1) on one scale, raw (unnormalised)
loss terms with its weights, content layer ``block5_conv2``, 224 px square
textures from uniform noise, 50 x 100 texture steps and 20 x 100 transfer
steps. Its one change: the content loss is the mean squared difference (the
notebook squared the mean difference, which barely constrains content).
"""

from __future__ import annotations

from typing import Any, Mapping

from .errors import ParameterError
from .optimize import OptimizerSettings
from .options import declared
from .params import Param, validate, with_defaults
from .plugin import Preset
from .settings import Settings, settings_of, values_of

OPERATIONS = ("transfer", "texture")
#: The built-in filters' default preset (:attr:`nst.plugin.Filter.default_preset`): the values their
#: parameters default to, what the app's form starts from and what the CLI renders without ``--preset``.
DEFAULT = "quality"

TEXTURE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1")
_TUTORIAL_ADAM = dict(method="adam", beta1=0.99, beta2=0.999, epsilon=0.1, tolerance=0.0)

#: The style layers' weights of the quality transfer: block3 and block4 (the painting's strokes and
#: motifs) count twice, block5 (its larger forms, which fight the photo's layout) half.
QUALITY_LAYER_WEIGHTS = (1.0, 1.0, 2.0, 2.0, 0.5)
_QUALITY_TRANSFER = Settings(size=512, steps=8, coarse_steps=1.45, content_weight=0.14, content_balance=0.35,
                             style_layer_weights=QUALITY_LAYER_WEIGHTS, tv_weight=0.0, init="tones",
                             optimizer=OptimizerSettings(carry=True))

PRESETS: dict[str, dict[str, Settings]] = {
    "quality": {
        # Transfer: coarse to fine over 5 scales, 8 L-BFGS steps at the final one and 1.45x more at each
        # coarser one (a coarse step costs a fraction of a fine one and moves the painting further), each
        # scale resuming the last one's curvature; from the photo in the painting's colours, tone for tone
        # (a bright sky takes the painting's brightest colours); the painting's strokes and motifs
        # (block3, block4) weighed over its large forms (block5); the photo's weight following the
        # painting's strength (docs/benchmarks.md, "Against the reference implementation").
        "transfer": _QUALITY_TRANSFER,
        # Textures: a 512x512 seamless tile; four style layers (with block5, the Gram matrices pin
        # the painting's layout and the "texture" is a copy), the painting's strokes at their own
        # size, coarse-to-fine from where the painting is about 128 px, with most of the steps at
        # the cheap coarse scales, from smooth noise.
        "texture": Settings(width=512, height=512, tileable=True, style_layers=TEXTURE_LAYERS,
                            style_layer_weights=(1.0,) * 4, start_size=128, steps=6, coarse_steps=1.5,
                            init="noise", noise="smooth", optimizer=OptimizerSettings(history=40)),
    },
    "best": {
        # Twice the steps at every coarser scale (the two coarsest then stop on convergence) and 10 at the
        # final one, from the photo itself, the style layers weighed as quality's: about twice the quality
        # preset's time for the strongest painting.
        "transfer": Settings(size=512, steps=10, coarse_steps=2.0, content_weight=0.1, tv_weight=0.0,
                             style_layer_weights=QUALITY_LAYER_WEIGHTS, keep_detail=False,
                             optimizer=OptimizerSettings(carry=True)),
        "texture": Settings(width=512, height=512, tileable=True, style_layers=TEXTURE_LAYERS,
                            style_layer_weights=(1.0,) * 4, start_size=128, steps=10, coarse_steps=1.5,
                            init="noise", noise="smooth", optimizer=OptimizerSettings(history=40)),
    },
    "fast": {
        "transfer": Settings(size=256, start_size=181, steps=8, content_weight=0.1, tv_weight=0.0,
                             optimizer=OptimizerSettings(tolerance=2e-3)),
        "texture": Settings(width=256, height=256, tileable=True, style_layers=TEXTURE_LAYERS,
                            style_layer_weights=(1.0,) * 4, start_size=256, steps=30, init="noise", noise="smooth",
                            optimizer=OptimizerSettings(tolerance=2e-3)),
    },
    "tutorial": {
        "transfer": Settings(
            size=512, style_size=224, start_size=512, steps=2000, coarse_steps=1.0, normalize=False,
            style_weight=1e-2, content_weight=1e4, tv_weight=1e9, content_layer="block5_conv2",
            init="content", optimizer=OptimizerSettings(lr=0.001, **_TUTORIAL_ADAM),
        ),
        "texture": Settings(
            size=224, square=True, width=224, height=224, style_size=224, start_size=224, steps=5000,
            coarse_steps=1.0, normalize=False,
            style_weight=1e-1, tv_weight=1e9, init="noise", noise="uniform",
            optimizer=OptimizerSettings(lr=0.2, **_TUTORIAL_ADAM),
        ),
    },
}

DESCRIPTIONS = {
    "quality": "The default: coarse-to-fine L-BFGS, a finished 512-px painting in under a minute.",
    "best": "The strongest painting: twice the steps at every coarser scale, about twice the default's time.",
    "fast": "A quick 256-px preview (about ten seconds on two CPU cores once the engine is loaded).",
    "tutorial": "The original notebook's recipe (Adam, one scale, thousands of steps), for comparison.",
}

#: The presets that are quick previews (:attr:`nst.plugin.Preset.preview`): the render queue takes a
#: render made with one before the others.
PREVIEWS = frozenset({"fast"})


def get(name: str = DEFAULT, operation: str = "transfer") -> Settings:
    if operation not in OPERATIONS:
        raise ParameterError(f"Unknown operation {operation!r}; choose from {', '.join(OPERATIONS)}.")
    if name not in PRESETS:
        raise ParameterError(f"Unknown preset {name!r}; choose from {', '.join(PRESETS)}.")
    return PRESETS[name][operation]


def names() -> tuple[str, ...]:
    return tuple(PRESETS)


def settings(operation: str, values: Mapping[str, Any] | None = None, name: str = DEFAULT) -> Settings:
    """A preset's Settings with some options changed (``{"size": "128x128"}``, as the CLI takes them),
    checked: for the engine's own callers (benchmarks, tests), which run no filter."""
    given = {k: v for k, v in (values or {}).items() if v is not None}
    return settings_of(operation, validate(declared(operation), {**values_of(get(name, operation), operation), **given}))


def offered(operation: str) -> dict[str, Preset]:
    """Every preset of ``operation`` as a built-in filter offers it: its values, its description and
    whether it is a preview, all read from the tables above."""
    return {name: Preset(values_of(get(name, operation), operation), DESCRIPTIONS.get(name, ""),
                         preview=name in PREVIEWS)
            for name in names()}


def params(operation: str) -> tuple[Param, ...]:
    """Every option of ``operation``, with the default preset's values as their defaults: the built-in
    filters' parameters (and, through them, the CLI's options and the app's widgets)."""
    return tuple(with_defaults(declared(operation), values_of(get(DEFAULT, operation), operation)))
