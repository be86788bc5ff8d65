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


@pytest.mark.parametrize("bf16, gpus, setting", [
    (True, 0, "float32"),  # float32 on a CPU with bfloat16 (to compare with a machine without it)
    (False, 0, "bfloat16"),  # bfloat16 on a CPU without it: allowed, emulated and slower
    (True, 1, "bfloat16"),
])
def test_the_precision_setting_decides_what_auto_means(machine, monkeypatch, bf16, gpus, setting):
    machine(bf16=bf16, gpus=gpus)
    monkeypatch.setenv("NST_PRECISION", setting)
    assert backend.resolve_precision("auto") == setting
    other = "bfloat16" if setting == "float32" else "float32"
    assert backend.resolve_precision(other) == other, "a precision the code asks for is kept"
    monkeypatch.setenv("NST_PRECISION", "auto")
    assert backend.resolve_precision("auto") == ("bfloat16" if bf16 and not gpus else "float32")


def test_float32_set_on_a_bfloat16_cpu_gives_a_float32_engine(machine, monkeypatch, painting):
    """What the CLI, the app's render threads and a worker build (``Engine()``, precision ``auto``)."""
    from nst.engine import Engine
    from nst.images import to_array

    machine(bf16=True)
    monkeypatch.setenv("NST_PRECISION", "float32")
    extractor = Engine().extractor
    assert extractor.precision == "float32" and extractor.id.endswith("-float32")
    image = to_array(painting.resize((64, 64)))[None]
    assert [f.dtype for f in extractor.raw(image, ["block1_conv1", "block3_conv1"])] == ["float32", "float32"]
    monkeypatch.setenv("NST_PRECISION", "bfloat16")
    assert Engine().extractor.raw(image, ["block1_conv1"])[0].dtype == "bfloat16"


def test_a_bad_precision_setting_is_one_line_from_the_command(monkeypatch, tmp_path, painting, capsys):
    from studio import cli

    painting.resize((64, 64)).save(tmp_path / "photo.png")
    monkeypatch.setenv("NST_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NST_PRECISION", "fp16")
    code = cli.main(["transfer", str(tmp_path / "photo.png"), str(tmp_path / "photo.png"), "-o",
                     str(tmp_path / "out.png"), "--size", "64", "-q"])
    err = capsys.readouterr().err
    assert code == 2 and err == "error: NST_PRECISION must be auto, float32 or bfloat16, not 'fp16'.\n"
    assert not (tmp_path / "out.png").exists()


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
