"""Built-in filter: texture synthesis, growing a new image with the statistics of the style(s), from noise.

The texture has any width and height; by default it is a seamless tile (it
repeats without an edge), learnt from each style image (or a crop box of it) at
the painting's own stroke size. See :meth:`nst.engine.Engine.texture`. Its
presets are the engine's preset values (:mod:`nst.presets`), declared here with
their descriptions.
"""

from nst import __version__, crops, presets
from nst.plugin import Filter, FilterResult, Needs, Preset
from nst.settings import layers_of, settings_of, values_of

OPERATION = "texture"


class TextureSynthesis(Filter):
    id = "texture_synthesis"
    name = "Texture synthesis"
    description = ("Grows a texture from noise that matches the painting's Gram statistics, layer by layer: "
                   "any size, a seamless tile by default, from the whole painting or a region of it.")
    version = __version__
    needs = Needs(content=False, min_styles=1, max_styles=4, vgg=True)
    params = presets.params(OPERATION)
    presets = {name: Preset(values_of(presets.get(name, OPERATION), OPERATION), presets.DESCRIPTIONS.get(name, ""),
                            preview=name == "fast")
               for name in presets.names()}

    def check(self, inputs, params):
        layers_of(params["style_layers"])
        crops.for_styles(crops.parse(params["crop"]), [s.image.size for s in inputs.styles])

    def run(self, inputs, params, progress):
        settings = settings_of(OPERATION, params)
        result = inputs.engine().texture(
            inputs.styles, settings, style_weights=inputs.style_weights, progress=progress,
            cancel=inputs.cancel, preview_every=inputs.preview_every,
        )
        return FilterResult(result.image, metrics=result.metrics(), cancelled=result.cancelled)


FILTERS = [TextureSynthesis()]
