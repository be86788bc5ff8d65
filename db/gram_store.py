"""A persistent :class:`nst.targets.TargetStore`: style Gram matrices kept in the library's database.

Entries are keyed by ``str(TargetKey)``, which covers the style's pixels, the
size, the layers, the weights and arithmetic, and the format version: a change
of any of them is simply a miss, never a stale answer. Each payload is an
``np.savez`` archive (read with ``allow_pickle=False``) with its sha256; an
entry that fails either check is deleted and reported as a miss, so the engine
recomputes it and :meth:`GramStore.put` stores it again.

The store is bounded: after each ``put`` the least recently used entries are
evicted while the total exceeds ``max_bytes``. A database problem never breaks
a render: ``get`` then misses and ``put`` does nothing (both log a warning).
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
from contextlib import AbstractContextManager
from typing import Callable, Mapping

import numpy as np
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from nst.targets import Grams, TargetKey
from nst.weights import CONV_LAYERS

from .models import GramEntry, Image, Style, utcnow
from .unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 512 * 1024 * 1024


class GramStore:
    """Gram matrices in the database, shared by every process using the library. Thread-safe."""

    def __init__(self, library_or_sessionmaker, max_bytes: int = DEFAULT_MAX_BYTES):
        """On a :class:`db.library.Library` (or its :class:`~db.unit_of_work.UnitOfWork`), or a sessionmaker."""
        unit_of_work = getattr(library_or_sessionmaker, "unit_of_work", library_or_sessionmaker)
        if isinstance(unit_of_work, UnitOfWork):
            self._write_session: Callable[[], AbstractContextManager[Session]] = unit_of_work.session
            self._read_session: Callable[[], AbstractContextManager[Session]] = unit_of_work.read_session
        elif isinstance(library_or_sessionmaker, sessionmaker):
            self._write_session = self._read_session = library_or_sessionmaker.begin
        else:
            raise TypeError("GramStore needs a db.library.Library or a SQLAlchemy sessionmaker.")
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative.")
        self.max_bytes = int(max_bytes)
        self._put_lock = threading.Lock()
        self.hits = self.misses = self.discarded = 0

    # ------------------------------------------------------------------ TargetStore

    def get(self, key: TargetKey) -> Grams | None:
        name = str(key)
        try:
            with self._read_session() as session:
                row = session.execute(
                    select(GramEntry.payload, GramEntry.checksum).where(GramEntry.key == name)).first()
        except SQLAlchemyError as exc:
            log.warning("The Gram cache could not be read (%s); computing instead.", _reason(exc))
            return None
        if row is None:
            self.misses += 1
            return None
        grams = decode(bytes(row.payload), row.checksum)
        if grams is not None and not fits(grams, key):
            grams = None  # a sound archive, but not the Gram matrices this key asks for
        if grams is None:
            log.warning("A cached Gram entry was damaged and has been discarded; it will be recomputed.")
            self.discarded += 1
            self._discard(name, row.checksum)
            return None
        self.hits += 1
        self._touch(name)
        return grams

    def put(self, key: TargetKey, grams: Mapping[str, np.ndarray]) -> None:
        name = str(key)
        payload = encode(grams)
        checksum = hashlib.sha256(payload).hexdigest()
        with self._put_lock:
            try:
                with self._write_session() as session:
                    now = utcnow()
                    entry = session.get(GramEntry, name)
                    if entry is None:
                        session.add(GramEntry(key=name, pixel_digest=key.pixel_digest, payload=payload,
                                              checksum=checksum, size_bytes=len(payload), created_at=now,
                                              last_used_at=now))
                    else:
                        entry.payload, entry.checksum, entry.size_bytes = payload, checksum, len(payload)
                        entry.pixel_digest, entry.last_used_at = key.pixel_digest, now
                    session.flush()
                    self._evict(session, keep=name)
            except IntegrityError:
                pass  # another process stored the same key at the same moment: same arrays, nothing to do
            except SQLAlchemyError as exc:
                log.warning("The Gram cache could not be written (%s).", _reason(exc))

    # ------------------------------------------------------------------ housekeeping

    def total_bytes(self) -> int:
        with self._read_session() as session:
            return int(session.scalar(select(func.coalesce(func.sum(GramEntry.size_bytes), 0))))

    def __len__(self) -> int:
        with self._read_session() as session:
            return int(session.scalar(select(func.count()).select_from(GramEntry)))

    def clear(self) -> int:
        """Delete every entry; returns how many there were."""
        with self._put_lock, self._write_session() as session:
            return session.execute(delete(GramEntry)).rowcount

    def _evict(self, session: Session, keep: str) -> None:
        total = int(session.scalar(select(func.coalesce(func.sum(GramEntry.size_bytes), 0))))
        if total <= self.max_bytes:
            return
        victims = []
        rows = session.execute(select(GramEntry.key, GramEntry.size_bytes).where(GramEntry.key != keep)
                               .order_by(GramEntry.last_used_at, GramEntry.created_at, GramEntry.key))
        for victim, size in rows:
            if total <= self.max_bytes:
                break
            victims.append(victim)
            total -= size
        if victims:
            session.execute(delete(GramEntry).where(GramEntry.key.in_(victims)))

    def _touch(self, name: str) -> None:
        try:
            with self._write_session() as session:
                session.execute(update(GramEntry).where(GramEntry.key == name).values(last_used_at=utcnow()))
        except SQLAlchemyError as exc:
            log.warning("The Gram cache could not record a use (%s).", _reason(exc))

    def _discard(self, name: str, checksum: str) -> None:
        try:
            with self._write_session() as session:  # only the damaged version, not a fresh replacement
                session.execute(delete(GramEntry).where(GramEntry.key == name, GramEntry.checksum == checksum))
        except SQLAlchemyError as exc:
            log.warning("A damaged Gram entry could not be deleted (%s).", _reason(exc))


def forget(session: Session, pixel_digests: set[str]) -> None:
    """Inside a caller's transaction: delete the entries of these images' pixels, unless a style still has
    those pixels (a style was deleted, or its image replaced)."""
    still_used = set(session.scalars(
        select(Image.pixel_digest).join(Style, Style.image_id == Image.id)
        .where(Image.pixel_digest.in_(pixel_digests))))
    gone = pixel_digests - still_used
    if gone:
        session.execute(delete(GramEntry).where(GramEntry.pixel_digest.in_(gone)))


def encode(grams: Mapping[str, np.ndarray]) -> bytes:
    """Arrays -> an ``np.savez`` archive."""
    buffer = io.BytesIO()
    arrays = {}
    for name, array in grams.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"A Gram layer name must be an identifier, not {name!r}.")
        arrays[name] = np.asarray(array)
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def decode(payload: bytes, checksum: str) -> Grams | None:
    """An archive -> arrays, or None if it does not match its checksum or cannot be read."""
    if hashlib.sha256(payload).hexdigest() != checksum:
        return None
    try:
        with np.load(io.BytesIO(payload), allow_pickle=False) as archive:
            grams = {name: archive[name] for name in archive.files}
    except Exception:  # noqa: BLE001 - any unreadable payload is just a miss
        return None
    if not grams or any(not np.issubdtype(a.dtype, np.floating) or a.ndim != 2 for a in grams.values()):
        return None
    return grams


def fits(grams: Grams, key: TargetKey) -> bool:
    """Exactly one square matrix per layer of ``key``, as wide as that layer has channels."""
    channels = {name: out for name, _, out in CONV_LAYERS}
    return set(grams) == set(key.layers) and all(
        grams[name].shape == (channels.get(name, -1), channels.get(name, -1)) for name in key.layers)


def _reason(exc: SQLAlchemyError) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
