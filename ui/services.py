"""The app's long-lived objects, one per server process (``st.cache_resource``).

Pages get the library, the plugin registry, the shared engine and the render
worker from here; everything else they do goes through those services.
"""

from __future__ import annotations

import streamlit as st

from nst.errors import NSTError
from nst.plugin import lazy


def _keep_keras_state_between_reruns() -> None:
    """Streamlit calls ``keras.backend.clear_session()`` after every script run (to free models
    a script rebuilds each time). For TensorFlow that also clears the kernel cache, so with the
    progress fragment re-running every second, every VGG19 pass rebuilt its kernels: renders ran
    three times slower in the app than on the command line. This app builds its model once (in
    ``engine_provider``), so there is nothing to clear; the call is made a no-op in this process.
    """
    import keras

    keras.backend.clear_session = lambda *args, **kwargs: None



@st.cache_resource(show_spinner=False)
def registry():
    from nst.registry import Registry

    return Registry.discover()


@st.cache_resource(show_spinner="Opening the style library...")
def library():
    from db import open_library

    lib = open_library()
    registry().sync_styles(lib)  # styles contributed by plugins; idempotent
    return lib


@st.cache_resource(show_spinner=False)
def engine_provider():
    """Builds the VGG19 engine on first use (it loads TensorFlow), with the library's Gram cache."""
    lib = library()  # resolved here, on the script thread: the worker thread has no Streamlit context

    def build():
        from db.gram_store import GramStore
        from nst.engine import Engine

        _keep_keras_state_between_reruns()
        return Engine(store=GramStore(lib))

    return lazy(build)


@st.cache_resource(show_spinner=False)
def worker():
    from nst.jobs import Worker

    for old in list(Worker.instances):  # a cleared cache must not leave two workers on one queue
        old.stop()
    return Worker(library(), registry(), engine_provider())


def reload_plugins() -> None:
    """Discover plugins again; the worker uses the new registry for its next render."""
    registry.clear()
    fresh = registry()
    fresh.sync_styles(library())
    worker().registry = fresh


@st.cache_data(ttl=60, show_spinner=False)
def weights_status() -> tuple[bool, str]:
    """(ok, message): which VGG19 weights will be used, or what to do when there are none."""
    from nst import weights

    try:
        return True, weights.locate().describe()
    except NSTError as exc:
        return False, str(exc)
