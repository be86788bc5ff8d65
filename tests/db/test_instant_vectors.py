"""The instant filter's style vectors kept in the library (the Gram cache's table, keys of their own kind):
computed once for every process using the library, and read back only when they are exactly a sound vector.
A stored row crosses the database boundary: a row of another length, type, checksum or numbers is a miss,
deleted, computed again, never an exception nor an allocation sized by the row."""

from __future__ import annotations

import hashlib
import logging

import numpy as np
import pytest
from sqlalchemy import text, update

from db import GramStore
from db.models import GramEntry
from nst import instant
from nst.targets import StyleInput
from tests.db.test_gram_store import grams, key
from tests.factories import make_painting

DIGEST = "d" * 64


def vector(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=instant.VECTOR_SIZE).astype(np.float32)


def row(library, name: str) -> GramEntry | None:
    with library.read_session() as s:
        return s.get(GramEntry, name)


def test_a_vector_is_stored_read_back_and_goes_with_its_style(library):
    store = GramStore(library)
    assert isinstance(store, instant.VectorStore)
    name = instant.vector_key(DIGEST)
    assert name.startswith("instant-v1-") and len(name) <= 100 and name != str(key(DIGEST))
    assert store.get_vector(name) is None and store.misses == 1
    store.put_vector(name, DIGEST, vector())
    np.testing.assert_array_equal(store.get_vector(name), vector())
    assert store.get_vector(name).dtype == np.float32 and row(library, name).size_bytes == 400
    # the Gram matrices of the same pixels are another entry: neither is read as the other
    store.put(key(DIGEST), grams())
    assert store.get(key(DIGEST)) is not None and len(store) == 2
    with pytest.raises(ValueError, match="Not a style vector's key"):
        store.get_vector(str(key(DIGEST)))
    with pytest.raises(ValueError, match="100 finite numbers"):
        store.put_vector(name, DIGEST, np.full(instant.VECTOR_SIZE, np.nan))


def test_a_styles_vector_is_kept_with_the_style_and_deleted_with_it(library):
    painting = make_painting(64, 64, seed=5)
    style = library.add_style(_png(painting), name="Kept")
    digest = StyleInput.of(painting).pixel_digest
    GramStore(library).put_vector(instant.vector_key(digest), digest, vector())
    library.delete_style(style.id)
    assert row(library, instant.vector_key(digest)) is None


def _png(image) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


BAD_PAYLOADS = {
    "one byte more": vector().tobytes() + b"\x00",
    "one byte less": vector().tobytes()[:-1],
    "ten megabytes": bytes(10 * 2 ** 20),
    "float64 numbers": vector().astype(np.float64).tobytes()[:400],  # the right length, other numbers
    "a NaN": np.where(np.arange(100) == 7, np.nan, vector()).astype("<f4").tobytes(),
    "an infinity": np.where(np.arange(100) == 7, np.inf, vector()).astype("<f4").tobytes(),
    "a huge number": np.where(np.arange(100) == 7, 3e38, vector()).astype("<f4").tobytes(),
    "empty": b"",
}


@pytest.mark.parametrize("damage", sorted(BAD_PAYLOADS))
def test_a_stored_vector_that_is_not_a_sound_one_is_discarded_and_computed_again(library, damage, caplog):
    store = GramStore(library)
    name = instant.vector_key(DIGEST)
    store.put_vector(name, DIGEST, vector())
    bad = BAD_PAYLOADS[damage]
    with library.session() as s:  # a row written by other means, its checksum matching
        s.execute(update(GramEntry).where(GramEntry.key == name).values(
            payload=bad, checksum=hashlib.sha256(bad).hexdigest(), size_bytes=len(bad)))
    with caplog.at_level(logging.WARNING, logger="db.gram_store"):
        assert store.get_vector(name) is None
    assert store.discarded == 1 and "A cached style vector was damaged" in caplog.text
    assert row(library, name) is None, "the damaged entry is deleted, to be recomputed"
    store.put_vector(name, DIGEST, vector(1))
    np.testing.assert_array_equal(store.get_vector(name), vector(1))


