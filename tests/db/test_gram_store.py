"""GramStore: the persistent style-target cache."""

from __future__ import annotations

import io
import itertools
import threading
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from db import GramStore, gram_store
from db.gram_store import encode
from db.models import GramEntry
from nst.targets import FORMAT_VERSION, TargetKey, TargetStore

LAYERS = ("block1_conv1", "block2_conv1")


def key(digest: str = "a" * 64, **changes) -> TargetKey:
    fields = dict(pixel_digest=digest, width=64, height=48, layers=LAYERS, extractor_id="vgg19-test-float32")
    fields.update(changes)
    return TargetKey(**fields)


CHANNELS = {"block1_conv1": 64, "block2_conv1": 128}


def grams(seed: int = 0) -> dict[str, np.ndarray]:
    """Gram matrices as the engine makes them: one square matrix per layer, as wide as its channels."""
    rng = np.random.default_rng(seed)
    return {name: rng.random((CHANNELS[name], CHANNELS[name]), dtype=np.float32) for name in LAYERS}


def assert_same(a, b):
    assert set(a) == set(b)
    for name in a:
        assert a[name].dtype == b[name].dtype and np.array_equal(a[name], b[name])


def entry(library, name: str) -> GramEntry | None:
    with library.read_session() as s:
        return s.get(GramEntry, name)


def test_a_key_names_its_entry_as_it_always_did():
    """The entry's name is built from the key's values, not its field names: renaming a field (the pixel
    digest was ``image_sha256``) keeps every stored entry reachable."""
    assert str(key()) == "gram-v1-a2c95621567bb5e67a3fee705eb236552e0f1ab2"


def test_miss_put_hit(library):
    store = GramStore(library)
    assert isinstance(store, TargetStore)
    assert store.get(key()) is None
    store.put(key(), grams())
    assert_same(store.get(key()), grams())
    row = entry(library, str(key()))
    assert row.pixel_digest == "a" * 64 and row.size_bytes == len(row.payload) > 0
    assert store.hits == 1 and store.misses == 1


@pytest.fixture
def clock(monkeypatch):
    """The store's clock, one minute further at every reading: the order of uses is explicit, not
    left to how far apart two calls happen to fall."""
    readings = itertools.count()
    start = datetime(2030, 1, 1, tzinfo=timezone.utc)

    def now() -> datetime:
        return start + timedelta(minutes=next(readings))

    monkeypatch.setattr(gram_store, "utcnow", now)
    return now


def test_hit_updates_last_used(library, clock):
    store = GramStore(library)
    store.put(key(), grams())
    first = entry(library, str(key())).last_used_at
    store.get(key())
    assert entry(library, str(key())).last_used_at > first


def test_put_replaces(library):
    store = GramStore(library)
    store.put(key(), grams(1))
    store.put(key(), grams(2))
    assert_same(store.get(key()), grams(2))
    assert len(store) == 1


@pytest.mark.parametrize("change", [
    {"extractor_id": "vgg19-other-weights-float32"},
    {"extractor_id": "vgg19-test-bfloat16"},
    {"layers": ("block1_conv1",)},
    {"layers": LAYERS[::-1]},
    {"width": 65},
    {"pixel_digest": "b" * 64},
    {"version": FORMAT_VERSION + 1},
])
def test_stale_keys_miss(library, change):
    store = GramStore(library)
    store.put(key(), grams())
    assert store.get(key(**change)) is None
    assert store.get(key()) is not None


def _payload_stored(library, name: str, payload: bytes, checksum: str | None = None) -> None:
    values = {"payload": payload} if checksum is None else {"payload": payload, "checksum": checksum}
    with library.session() as s:
        s.execute(update(GramEntry).where(GramEntry.key == name).values(**values))


def _pickled_payload() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, block1_conv1=np.array([{"evil": 1}], dtype=object))
    return buffer.getvalue()


@pytest.mark.parametrize("damage", ["flipped byte", "garbage with matching checksum", "pickle inside",
                                    "wrong shape"])
