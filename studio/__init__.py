"""The app shell: the command line, the render queue and the workers that take renders from it.

It sits above the style library (:mod:`db`) and the engine core (:mod:`nst`):
it imports both, neither imports it. The Streamlit pages (:mod:`ui`) use it
through :mod:`ui.services`.

==================  ===========================================================
``queue``           the huey queue that carries "render N is ready"
``farm``            the caller's side: submit, watch, cancel (any process)
``worker``          the worker's side: claim, heartbeat, run the filter, store
``consumer``        huey consumers: in the app (threads) and ``python -m nst worker``
``cli`` & co.       ``python -m nst ...``
==================  ===========================================================
"""