def test_a_stored_vector_that_does_not_match_its_checksum_is_discarded(library):
    store = GramStore(library)
    name = instant.vector_key(DIGEST)
    store.put_vector(name, DIGEST, vector())
    flipped = bytearray(vector().tobytes())
    flipped[5] ^= 0x01
    with library.session() as s:
        s.execute(update(GramEntry).where(GramEntry.key == name).values(payload=bytes(flipped)))
    assert store.get_vector(name) is None and row(library, name) is None


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("kind, value", [("text", "é" * 400), ("integer", 5), ("real", 1.5)])
def test_a_vector_stored_as_another_type_than_bytes_is_a_damaged_entry(library, kind, value, caplog):
    """SQLite keeps whatever type a row was given (400 characters of text have the length of a vector)."""
    name = instant.vector_key(DIGEST)
    with library.session() as s:
        s.execute(text(f"INSERT INTO gram_entries (key, pixel_digest, payload, checksum, size_bytes, created_at, "
                       f"last_used_at) VALUES (:k, :p, CAST(:v AS {kind}), 'x', 1, '2020-01-01', '2020-01-01')"),
                  {"k": name, "p": DIGEST, "v": value})
    store = GramStore(library)
    with caplog.at_level(logging.WARNING, logger="db.gram_store"):
        assert store.get_vector(name) is None
    assert store.discarded == 1 and row(library, name) is None


# --------------------------------------------------------------------------- the cache in front of it

needs_model = pytest.mark.skipif(instant.unavailable() != "", reason=f"instant model: {instant.unavailable()}")


@needs_model
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_styles_vector_is_computed_once_for_every_process_using_the_library(library):
    """Two caches stand for two processes (the app, a worker): the second reads the first's vector and never
    decodes the style again."""
    net = instant.model()
    painting = make_painting(96, 72, seed=11)
    digest = StyleInput.of(painting).pixel_digest
    first = instant.VectorCache(store=GramStore(library))
    made = first.lookup(net, digest, lambda: painting)
    assert first.computed == 1 and first.loaded == 0

    def never():
        raise AssertionError("the style was decoded again")

    second = instant.VectorCache(store=GramStore(library))
    np.testing.assert_array_equal(second.lookup(net, digest, never), made)
    assert second.computed == 0 and second.loaded == 1
    np.testing.assert_array_equal(second.lookup(net, digest, never), made)  # then from memory
    assert second.loaded == 1

    # a damaged row: computed again (the same vector) and stored sound
    with library.session() as s:
        s.execute(update(GramEntry).where(GramEntry.key == instant.vector_key(digest)).values(payload=b"x" * 400))
    third = instant.VectorCache(store=GramStore(library))
    np.testing.assert_allclose(third.lookup(net, digest, lambda: painting), made, rtol=1e-6)
    assert third.computed == 1
    assert GramStore(library).get_vector(instant.vector_key(digest)) is not None


@needs_model
def test_a_photos_own_vector_is_not_stored(tmp_path):
    stored = []

    class Recording:
        def get_vector(self, key):
            return None

        def put_vector(self, key, digest, value):
            stored.append(key)

    cache = instant.VectorCache(store=Recording())
    net = instant.model()
    cache.get(net, make_painting(64, 64, seed=1), persist=False)
    assert stored == [] and cache.computed == 1
    cache.get(net, make_painting(64, 64, seed=2))
    assert len(stored) == 1


def test_a_stored_vector_of_ten_megabytes_is_not_read(library):
    """Its length is measured in the database; the row's bytes never reach the process."""
    import tracemalloc

    store = GramStore(library)
    name = instant.vector_key(DIGEST)
    store.put_vector(name, DIGEST, vector())
    bad = bytes(10 * 2 ** 20)
    with library.session() as s:
        s.execute(update(GramEntry).where(GramEntry.key == name).values(
            payload=bad, checksum=hashlib.sha256(bad).hexdigest()))
    del bad
    tracemalloc.start()
    try:
        assert store.get_vector(name) is None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 * 2 ** 20, peak


@needs_model
def test_a_style_whose_vector_is_known_is_not_decoded_by_the_filter():
    """A worker's styles load their image on first use (studio.farm.StoredStyle): the instant filter looks
    their vector up by digest first."""
    from nst.plugin import RunInputs
    from nst.registry import Registry
    from studio.farm import StoredStyle
    from tests.factories import make_photo

    painting = make_painting(64, 64, seed=23)
    digest = StyleInput.of(painting).pixel_digest
    loads = []

    def style():
        return StoredStyle(painting.size, digest, lambda: loads.append(1) or painting)

    registry = Registry.discover(entry_points=False)
    for _ in range(2):
        registry.run("instant", RunInputs(content=make_photo(), styles=[style()], style_weights=[1.0]), {"size": 64})
    assert len(loads) == 1
