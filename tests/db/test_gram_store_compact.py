"""The Gram cache stores a symmetric matrix as its deflated upper triangle: lossless, a fraction of the bytes,
and entries stored whole before are still read."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest

from db import GramStore
from db.gram_store import decode, encode
from nst.targets import TargetKey

LAYERS = ("block1_conv1", "block4_conv1", "block5_conv1")
CHANNELS = {"block1_conv1": 64, "block4_conv1": 512, "block5_conv1": 512}


def key(**changes) -> TargetKey:
    fields = dict(pixel_digest="d" * 64, width=96, height=64, layers=LAYERS, extractor_id="vgg19-test-float32")
    return TargetKey(**{**fields, **changes})


def grams(seed: int = 0) -> dict[str, np.ndarray]:
    """As the engine makes them: F^T F / positions of ReLU features (symmetric, a share of zeros)."""
    rng = np.random.default_rng(seed)
    out = {}
    for name in LAYERS:
        features = np.maximum(rng.standard_normal((200, CHANNELS[name]), dtype=np.float32), 0)
        features[:, rng.random(CHANNELS[name]) < 0.3] = 0  # dead channels, as VGG19 has
        out[name] = (features.T @ features / 200).astype(np.float32)
        assert np.array_equal(out[name], out[name].T)
    return out


def test_a_symmetric_entry_is_stored_in_a_fraction_of_its_bytes_and_read_back_exactly(library):
    store = GramStore(library)
    store.put(key(), grams())
    square = sum(g.nbytes for g in grams().values())
    assert store.total_bytes() < 0.45 * square  # the triangle alone is half; deflate takes more off
    back = store.get(key())
    for name, matrix in grams().items():
        assert back[name].dtype == np.float32 and back[name].shape == matrix.shape
        assert np.array_equal(back[name], matrix)


def test_an_entry_stored_whole_before_is_still_read(library):
    """Entries written by the earlier format (square matrices, np.savez, no compression) stay valid."""
    from sqlalchemy import insert

    from db.models import GramEntry, utcnow

    buffer = io.BytesIO()
    np.savez(buffer, **grams(1))
    payload = buffer.getvalue()
    with library.unit_of_work.session() as session:
        now = utcnow()
        session.execute(insert(GramEntry).values(key=str(key()), pixel_digest="d" * 64, payload=payload,
                                                 checksum=hashlib.sha256(payload).hexdigest(),
                                                 size_bytes=len(payload), created_at=now, last_used_at=now))
    back = GramStore(library).get(key())
    assert back is not None and all(np.array_equal(back[n], m) for n, m in grams(1).items())


def test_a_matrix_that_is_not_symmetric_is_stored_whole():
    rng = np.random.default_rng(3)
    lopsided = {"block1_conv1": rng.random((64, 64), dtype=np.float32)}
    payload = encode(lopsided)
    back = decode(payload, hashlib.sha256(payload).hexdigest(), ("block1_conv1",))
    assert np.array_equal(back["block1_conv1"], lopsided["block1_conv1"])


@pytest.mark.parametrize("numbers", [64 * 65 // 2 - 1, 64 * 65 // 2 + 1, 64 * 64 + 1, 512 * 513 // 2])
def test_a_flat_member_of_any_other_length_is_refused(numbers):
    """Only the exact triangle of the layer's width is read as one (a 512-wide triangle is not block1's)."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, block1_conv1=np.ones(numbers, np.float32))
    payload = buffer.getvalue()
    assert decode(payload, hashlib.sha256(payload).hexdigest(), ("block1_conv1",)) is None
