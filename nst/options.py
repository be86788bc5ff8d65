"""The engine's options, declared once as parameters: names, bounds, help and labels.

Every bound of a render's options is written here and nowhere else:
:class:`~nst.settings.Settings` validates its fields with these declarations,
the CLI's ``transfer`` and ``texture`` options and the app's widgets are built
from them, and the built-in filters declare them as their parameters.

:data:`TRANSFER` and :data:`TEXTURE` are what a user sets; :data:`FIXED` are
the rest of a render's recipe (the coarse-to-fine schedule, the optimizer's
constants), hidden from the app and the CLI and set by a filter's presets.
"""

from __future__ import annotations

from dataclasses import replace

from .params import BOX_EXAMPLE, Param
from .weights import LAYERS

STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
CONTENT_LAYERS = ("block4_conv2", "block5_conv2", "block3_conv2", "block2_conv2", "block4_conv1", "block5_conv1")
INITS = ("content", "palette", "tones", "instant", "noise")
NOISES = ("smooth", "matched", "uniform")
METHODS = ("lbfgs", "adam")
MAX_SIZE = 2048  # on a CPU, larger would need several GB for VGG19's activations
#: A transfer's long side: print sizes (an A3 print at 300 dpi is 4960 px) are computed tile by tile.
PRINT_MAX_SIZE = 6144
#: A texture's width and height (a tileable texture this large is computed tile by tile).
TEXTURE_MIN_SIDE, TEXTURE_MAX_SIDE = 128, MAX_SIZE
#: stroke_scale 1.0 shows the painting's strokes as they are when the painting is this many
#: pixels on its long side (whatever the resolution of its file).
STROKE_REFERENCE_SIDE = 1024
#: The smallest region of a style image a texture can learn from (a crop box's width and height).
MIN_CROP_SIDE = 32
#: A crop box as written on the command line.
CROP_EXAMPLE = BOX_EXAMPLE

# --------------------------------------------------------------------------- what a user sets

SIZE = Param("size", "int", 512, "Long side of the result, in pixels (print sizes: scales larger than "
             "1024x768 are computed tile by tile).", min=32, max=PRINT_MAX_SIZE, step=32,
             label="Size (px)")
STEPS = Param("steps", "int", 100, "VGG passes at the final scale; coarser scales get more, and every scale "
              "stops early once converged.", min=1, max=20000, step=1)
CONTENT_WEIGHT = Param("content_weight", "float", 1.0, "How much of the photo's structure to keep: higher is more "
                       "photo, lower is more painting.", min=0.0, max=1e12, log=True)
STYLE_WEIGHT = Param("style_weight", "float", 1.0, "Weight of the style loss.", min=0.0, max=1e12, log=True,
                     advanced=True)
HISTOGRAM_WEIGHT = Param("histogram_weight", "float", 0.0, "Histogram loss weight (Risser et al. 2017): each "
                         "channel of the painting's features matched as a whole distribution, which steadies "
                         "colours; 0 is off.", min=0.0, max=1e12, log=True, advanced=True)
TV_WEIGHT = Param("tv_weight", "float", 0.0, "Total-variation weight: higher is smoother.", min=0.0, max=1e12,
                  log=True, label="Smoothness (TV weight)")
STYLE_SCALE = Param("style_scale", "float", 1.0, "Size of the style's strokes: the style image is resized to the "
                    "result's size times this.", min=0.1, max=4.0, step=0.05)
#: A style layer's largest weight, as for the other weights: their sum stays finite.
MAX_LAYER_WEIGHT = 1e12
STYLE_LAYERS_OPTION = Param("style_layers", "layers", tuple((name, 1.0) for name in STYLE_LAYERS),
                            "Comma-separated VGG19 layers for the style loss, each with an optional "
                            "weight after a colon (block3_conv1:2 counts that layer twice).", advanced=True,
                            choices=LAYERS, max=MAX_LAYER_WEIGHT)
SEED = Param("seed", "int", 0, "Random seed (noise start); the same seed gives the same image.", min=0,
             max=2**31 - 1, advanced=True)
OPTIMIZER = Param("optimizer", "choice", "lbfgs", "L-BFGS (fast, the default) or Adam (the tutorial's).",
                  choices=METHODS, advanced=True)
LR = Param("lr", "float", 0.02, "Adam's learning rate (ignored by L-BFGS).", min=1e-6, max=10.0, log=True,
           advanced=True)
TOLERANCE = Param("tolerance", "float", 1e-3, "Stop a scale when the loss falls by less than this fraction per "
                  "step.", min=0.0, max=1.0, log=True, advanced=True)
START_SIZE = Param("start_size", "int", 128, "Coarse-to-fine starts at about this long side (set it to the size "
                   "for a single scale).", min=32, max=MAX_SIZE, step=16, advanced=True, label="Coarsest scale")
PRESERVE_COLORS = Param("preserve_colors", "bool", False, "Keep the photo's colours; take only the painting's "
                        "strokes.", label="Keep the photo's colours")
