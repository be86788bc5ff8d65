"""Images: stored once per distinct file, read back as bytes, thumbnails or engine-ready pictures.

An image enters the library through :func:`db.ingest.prepare_image` (decoded,
checked and described once, before any transaction) and is stored by
:meth:`Images.store`, content-addressed by the sha256 of its bytes: the same
file uploaded twice is one row. Each row also keeps its ``pixel_digest``, the
digest of its decoded pixels (:func:`nst.targets.image_digest`), the part of a
Gram target's key that names the image. An image nothing refers to any more
(no style, sample, content or result) is deleted by
:meth:`Images.delete_if_unused`.
"""

from __future__ import annotations

from PIL import Image as PILImage
from sqlalchemy import case, delete, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nst import images, targets
from nst.errors import ImageError

from . import records, stored
from .errors import LibraryError
from .ingest import MAX_FILE_BYTES, PreparedImage
from .models import Image, Render, Style, utcnow
from .records import ImageRecord
from .unit_of_work import UnitOfWork


class Images:
    """The images repository (see the module's docstring)."""

    def __init__(self, unit_of_work: UnitOfWork):
        self.unit_of_work = unit_of_work

    def get(self, image_id: int) -> ImageRecord:
        return self.unit_of_work.read(lambda s: records.image_record(find_image(s, image_id)))

    def data(self, image_id: int) -> bytes:
        """An image's original bytes, as uploaded."""
        return self._column(image_id, Image.data)

    def thumbnail(self, image_id: int) -> bytes:
        """An image's JPEG thumbnail (at most 320 px on the long side)."""
        return self._column(image_id, Image.thumbnail)

    def picture(self, image_id: int, what: str | None = None) -> PILImage.Image:
        """The image decoded and normalised (upright 8-bit RGB), ready for the engine."""
        return images.load(self.data(image_id), what)

    def pixel_digest(self, image_id: int) -> str | None:
        """The engine's digest of a stored image, recomputed from its bytes (None if it cannot be decoded)."""
        try:
            return targets.image_digest(self.picture(image_id))
        except (ImageError, LibraryError):
            return None

    def _column(self, image_id: int, column) -> bytes:
        """One of an image's stored byte columns, refused unread if it is longer than any file the library
        takes (:data:`~db.ingest.MAX_FILE_BYTES`): only a row written by other means can hold such."""
        size = stored.byte_length(column)

        def work(s: Session) -> bytes:
            row = s.execute(select(case((size <= MAX_FILE_BYTES, stored.raw(column)), else_=None), size)
                            .where(Image.id == image_id)).first()
            if row is None or row[1] is None:
                raise LibraryError(f"No image with id {image_id}.")
            if row[0] is None:
                raise LibraryError(f"Image {image_id} is stored with {row[1]:,} bytes, more than the "
                                   f"{MAX_FILE_BYTES // 2 ** 20} MiB a file may have; it was not read.")
            value = row[0]
            return value.encode("utf-8", "surrogateescape") if isinstance(value, str) else bytes(value)

        return self.unit_of_work.read(work)

    # ------------------------------------------------------------------ inside a caller's transaction

    @staticmethod
    def store(session: Session, prepared: PreparedImage) -> Image:
        """The image row with these bytes, created if needed (content-addressed)."""
        image = session.scalar(select(Image).where(Image.sha256 == prepared.sha256))
        if image is None:
            image = Image(
                sha256=prepared.sha256, pixel_digest=prepared.pixel_digest, data=prepared.data,
                width=prepared.width, height=prepared.height, format=prepared.format,
                thumbnail=prepared.thumbnail, size_bytes=len(prepared.data), created_at=utcnow(),
            )
            session.add(image)
            session.flush()
        return image

    @staticmethod
    def delete_if_unused(session: Session, image_id: int) -> None:
        """Delete the image unless a style, a style's sample or a render still refers to it."""
        used = session.scalar(select(
            exists().where(Style.image_id == image_id)
            | exists().where(Style.sample_image_id == image_id)
            | exists().where(Render.content_image_id == image_id)
            | exists().where(Render.result_image_id == image_id)
        ))
        if used:
            return
        try:
            with session.begin_nested():  # someone may have started using it meanwhile: then keep it
                session.execute(delete(Image).where(Image.id == image_id))
        except IntegrityError:
            pass


def find_image(session: Session, image_id: int) -> Image:
    image = session.get(Image, image_id)
    if image is None:
        raise LibraryError(f"No image with id {image_id}.")
    return image
