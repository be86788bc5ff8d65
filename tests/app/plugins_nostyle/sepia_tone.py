"""A filter that takes a photo and no style, like the Sepia example of docs/plugins.md (the app's tests load it
through ``NST_PLUGIN_PATH``)."""

import time

import numpy as np

from nst.plugin import Filter, FilterResult, Needs, Param, report_step


class SepiaTone(Filter):
    id = "sepia_tone"
    name = "Sepia tone"
    description = "Old-photo brown tones."
    version = "1.0"
    needs = Needs(content=True, min_styles=0, max_styles=0)
    params = (Param("strength", "float", 0.8, "How brown.", min=0.0, max=1.0, step=0.05),)
    presets = {"subtle": {"strength": 0.4}}

    def run(self, inputs, params, progress):
        started = time.perf_counter()
        photo = np.asarray(inputs.content, dtype=np.float32) / 255
        grey = photo @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        sepia = np.stack([grey * 1.07, grey * 0.74, grey * 0.43], axis=-1)
        out = (1 - params["strength"]) * photo + params["strength"] * sepia
        report_step(progress, 1, 1, started)
        return FilterResult(np.clip(out, 0, 1), metrics={"strength": params["strength"]})


FILTERS = [SepiaTone()]
