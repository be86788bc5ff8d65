"""Built-in filter: style transfer (Gatys et al.), painting a photo in the style of saved paintings.

It goes through exactly the same registry path as any user plugin; its
parameters are the engine's options (:mod:`nst.options`), its presets the
engine's presets.
"""

from nst import __version__, options, presets
from nst.plugin import Filter, FilterResult, Needs


class StyleTransfer(Filter):
    id = "style_transfer"
    name = "Style transfer"
    description = ("Paints the photo with the strokes and colours of one or more paintings "
                   "(several are blended by their weights).")
    version = __version__
    needs = Needs(content=True, min_styles=1, max_styles=4, vgg=True)
    params = (options.PRESET, *options.declared("transfer"))
    presets = {name: {"preset": name, **options.values_of(presets.get(name, "transfer"), "transfer")} for name in presets.names()}

    def check(self, inputs, params):
        options.to_settings("transfer", params)  # every option checked before the render is recorded

    def run(self, inputs, params, progress):
        settings = options.to_settings("transfer", params)
        result = inputs.engine().transfer(
            inputs.content, inputs.styles, settings, style_weights=inputs.style_weights, progress=progress,
            cancel=inputs.cancel, preview_every=inputs.preview_every,
        )
        return FilterResult(result.image, metrics=result.metrics(), cancelled=result.cancelled)

    def prepare(self, engine, styles, params):
        settings = options.to_settings("transfer", params)
        for style in styles:
            engine.prepare_targets(style, settings)


FILTERS = [StyleTransfer()]
