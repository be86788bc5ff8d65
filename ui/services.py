"""The app's long-lived objects, one per server process (``st.cache_resource``).

Pages get the library, the plugin registry, the shared engine and the render
farm from here, assembled once as the workers and the CLI assemble them
(:mod:`studio.assembly`); everything else they do goes through those services. Renders
go to the queue (:mod:`studio.queue`); this process takes them too, with
``NST_APP_WORKERS`` render threads (default 1; 0: only submit, and
``python -m nst worker`` processes paint).
"""

from __future__ import annotations

import sys

import streamlit as st

from nst.errors import NSTError


def _keep_keras_state_between_reruns() -> None:
    """Streamlit calls ``keras.backend.clear_session()`` after every script run (to free models
    a script rebuilds each time). For TensorFlow that also clears the kernel cache, so with the
    progress fragment re-running every second, every VGG19 pass rebuilt its kernels: renders ran
    three times slower in the app than on the command line. This app builds its model once (in
    ``engine_provider``), so there is nothing to clear: Streamlit's clean-up after a script run
    (``_clean_problem_modules``) runs with Keras' ``clear_session`` held back for its duration, and
    does the rest of its work as before. ``keras.backend.clear_session`` itself is left alone, so any
    other caller in the process still clears the session.
    """
    from streamlit.runtime.scriptrunner import script_runner

    clean = getattr(script_runner, "_clean_problem_modules", None)
    if clean is None or getattr(clean, "keeps_keras", False):
        return  # another Streamlit release, or already done in this process

    def clean_but_keep_keras() -> None:
        keras = sys.modules.get("keras")
        backend = getattr(keras, "backend", None)
        if backend is None:
            clean()
            return
        clear_session = backend.clear_session
        backend.clear_session = _keep_session
        try:
            clean()
        finally:
            backend.clear_session = clear_session

    clean_but_keep_keras.keeps_keras = True
    script_runner._clean_problem_modules = clean_but_keep_keras


def _keep_session(*args, **kwargs) -> None:
    """Stands in for ``keras.backend.clear_session`` while Streamlit cleans up after a script run."""


_keep_keras_state_between_reruns()  # before any page runs: the engine may be built by any of them

@st.cache_resource(show_spinner="Opening the style library...")
def _assembly():
    """The library, the plugins (their styles added to the library) and the engine's provider, assembled as
    the workers and the CLI assemble them (:func:`studio.assembly.assemble`)."""
    from studio.assembly import assemble

    return assemble()


def registry():
    return _assembly().registry


def library():
    return _assembly().library


def engine_provider():
    """Builds the VGG19 engine on first use (it loads TensorFlow), with the library's Gram cache."""
    return _assembly().engine


@st.cache_resource(show_spinner=False)
def farm():
    """Submit, watch and cancel renders (any process's workers may run them)."""
    return _assembly().farm()


@st.cache_resource(show_spinner=False)
def render_threads():
    """This process's render threads (None when ``NST_APP_WORKERS=0``)."""
    from studio.consumer import RenderThreads, app_workers

    for old in list(RenderThreads.instances):  # a cleared cache must not leave two of them in one process
        old.stop()
    threads = app_workers()
    if threads == 0:
        return None
    return RenderThreads(library(), registry(), engine_provider(), threads=threads).start()


def reload_plugins() -> None:
    """Discover plugins again; the farm and this process's workers use the new registry from now on."""
    fresh = _assembly().reload_plugins()
    farm().registry = fresh
    local = render_threads()
    if local is not None:
        local.worker.registry = fresh


@st.cache_data(ttl=60, show_spinner=False)
def weights_status() -> tuple[bool, str]:
    """(ok, message): which VGG19 weights will be used, or what to do when there are none."""
    from nst import weights

    try:
        return True, weights.locate().describe()
    except NSTError as exc:
        return False, str(exc)
