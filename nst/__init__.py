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
# tens of MB, so every step maps, page-faults and unmaps them again (a third of
# the CPU time went to the kernel on a 2-core AMD EPYC). TensorFlow's own BFC
# allocator keeps and reuses them: VGG19 forward and backward at 512x384 took
# 2.7-3.2 s instead of 3.7-4.0 s there, with less peak memory (1.77 vs 1.97 GB).
_os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")

__version__ = "0.1.0"
