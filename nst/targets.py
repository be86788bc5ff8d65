"""Style targets: a style's Gram matrices at one size, computed once, reused everywhere.

A target is identified by a :class:`TargetKey` built from what its arrays
depend on: the style image's pixels (its ``pixel_digest``, see :func:`image_digest`),
the size it was resized to, the layers, the exact weights and arithmetic, and :data:`FORMAT_VERSION`. Change any
of them and the key changes, so a cache can never serve stale arrays.

:class:`TargetCache` looks a key up in memory, then in an optional persistent
:class:`TargetStore` (the style library provides one), and only computes on a
miss. ``computed`` counts the VGG passes it had to make.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Mapping, Protocol, runtime_checkable

import numpy as np
from PIL import Image

#: Bump when the way targets are computed changes; old entries then never match.
FORMAT_VERSION = 1

Grams = dict[str, np.ndarray]


def image_digest(image: Image.Image) -> str:
    """sha256 of an RGB image's size and pixels (independent of its file format)."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    digest = hashlib.sha256(f"{rgb.width}x{rgb.height}:".encode())
    for top in range(0, rgb.height, 256):  # in bands: a 50-megapixel image is not copied whole
        digest.update(rgb.crop((0, top, rgb.width, min(rgb.height, top + 256))).tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class StyleInput:
    """A style image with its pixel digest (computed once)."""

    image: Image.Image
    pixel_digest: str

    @property
    def digest(self) -> str:
        """The old name of :attr:`pixel_digest`, kept for plugins that read it."""
        return self.pixel_digest

    @property
    def size(self) -> tuple[int, int]:
        """The style image's (width, height): a check that needs only this need not decode a stored style."""
        return self.image.size

    @classmethod
    def of(cls, image: Image.Image | "StyleInput") -> "StyleInput":
        if isinstance(image, StyleInput):
            return image
        return cls(image, image_digest(image))


@dataclass(frozen=True)
class TargetKey:
    pixel_digest: str
    width: int
    height: int
    layers: tuple[str, ...]
    extractor_id: str
    version: int = FORMAT_VERSION

    def __str__(self) -> str:
        payload = json.dumps(
            [self.pixel_digest, self.width, self.height, list(self.layers), self.extractor_id, self.version]
        )
        return f"gram-v{self.version}-" + hashlib.sha256(payload.encode()).hexdigest()[:40]


@runtime_checkable
class TargetStore(Protocol):
    """Persistent storage for Gram matrices. Implementations must be thread-safe.

    ``get`` returns ``None`` on a miss, and also when an entry is damaged (the
    caller then recomputes and ``put`` replaces it).
    """

    def get(self, key: TargetKey) -> Grams | None: ...

    def put(self, key: TargetKey, grams: Mapping[str, np.ndarray]) -> None: ...


class MemoryStore:
    """A small in-process LRU of targets, bounded by total bytes."""

    def __init__(self, max_bytes: int = 256 * 1024 * 1024):
        self.max_bytes = max_bytes
        self._entries: OrderedDict[TargetKey, Grams] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: TargetKey) -> Grams | None:
        with self._lock:
            grams = self._entries.get(key)
            if grams is not None:
                self._entries.move_to_end(key)
            return grams

    def put(self, key: TargetKey, grams: Mapping[str, np.ndarray]) -> None:
        frozen = {name: _readonly(array) for name, array in grams.items()}
        size = sum(a.nbytes for a in frozen.values())
        with self._lock:
            if key in self._entries:
                self._bytes -= sum(a.nbytes for a in self._entries.pop(key).values())
            self._entries[key] = frozen
            self._bytes += size
            while self._bytes > self.max_bytes and len(self._entries) > 1:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= sum(a.nbytes for a in evicted.values())

    def __len__(self) -> int:
        return len(self._entries)


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=np.float32, copy=True)
    array.setflags(write=False)
    return array


class TargetCache:
    """Memory first, then the persistent store, then compute (and fill both)."""

    def __init__(self, store: TargetStore | None = None, memory: MemoryStore | None = None):
        self.store = store
        self.memory = memory or MemoryStore()
        self.computed = 0
        self._lock = threading.Lock()
        self._inflight: dict[TargetKey, threading.Lock] = {}

    def get_or_compute(self, key: TargetKey, compute: Callable[[], Grams]) -> Grams:
        grams = self.memory.get(key)
        if grams is not None:
            return grams
        with self._lock:
            key_lock = self._inflight.setdefault(key, threading.Lock())
        try:
            with key_lock:  # two threads asking for one target compute it once
                grams = self.memory.get(key)
                if grams is not None:
                    return grams
                if self.store is not None:
                    grams = self.store.get(key)
                    if grams is not None and set(grams) != set(key.layers):
                        grams = None
                if grams is None:
                    grams = compute()
                    with self._lock:
                        self.computed += 1
                    if self.store is not None:
                        self.store.put(key, grams)
                self.memory.put(key, grams)
                return self.memory.get(key) or grams
        finally:
            with self._lock:
                self._inflight.pop(key, None)
