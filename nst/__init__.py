"""nst: the neural-style gallery's engine and services (no Streamlit in here).

Importing this package is cheap; TensorFlow loads only when an engine is built
(:func:`nst.engine.Engine`) or features are used. Whatever imports TensorFlow
through this package gets the settings below first (each one can be overridden
from the environment).
"""

import os as _os

_os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# Quiet TensorFlow's C++ start-up chatter unless the user asked for it.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# TensorFlow's CPU tensors come from malloc by default; VGG19's feature maps are
# tens of MB, so every step maps, page-faults and unmaps them again. TensorFlow's
# own BFC allocator keeps and reuses them: faster steps and a lower peak memory
# (docs/benchmarks.md).
_os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")

__version__ = "0.1.0"