def test_damaged_entry_is_discarded_and_recomputed(library, damage):
    import hashlib

    store = GramStore(library)
    store.put(key(), grams())
    name = str(key())
    payload = bytearray(entry(library, name).payload)
    if damage == "flipped byte":
        payload[len(payload) // 2] ^= 0xFF
        _payload_stored(library, name, bytes(payload))
    else:
        bad = {"garbage with matching checksum": b"not a zip at all",
               "pickle inside": _pickled_payload(),
               "wrong shape": encode({"block1_conv1": np.zeros(5, np.float32)})}[damage]
        _payload_stored(library, name, bad, hashlib.sha256(bad).hexdigest())
    assert store.get(key()) is None
    assert entry(library, name) is None, "the damaged entry is deleted"
    assert store.discarded == 1
    store.put(key(), grams())  # what the engine does after a miss
    assert_same(store.get(key()), grams())


@pytest.mark.parametrize("used_again", ["a", "b"])
def test_lru_eviction_by_size(library, clock, used_again):
    size = len(encode(grams()))
    store = GramStore(library, max_bytes=2 * size + size // 2)
    keys = {name: key(name * 64) for name in "abc"}
    store.put(keys["a"], grams(1))
    store.put(keys["b"], grams(2))
    assert store.get(keys[used_again]) is not None  # now more recent than the other one
    store.put(keys["c"], grams(3))
    evicted = "b" if used_again == "a" else "a"
    assert store.get(keys[evicted]) is None, "the least recently used entry went"
    assert store.get(keys[used_again]) is not None and store.get(keys["c"]) is not None
    assert store.total_bytes() <= store.max_bytes


def test_an_entry_larger_than_the_budget_is_kept_alone(library):
    store = GramStore(library, max_bytes=10)
    store.put(key("a" * 64), grams(1))
    store.put(key("b" * 64), grams(2))
    assert len(store) == 1 and store.get(key("b" * 64)) is not None


def test_concurrent_insert_of_the_same_key_is_not_an_error(library, monkeypatch):
    other = GramStore(library)
    other.put(key(), grams(1))
    real_get = Session.get

    def blind_get(self, entity, ident, **kw):  # as if another process inserted after we looked
        return None if entity is GramEntry else real_get(self, entity, ident, **kw)

    monkeypatch.setattr(Session, "get", blind_get)
    GramStore(library).put(key(), grams(2))  # IntegrityError inside: treated as done
    monkeypatch.undo()
    assert_same(other.get(key()), grams(1))


def test_threads(library):
    store = GramStore(library)
    errors = []

    def work(n: int) -> None:
        try:
            for i in range(5):
                k = key(f"{(n * 5 + i) % 7:064x}")
                if store.get(k) is None:
                    store.put(k, grams(n))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(store) == 7


def test_with_a_sessionmaker(library):
    store = GramStore(sessionmaker(library.engine))
    store.put(key(), grams())
    assert_same(store.get(key()), grams())
    assert store.clear() == 1 and len(store) == 0
    with pytest.raises(TypeError):
        GramStore("sqlite:///nope.db")


def test_database_failure_is_a_miss_not_a_crash(tmp_path):
    from db import open_library

    library = open_library(f"sqlite:///{tmp_path / 'gone.db'}")
    store = GramStore(library)
    store.put(key(), grams())
    with library.session() as s:
        s.execute(select(1))
        s.connection().exec_driver_sql("DROP TABLE gram_entries")
    assert store.get(key()) is None
    store.put(key(), grams())  # logged, not raised
    library.close()


@pytest.mark.parametrize("damage", ["wrong shape", "missing layer", "extra layer"])
def test_an_entry_whose_checksum_matches_but_whose_shapes_do_not_is_a_miss(library, damage):
    store = GramStore(library)
    wrong = grams()
    if damage == "wrong shape":
        wrong["block2_conv1"] = np.ones((8, 8), dtype=np.float32)
    elif damage == "missing layer":
        del wrong["block2_conv1"]
    else:
        wrong["block3_conv1"] = np.ones((256, 256), dtype=np.float32)
    store.put(key(), wrong)  # stored with a matching checksum, as a damaged or hostile library could hold it
    assert store.get(key()) is None
    assert store.discarded == 1 and entry(library, str(key())) is None
