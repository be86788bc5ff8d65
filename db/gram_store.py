"""A persistent :class:`nst.targets.TargetStore`: style Gram matrices kept in the library's database.

Entries are keyed by ``str(TargetKey)``, which covers the style's pixels, the
size, the layers, the weights and arithmetic, and the format version: a change
of any of them is simply a miss, never a stale answer. Each payload is an
``np.savez_compressed`` archive with its sha256; an entry that fails either check is
deleted and reported as a miss, so the engine recomputes it and
:meth:`GramStore.put` stores it again. An entry is bounded before it is read:
its payload's length, then each matrix's declared shape (one square matrix per
layer of the key, as wide as the layer has channels, at most 512) and the
size of its member in the archive, so a crafted row (a zip bomb, a header
claiming a huge array) costs no more memory than a sound one.

A Gram matrix is symmetric, so an exactly symmetric one is stored as its upper triangle (a flat array of
``C * (C + 1) / 2`` numbers, rebuilt on reading) and the archive is deflated: lossless, in under a quarter
of the bytes of the square float32 matrices (the shipped styles' 50 transfer targets: 122 MB square, 27 MB
so). Entries stored whole and uncompressed (before this) are read as they are.

The same table keeps the instant filter's style vectors (:meth:`GramStore.get_vector`,
:meth:`GramStore.put_vector`, the :class:`nst.instant.VectorStore` protocol), under keys of their own kind
(``instant-v1-...``, :func:`nst.instant.vector_key`): a payload of exactly 100 little-endian float32
numbers, read only when it is that long, checked by its sha256 and then for finite, bounded numbers; any
other row under such a key is discarded and recomputed, like a damaged Gram entry.

The store is bounded: after each ``put`` the least recently used entries are
evicted while the total exceeds ``max_bytes``. A database problem never breaks
a render: ``get`` then misses and ``put`` does nothing (both log a warning).
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
import zipfile
from contextlib import AbstractContextManager
from typing import Callable, Mapping

import numpy as np
from sqlalchemy import case, delete, func, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from nst import instant
from nst.targets import Grams, TargetKey
from nst.weights import CONV_LAYERS

from .models import GramEntry, Image, Style, utcnow
from .unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 512 * 1024 * 1024
#: Channels of each layer whose Gram matrix can be stored (VGG19's: 64 to 512).
CHANNELS = {name: out for name, _, out in CONV_LAYERS}
#: Bytes a stored matrix may take beyond its numbers: the .npy header (a sound one has 128).
_NPY_HEADER = 1024
#: Bytes of an archive beyond its members: a zip's headers and directory (per member, and once).
_ZIP_OVERHEAD = 512
#: Widest number a matrix may hold (float64).
_MAX_ITEMSIZE = 8
#: How the instant filter's style vectors' keys begin (a Gram entry's begin ``gram-v``).
VECTOR_KIND = "instant-v"


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
        limit = payload_limit(key.layers)
        size = func.length(GramEntry.payload)
        try:
            with self._read_session() as session:  # a payload longer than the key's matrices can be is not read
                row = session.execute(
                    select(case((size <= limit, GramEntry.payload), else_=None).label("payload"), size.label("size"),
                           GramEntry.checksum).where(GramEntry.key == name)).first()
        except SQLAlchemyError as exc:
            log.warning("The Gram cache could not be read (%s); computing instead.", _reason(exc))
            return None
        if row is None:
            self.misses += 1
            return None
        binary = isinstance(row.payload, (bytes, bytearray, memoryview))  # a row written by other means: any type
        grams = decode(bytes(row.payload), row.checksum, key.layers) if binary else None
        if grams is not None and not fits(grams, key):
            grams = None  # a sound archive, but not the Gram matrices this key asks for
        if grams is None:
            why = ("it is not bytes but " + type(row.payload).__name__ if row.payload is not None and not binary
                   else f"{row.size:,} bytes, more than its {len(key.layers)} matrices can take"
                   if row.payload is None else "it does not match its checksum or its key")
            log.warning("A cached Gram entry was damaged (%s) and has been discarded; it will be recomputed.", why)
            self.discarded += 1
            self._discard(name, row.checksum)
            return None
        self.hits += 1
        self._touch(name)
        return grams

    def put(self, key: TargetKey, grams: Mapping[str, np.ndarray]) -> None:
        self._store(str(key), key.pixel_digest, encode(grams))

    def _store(self, name: str, pixel_digest: str, payload: bytes) -> None:
        checksum = hashlib.sha256(payload).hexdigest()
        with self._put_lock:
            try:
                with self._write_session() as session:
                    now = utcnow()
                    entry = session.get(GramEntry, name)
                    if entry is None:
                        session.add(GramEntry(key=name, pixel_digest=pixel_digest, payload=payload,
                                              checksum=checksum, size_bytes=len(payload), created_at=now,
                                              last_used_at=now))
                    else:
                        entry.payload, entry.checksum, entry.size_bytes = payload, checksum, len(payload)
                        entry.pixel_digest, entry.last_used_at = pixel_digest, now
                    session.flush()
                    self._evict(session, keep=name)
            except IntegrityError:
                pass  # another process stored the same key at the same moment: same arrays, nothing to do
            except SQLAlchemyError as exc:
                log.warning("The Gram cache could not be written (%s).", _reason(exc))

    # ------------------------------------------------------------------ instant style vectors (VectorStore)

    def get_vector(self, key: str) -> np.ndarray | None:
        """A style vector stored under ``key`` (:func:`nst.instant.vector_key`), or None: a miss, or an entry
        that is not exactly a sound vector (then it is discarded, to be computed and stored again)."""
        if not key.startswith(VECTOR_KIND):
            raise ValueError(f"Not a style vector's key: {key[:40]!r}.")
        size = func.length(GramEntry.payload)
        try:
            with self._read_session() as session:  # a payload of any other length is not read
                row = session.execute(
                    select(case((size == instant.VECTOR_BYTES, GramEntry.payload), else_=None).label("payload"),
                           size.label("size"), GramEntry.checksum).where(GramEntry.key == key)).first()
        except SQLAlchemyError as exc:
            log.warning("The style vector cache could not be read (%s); computing instead.", _reason(exc))
            return None
        if row is None:
            self.misses += 1
            return None
        binary = isinstance(row.payload, (bytes, bytearray, memoryview))
        payload = bytes(row.payload) if binary else b""
        matches = binary and hashlib.sha256(payload).hexdigest() == row.checksum
        vector = instant.decode_vector(payload) if matches else None
        if vector is None:
            why = (f"{row.size} bytes, not the {instant.VECTOR_BYTES} of a vector" if row.payload is None
                   else "it is not bytes but " + type(row.payload).__name__ if not binary
                   else "it does not match its checksum" if not matches
                   else "its numbers are not finite or out of bounds")
            log.warning("A cached style vector was damaged (%s) and has been discarded; it will be recomputed.", why)
            self.discarded += 1
            self._discard(key, row.checksum)
            return None
        self.hits += 1
        self._touch(key)
        return vector

    def put_vector(self, key: str, pixel_digest: str, vector: np.ndarray) -> None:
        """Store a style vector (``pixel_digest``: the style image's, so the entry goes with the style)."""
        if not key.startswith(VECTOR_KIND):
            raise ValueError(f"Not a style vector's key: {key[:40]!r}.")
        self._store(key, pixel_digest, instant.encode_vector(vector))

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
    """Arrays -> an ``np.savez_compressed`` archive; an exactly symmetric square matrix as its upper triangle."""
    buffer = io.BytesIO()
    arrays = {}
    for name, array in grams.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"A Gram layer name must be an identifier, not {name!r}.")
        array = np.asarray(array)
        symmetric = array.ndim == 2 and array.shape[0] == array.shape[1] and np.array_equal(array, array.T)
        arrays[name] = array[np.triu_indices(array.shape[0])] if symmetric else array
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def _triangle(channels: int) -> int:
    """How many numbers the upper triangle (with the diagonal) of a ``channels``-wide matrix holds."""
    return channels * (channels + 1) // 2


