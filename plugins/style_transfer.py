"""Built-in filter: style transfer (Gatys et al.), painting a photo in the style of saved paintings.

It goes through exactly the same registry path as any user plugin; its
parameters are the engine's options (:mod:`nst.options`), its presets the
engine's preset values (:mod:`nst.presets`), declared here with their
descriptions.
"""

from nst import __version__, presets
from nst.plugin import Filter, FilterResult, Needs, Preset
from nst.settings import layers_of, settings_of, values_of

OPERATION = "transfer"


class StyleTransfer(Filter):
    id = "style_transfer"
    name = "Style transfer"
    description = ("Paints the photo with the strokes and colours of one or more paintings "
                   "(several are blended by their weights).")
    version = __version__
    needs = Needs(content=True, min_styles=1, max_styles=4, vgg=True)
    params = presets.params(OPERATION)
    presets = {name: Preset(values_of(presets.get(name, OPERATION), OPERATION), presets.DESCRIPTIONS.get(name, ""),
                            preview=name == "fast")
               for name in presets.names()}

    def check(self, inputs, params):
        layers_of(params["style_layers"])  # the one option whose declaration cannot say it all

    def run(self, inputs, params, progress):
        settings = settings_of(OPERATION, params)
        result = inputs.engine().transfer(
            inputs.content, inputs.styles, settings, style_weights=inputs.style_weights, progress=progress,
            cancel=inputs.cancel, preview_every=inputs.preview_every,
        )
        return FilterResult(result.image, metrics=result.metrics(), cancelled=result.cancelled)

    def prepare(self, engine, styles, params):
        settings = settings_of(OPERATION, params)
        for style in styles:
            engine.prepare_targets(style, settings)


FILTERS = [StyleTransfer()]