CONTENT_LAYER = Param("content_layer", "choice", "block4_conv2", "VGG19 layer for the content loss (the tutorial "
                      "used block5_conv2).", choices=CONTENT_LAYERS, advanced=True)
INIT = Param("init", "choice", "content", "Start from the photo, from the photo in the painting's colours "
             "(palette: its colours moved to the painting's average and spread; tones: each tone of the photo "
             "in the painting's colour of the same brightness), from the instant filter's sketch of it (instant; "
             "tones when the instant model is not installed), or from noise.", choices=INITS, advanced=True)
TEXTURE_SIZE = Param("size", "size", (512, 512), "The texture's width and height; any shape, whatever the "
                     "painting's.", min=TEXTURE_MIN_SIDE, max=TEXTURE_MAX_SIDE, step=16, label="Size (px)")
TILEABLE = Param("tileable", "bool", False, "Make a seamless tile: the texture repeats in both directions without "
                 "a visible edge (backgrounds, wallpapers, fabric, game surfaces).", label="Seamless tile")
STROKE_SCALE = Param("stroke_scale", "float", 1.0, f"Size of the painting's strokes in the texture: 1 shows them "
                     f"as in the painting at {STROKE_REFERENCE_SIDE} px on its long side, 2 twice as large (fewer "
                     f"of them), 0.5 half as large.", min=0.1, max=4.0, step=0.05)
CROP = Param("crop", "boxes", (), f"Learn from a region of the style image only: x,y,w,h in its pixels (e.g. "
             f"{CROP_EXAMPLE}; at least {MIN_CROP_SIDE} px a side). Several styles: one box for all, or one per "
             f"style separated by ';'. Empty: the whole image.", label="Crop box", min=MIN_CROP_SIDE)

TRANSFER: tuple[Param, ...] = (SIZE, STEPS, CONTENT_WEIGHT, STYLE_WEIGHT, TV_WEIGHT, STYLE_SCALE,
                               STYLE_LAYERS_OPTION, SEED, OPTIMIZER, LR, TOLERANCE, START_SIZE, PRESERVE_COLORS,
                               CONTENT_LAYER, INIT, HISTOGRAM_WEIGHT)

TEXTURE: tuple[Param, ...] = (TEXTURE_SIZE, STEPS, TILEABLE, STROKE_SCALE, CROP, STYLE_WEIGHT, TV_WEIGHT,
                              STYLE_LAYERS_OPTION, SEED, OPTIMIZER, LR, TOLERANCE, START_SIZE, HISTOGRAM_WEIGHT)

# --------------------------------------------------------------------------- the rest of a recipe

FIXED: tuple[Param, ...] = (
    Param("square", "bool", False, "Textures without a width and height: a square result.", hidden=True),
    Param("style_size", "int", 0, "A fixed long side for the style image (0: the result's, times style_scale).",
          min=32, max=MAX_SIZE, unset=0, hidden=True),
    Param("coarse_steps", "float", 1.5, "Each coarser scale gets this many times the steps of the next.",
          min=0.0, hidden=True),
    Param("final_steps", "int", 0, "A different step budget for the final scale only (0: steps).", min=1,
          max=1_000_000, unset=0, hidden=True),
    Param("normalize", "bool", True, "Each loss term relative to its target's magnitude.", hidden=True),
    Param("keep_detail", "bool", True, "Between scales, add back the photo's detail that upsampling loses.",
          hidden=True),
    Param("content_balance", "float", 0.0, "The photo's weight grows where the painting's statistics are weak "
          "beside the photo's features, to this power (0: the content weight as given).", min=0.0, max=2.0,
          hidden=True),
    Param("balance_coarse", "bool", True, "Raw texture objectives: every style layer alike at coarse scales.",
          hidden=True),
    Param("noise", "choice", "smooth", "The noise a texture starts from.", choices=NOISES, hidden=True),
    Param("history", "int", 20, "L-BFGS memory.", min=1, max=200, hidden=True),
    Param("carry", "bool", False, "L-BFGS: each scale resumes the previous scale's curvature.", hidden=True),
    Param("patience", "int", 5, "Convergence is judged over this many steps.", min=1, max=10_000, hidden=True),
    Param("beta1", "float", 0.9, "Adam's beta_1.", min=0.0, max=0.999999, hidden=True),
    Param("beta2", "float", 0.999, "Adam's beta_2.", min=0.0, max=0.999999, hidden=True),
    Param("epsilon", "float", 1e-8, "Adam's epsilon.", min=0.0, max=1e6, hidden=True),
)


#: A texture always starts from noise (the recipe says which), and is as large as its width and height say.
TEXTURE_FIXED: tuple[Param, ...] = (replace(INIT, hidden=True),)


def declared(operation: str) -> tuple[Param, ...]:
    """Every parameter of an operation: what a user sets, then the fixed part of the recipe."""
    return TRANSFER + FIXED if operation == "transfer" else TEXTURE + FIXED + TEXTURE_FIXED


def shown(operation: str) -> tuple[Param, ...]:
    """What a user sets for an operation (the CLI's options)."""
    return TRANSFER if operation == "transfer" else TEXTURE