def _symmetric(upper: np.ndarray, channels: int) -> np.ndarray:
    """The square matrix whose upper triangle (row by row, with the diagonal) is ``upper``."""
    rows, columns = np.triu_indices(channels)
    square = np.empty((channels, channels), dtype=upper.dtype)
    square[rows, columns] = upper
    square[columns, rows] = upper
    return square


def payload_limit(layers) -> int:
    """The most bytes an archive of Gram matrices for ``layers`` takes (each at most float64)."""
    return _ZIP_OVERHEAD + sum(_member_limit(CHANNELS.get(name, 0)) + _ZIP_OVERHEAD + len(name) for name in layers)


def _member_limit(channels: int) -> int:
    return _NPY_HEADER + channels * channels * _MAX_ITEMSIZE


def decode(payload: bytes, checksum: str, layers=None) -> Grams | None:
    """An archive -> arrays, or None if it does not match its checksum or cannot be read. Nothing is
    inflated or allocated beyond what the matrices of ``layers`` (default: any VGG19 layer) can take: each
    member must be one ``<layer>.npy``, whose declared size and shape are checked before it is read."""
    if hashlib.sha256(payload).hexdigest() != checksum:
        return None
    wanted = set(CHANNELS if layers is None else layers)
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            members = archive.infolist()
            if not members or len(members) > len(wanted):
                return None
            grams = {}
            for info in members:
                name = info.filename[:-4] if info.filename.endswith(".npy") else ""
                if name not in wanted or name in grams or name not in CHANNELS:
                    return None
                array = _read_member(archive, info, CHANNELS[name])
                if array is None:
                    return None
                grams[name] = array
    except Exception:  # noqa: BLE001 - any unreadable payload is just a miss
        return None
    return grams


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, channels: int) -> np.ndarray | None:
    """One ``channels`` x ``channels`` float matrix (stored whole, or as its upper triangle), read within its
    bound; None if the member is not one."""
    limit = _member_limit(channels)
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or not 0 < info.file_size <= limit:
        return None
    with archive.open(info) as member:  # inflated at most ``limit`` + 1 bytes, whatever the stream holds
        data = member.read(limit + 1)
    if len(data) > limit:
        return None
    stream = io.BytesIO(data)
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream, max_header_size=_NPY_HEADER)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream, max_header_size=_NPY_HEADER)
    else:
        return None
    upper = shape == (_triangle(channels),)  # a symmetric matrix stored as its upper triangle
    if ((shape != (channels, channels) and not upper) or dtype.hasobject or not np.issubdtype(dtype, np.floating)
            or dtype.itemsize > _MAX_ITEMSIZE):
        return None
    numbers = data[stream.tell():]
    if len(numbers) != int(np.prod(shape)) * dtype.itemsize:
        return None
    if upper:
        return _symmetric(np.frombuffer(numbers, dtype=dtype), channels)
    return np.frombuffer(numbers, dtype=dtype).reshape(shape, order="F" if fortran else "C").copy()


def fits(grams: Grams, key: TargetKey) -> bool:
    """Exactly one square matrix per layer of ``key``, as wide as that layer has channels."""
    channels = {name: out for name, _, out in CONV_LAYERS}
    return set(grams) == set(key.layers) and all(
        grams[name].shape == (channels.get(name, -1), channels.get(name, -1)) for name in key.layers)


def _reason(exc: SQLAlchemyError) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
