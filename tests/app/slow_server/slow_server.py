"""A test-only plugin that slows the app server down on purpose (``NST_PLUGIN_PATH`` names this folder
only in the browser test of the parameter widgets, ``tests/app/test_browser_params.py``).

On a busy machine a page's run takes seconds, and a click or an upload lands while it is still going:
Streamlit then cuts that run short at the next element it sends. Here every element a page's run sends
waits ``NST_TEST_ELEMENT_DELAY`` seconds first (default 0.02; the wait releases the GIL, so the server
keeps taking the browser's messages), which makes such a run long enough to land in, every time.
Nothing of the app changes: Streamlit's ``ScriptRunner`` is wrapped when this file is imported, in the
app's process only (the plugin probe's child imports it too, without Streamlit, and does nothing).
"""

import os
import sys
import time

from nst.plugin import Filter, FilterResult, Needs

DELAY = float(os.environ.get("NST_TEST_ELEMENT_DELAY", "0.02"))


def _slow_down_page_runs() -> None:
    if "streamlit.runtime.scriptrunner" not in sys.modules:
        return  # not the app (the plugin probe's child)
    from streamlit.runtime.scriptrunner import script_runner

    runner = script_runner.ScriptRunner
    send = runner._enqueue_forward_msg
    if getattr(send, "slowed", False):
        return

    def slowed(self, msg):
        # before Streamlit looks for a waiting rerun: a request that comes in meanwhile cuts the run short here
        if msg.WhichOneof("type") == "delta" and self._is_in_script_thread():
            time.sleep(DELAY)
        send(self, msg)

    slowed.slowed = True
    runner._enqueue_forward_msg = slowed


_slow_down_page_runs()


class Unchanged(Filter):
    """Returns the style as it is (a plugin must offer something; this one offers nothing to paint)."""

    id = "test_unchanged"
    name = "Unchanged (test)"
    needs = Needs(content=False, min_styles=1, max_styles=1)

    def run(self, inputs, params, progress):
        return FilterResult(inputs.styles[0].image)


FILTERS = [Unchanged()]
