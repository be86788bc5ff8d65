"""Both arithmetic paths, on any machine: ``auto`` picks bfloat16 only where the CPU computes it natively,
and the engine renders in the path ``auto`` did not pick as well (see ``other_precision`` in
tests/conftest.py): float32 on a CPU with bfloat16, bfloat16 on one without."""

from __future__ import annotations

import numpy as np
import pytest

from nst import backend
from nst.settings import STYLE_LAYERS
from nst.targets import StyleInput

from tests.conftest import other_precision

WITHOUT_BF16 = """processor\t: 0
vendor_id\t: AuthenticAMD
flags\t\t: fpu vme de pse tsc msr pae sse sse2 ht syscall nx lm avx f16c avx2 fma bmi2 avx512f avx512bw avx512_vnni
"""
WITH_AVX512_BF16 = WITHOUT_BF16.replace("avx512_vnni", "avx512_vnni avx512_bf16")
WITH_AMX = WITHOUT_BF16.replace("avx512_vnni", "avx512_vnni amx_tile amx_bf16 amx_int8")


def test_the_cpu_flags_that_mean_native_bfloat16():
    assert not backend.bf16_in_cpuinfo(WITHOUT_BF16)
    assert backend.bf16_in_cpuinfo(WITH_AVX512_BF16) and backend.bf16_in_cpuinfo(WITH_AMX)
    assert not backend.bf16_in_cpuinfo("processor\t: 0\n")  # no flags line at all
    assert not backend.bf16_in_cpuinfo("flags\t\t: avx512_bf16x\n"), "whole flag names only"


@pytest.fixture
def machine(monkeypatch):
    """Pretend to be a machine: ``machine(bf16=..., gpus=...)``."""

    def pretend(bf16: bool, gpus: int = 0) -> None:
        monkeypatch.setattr(backend, "cpu_has_bf16", lambda: bf16)
        real = backend.tf.config.list_physical_devices
        monkeypatch.setattr(backend.tf.config, "list_physical_devices",
                            lambda kind=None: [f"GPU:{n}" for n in range(gpus)] if kind == "GPU" else real(kind))

    return pretend


@pytest.mark.parametrize("bf16, gpus, expected", [
    (False, 0, "float32"),  # a CPU without native bfloat16 (AVX2 only): emulated bf16 would be slower
    (True, 0, "bfloat16"),  # AVX512-BF16 or AMX: about twice as fast
    (True, 1, "float32"),  # a GPU: float32
])
def test_auto_picks_the_arithmetic_the_machine_computes_fastest(machine, bf16, gpus, expected):
    machine(bf16=bf16, gpus=gpus)
    assert backend.resolve_precision("auto") == expected
    assert backend.resolve_precision("float32") == "float32" and backend.resolve_precision("bfloat16") == "bfloat16"
    assert backend.dtype_policy(expected) == ("mixed_bfloat16" if expected == "bfloat16" else "float32")


def test_an_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="auto, float32 or bfloat16"):
        backend.resolve_precision("float16")


def test_the_real_cpu_is_read():
    """What /proc/cpuinfo says, read by the backend, against the processor's own answer to CPUID, as
    numpy's dispatcher reads it (a machine with AMX has AVX512-BF16 as well)."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # numpy 1.x
        from numpy.core._multiarray_umath import __cpu_features__ as features
    if "AVX512BF16" not in features:
        pytest.skip("this numpy does not report AVX512-BF16")
    assert backend.cpu_has_bf16() == features["AVX512BF16"]


def test_both_paths_compute_nearly_the_same_style_targets(engine, other_precision_engine, painting):
    """The same Gram matrices up to bfloat16's 8-bit mantissa; and never the same cache entry."""
    assert {engine.extractor.precision, other_precision_engine.extractor.precision} == {"float32", "bfloat16"}
    assert other_precision_engine.extractor.precision == other_precision()
    assert engine.extractor.id != other_precision_engine.extractor.id
    style = StyleInput.of(painting)
    ours = engine.style_grams(style, (64, 64), STYLE_LAYERS)
    theirs = other_precision_engine.style_grams(style, (64, 64), STYLE_LAYERS)
    for layer in STYLE_LAYERS:
        assert theirs[layer].dtype == np.float32
        error = np.abs(ours[layer] - theirs[layer]).mean() / np.abs(ours[layer]).mean()
        assert 0 < error < 0.05, (layer, error)
