"""The only backend-specific code: quiet start-up, precision, gradients and compilation.

Features and losses are written with ``keras.ops``; this module turns such a
loss into one compiled function returning the value and the gradient with
respect to the image. TensorFlow is the backend we ship; porting to another
Keras backend (JAX on GPUs) means rewriting this module only.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache

# The environment TensorFlow starts with (log level, allocator) is set in nst/__init__.py.

import numpy as np  # noqa: E402

from . import config  # noqa: E402


def _import_tensorflow_quietly():
    """Import TensorFlow with its C++ start-up notices (oneDNN, CUDA) kept off stderr.

    Those lines are written by absl before any log level applies, so stderr is
    pointed at /dev/null for the import. ``NST_VERBOSE_TF=1`` shows them.
    """
    if config.value("NST_VERBOSE_TF"):
        import tensorflow

        return tensorflow
    import sys

    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow
        import keras  # noqa: F401  (its first use of TensorFlow prints the notices again)

        tensorflow.config.list_physical_devices()  # device probing logs "failed call to cuInit"
        tensorflow.constant(0.0) + 1.0
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return tensorflow


tf = _import_tensorflow_quietly()

try:  # absl prints "All log messages before absl::InitializeLog()..." otherwise
    from absl import logging as _absl_logging

    _absl_logging.set_verbosity(_absl_logging.ERROR)
except ImportError:  # pragma: no cover - absl ships with TensorFlow
    pass

NAME = "tensorflow"
_lock = threading.Lock()


#: CPU flags (as /proc/cpuinfo names them) of native bfloat16 arithmetic.
BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def bf16_in_cpuinfo(cpuinfo: str) -> bool:
    """True when the ``flags`` line of a /proc/cpuinfo text names native bfloat16 arithmetic."""
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            return bool(BF16_FLAGS & set(line.split(":", 1)[1].split()))
    return False


@lru_cache(maxsize=1)
def cpu_has_bf16() -> bool:
    """True when the CPU computes bfloat16 natively (AVX512-BF16 or AMX)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as handle:
            return bf16_in_cpuinfo(handle.read())
    except OSError:
        return False


def resolve_precision(precision: str) -> str:
    """``auto`` -> the ``NST_PRECISION`` setting when it names one; else ``bfloat16`` where the CPU has native
    bf16 arithmetic (and no GPU), else ``float32``. An explicit ``float32`` or ``bfloat16`` is kept."""
    if precision == "auto":
        chosen = config.value("NST_PRECISION")
        if chosen != "auto":
            return chosen
        if tf.config.list_physical_devices("GPU"):
            return "float32"
        return "bfloat16" if cpu_has_bf16() else "float32"
    if precision not in ("float32", "bfloat16"):
        raise ValueError(f"precision must be auto, float32 or bfloat16, not {precision!r}")
    return precision


def dtype_policy(precision: str) -> str:
    return "mixed_bfloat16" if precision == "bfloat16" else "float32"


def compile_value_and_grad(loss_fn, signature):
    """Compile ``loss_fn(image, *args) -> (total, terms)`` into one function.

    The result maps ``(image, *args)`` to ``(total, terms, gradient)`` as
    tensors; ``total`` may be a vector whose first entry is differentiated. ``signature`` (a list of :func:`spec` values, the image first)
    leaves the spatial dimensions open, so the function is traced once and
    reused for every image size.
    """

    def value_and_grad(image, *args):
        with tf.GradientTape() as tape:
            tape.watch(image)
            total, terms = loss_fn(image, *args)
            loss = total[0] if total.shape.rank else total
        return total, terms, tape.gradient(loss, image)

    return tf.function(value_and_grad, input_signature=signature, autograph=False)


def compile_forward(fn, signature):
    """Compile a gradient-free function once for all image sizes."""
    return tf.function(fn, input_signature=signature, autograph=False)


def spec(shape, dtype="float32"):
    return tf.TensorSpec(shape=shape, dtype=dtype)


def tracing_count(compiled) -> int:
    return compiled.experimental_get_tracing_count()


def to_tensor(array, dtype="float32"):
    return tf.convert_to_tensor(array, dtype=dtype)


def to_numpy(value) -> np.ndarray:
    return value.numpy() if hasattr(value, "numpy") else np.asarray(value)


def eager():
    """A context in which code runs eagerly even while a function is being traced (for building
    models and reading their weights the first time a traced function needs them)."""
    return tf.init_scope()


def lock() -> threading.Lock:
    """Serialises model construction (the Keras dtype policy is global)."""
    return _lock
