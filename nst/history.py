"""The vectors of the L-BFGS curvature pairs: float32, or half the memory at print sizes.

Each remembered step keeps two vectors the size of the image (its displacement ``s`` and its change of
gradient ``y``): three pairs at 4096x3072 px are 0.9 GB in float32. A :class:`Half` vector keeps them in
float16, divided by their largest magnitude (a gradient at print size is far below float16's smallest
numbers, a displacement can be too), with that scale in float32: 11 bits of mantissa relative to the
largest entry. The products the two-loop recursion needs are computed in float32 blocks of
:data:`BLOCK` entries, so no float32 copy of a whole vector is ever made.

Plain float32 arrays are used exactly as before (the same expressions, the same rounding): the
optimizer asks for :class:`Half` vectors only at the scales computed tile by tile.
"""

from __future__ import annotations

import numpy as np

#: Entries converted to float32 at a time (4 MB).
BLOCK = 1 << 20


class Half:
    """A float32 vector kept as float16 times a float32 scale."""

    __slots__ = ("data", "scale")

    def __init__(self, data: np.ndarray, scale: float):
        self.data, self.scale = data, np.float32(scale)

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def nbytes(self) -> int:
        return self.data.nbytes

    @classmethod
    def of_difference(cls, a: np.ndarray, b: np.ndarray) -> "Half":
        """``a - b`` (float32 vectors, computed in float32 as ``a - b`` is), stored in float16."""
        largest = 0.0
        for block in _blocks(a.size):
            largest = max(largest, float(np.abs(a[block] - b[block]).max(initial=0.0)))
        scale = np.float32(largest if largest > 0 and np.isfinite(largest) else 1.0)
        data = np.empty(a.size, dtype=np.float16)
        for block in _blocks(a.size):
            data[block] = (a[block] - b[block]) / scale
        return cls(data, scale)

    @classmethod
    def of(cls, vector: np.ndarray) -> "Half":
        """A float32 vector, stored in float16."""
        return cls.of_difference(vector, np.broadcast_to(np.float32(0.0), vector.shape))

    def block(self, block: slice) -> np.ndarray:
        return self.data[block].astype(np.float32) * self.scale

    def full(self) -> np.ndarray:
        out = np.empty(self.data.size, dtype=np.float32)
        for block in _blocks(self.data.size):
            out[block] = self.block(block)
        return out


def _blocks(size: int):
    for start in range(0, size, BLOCK):
        yield slice(start, min(size, start + BLOCK))


def difference(a: np.ndarray, b: np.ndarray, half: bool):
    """``a - b`` as a history vector: float32, or :class:`Half` with ``half``."""
    return Half.of_difference(a, b) if half else a - b


def dot(a, b) -> float:
    """``a . b`` for float32 arrays or :class:`Half` vectors (blockwise in float32 when either is half)."""
    if not isinstance(a, Half) and not isinstance(b, Half):
        return float(np.dot(a, b))
    total = 0.0
    for block in _blocks(a.size):
        total += float(np.dot(_block(a, block), _block(b, block)))
    return total


def add_scaled(q: np.ndarray, alpha: float, v) -> None:
    """``q += alpha * v`` in place (``q`` float32; ``v`` float32 or :class:`Half`)."""
    if not isinstance(v, Half):
        q += np.float32(alpha) * v
        return
    for block in _blocks(q.size):
        q[block] += np.float32(alpha) * v.block(block)


def full(v) -> np.ndarray:
    """``v`` as a float32 array."""
    return v.full() if isinstance(v, Half) else v


def _block(v, block: slice) -> np.ndarray:
    return v.block(block) if isinstance(v, Half) else v[block]


__all__ = ["BLOCK", "Half", "add_scaled", "difference", "dot", "full"]
