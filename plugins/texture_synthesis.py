"""Built-in filter: texture synthesis, a new image with the statistics of the style(s), from noise."""

from nst import __version__, options, presets
from nst.plugin import Filter, FilterResult, Needs


class TextureSynthesis(Filter):
    id = "texture_synthesis"
    name = "Texture synthesis"
    description = "Grows a texture from noise that matches the painting's Gram statistics, layer by layer."
    version = __version__
    needs = Needs(content=False, min_styles=1, max_styles=4, vgg=True)
    params = (options.PRESET, *options.declared("texture"))
    presets = {name: {"preset": name, **options.values_of(presets.get(name, "texture"), "texture")} for name in presets.names()}

    def run(self, inputs, params, progress):
        settings = options.to_settings("texture", params)
        result = inputs.engine().texture(
            inputs.styles, settings, style_weights=inputs.style_weights, progress=progress,
            cancel=inputs.cancel, preview_every=inputs.preview_every,
        )
        return FilterResult(result.image, metrics=result.metrics(), cancelled=result.cancelled)


FILTERS = [TextureSynthesis()]
