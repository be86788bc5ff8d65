"""A filter for the queue benchmark: it waits (it does not compute), so the CPU cannot hide the queue's cost."""

import time

from nst.params import Param
from nst.plugin import Filter, FilterResult, Needs, report_step


class Wait(Filter):
    id = "bench_wait"
    name = "Wait (benchmark)"
    description = "Returns the photo after waiting; for measuring the render queue."
    needs = Needs(content=True, min_styles=0, max_styles=0)
    params = (Param("seconds", "float", 0.1, "How long to wait.", min=0.0, max=60.0),)

    def run(self, inputs, params, progress):
        started = time.perf_counter()
        steps = max(1, int(params["seconds"] / 0.05))  # a step every 50 ms, and a look at Cancel
        for step in range(1, steps + 1):
            if inputs.cancelled:
                return FilterResult(inputs.content, cancelled=True)
            time.sleep(params["seconds"] / steps)
            report_step(progress, step, steps, started)
        return FilterResult(inputs.content)


FILTERS = [Wait()]
