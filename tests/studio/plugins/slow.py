"""Filters for the farm's tests: a slow one that can be cancelled, and one that exits the interpreter."""

import threading
import time

import numpy as np

from nst.params import Param
from nst.plugin import Filter, FilterResult, Needs, Preset
from nst.progress import Progress


class Slow(Filter):
    """Darkens the photo a little more at every step; a step takes ``delay`` seconds."""

    id = "slow"
    name = "Slow"
    needs = Needs(content=True, min_styles=0, max_styles=1)
    params = (Param("steps", "int", 200, "Steps.", min=1, max=100000),
              Param("delay", "float", 0.01, "Seconds a step.", min=0.0, max=10.0))
    # "long" is the app's default preset; "fast" a quick preview, taken before queued finals
    presets = {"long": {"steps": 500}, "fast": Preset({"steps": 5}, "A few steps.", preview=True)}

    def run(self, inputs, params, progress):
        started = time.perf_counter()
        photo = np.asarray(inputs.content, dtype=np.float32) / 255
        best = photo
        for step in range(1, params["steps"] + 1):
            if inputs.cancelled:
                return FilterResult(best, metrics={"steps": step - 1}, cancelled=True)
            best = np.clip(photo * (1 - step / (2 * params["steps"])), 0, 1)
            progress(Progress(step=step, total=params["steps"], elapsed=time.perf_counter() - started, image=best))
            time.sleep(params["delay"])
        return FilterResult(best, metrics={"steps": params["steps"]})


#: Set by a test to let a Stubborn render's thread end.
RELEASE = threading.Event()


class Stubborn(Filter):
    """Ignores Cancel and its time limit: it returns only when a test sets ``RELEASE``."""

    id = "stubborn"
    name = "Stubborn"
    needs = Needs(content=True, min_styles=0, max_styles=1)

    def run(self, inputs, params, progress):
        while not RELEASE.wait(0.01):
            pass
        return FilterResult(inputs.content)


class Exits(Filter):
    id = "exits"
    name = "Exits"
    needs = Needs(content=True, min_styles=0, max_styles=1)

    def run(self, inputs, params, progress):
        raise SystemExit(3)


FILTERS = [Slow(), Stubborn(), Exits()]
