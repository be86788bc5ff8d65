"""nst: the neural-style gallery's engine and services (no Streamlit in here).

Importing this package is cheap; TensorFlow loads only when an engine is built
(:func:`nst.engine.Engine`) or features are used.
"""

__version__ = "0.1.0"
