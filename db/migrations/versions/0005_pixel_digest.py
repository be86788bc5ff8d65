"""One name for the digest of an image's decoded pixels: ``pixel_digest`` (``sha256`` stays the file's bytes).

``images.pixel_sha256`` and ``gram_entries.image_sha256`` both held it; both
are renamed, with their indexes. The values are unchanged, so every cached
Gram entry stays valid.

On SQLite the columns are renamed in place (``ALTER TABLE ... RENAME COLUMN``,
SQLite 3.25 and later): the images table holds every image's bytes, and
copying it would cost its whole size. An older SQLite gets the usual batch
copy of the table instead.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlite3

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: (table, old name, new name); ``images`` never reuses ids on SQLite (0003), kept if the table is copied.
RENAMES = (("images", "pixel_sha256", "pixel_digest"), ("gram_entries", "image_sha256", "pixel_digest"))
AUTOINCREMENT = {"images": True, "gram_entries": False}


def _rename(table: str, old: str, new: str) -> None:
    in_place = op.get_bind().dialect.name != "sqlite" or sqlite3.sqlite_version_info >= (3, 25)
    with op.batch_alter_table(table, recreate="never" if in_place else "always",
                              table_kwargs={"sqlite_autoincrement": AUTOINCREMENT[table]}) as batch:
        batch.drop_index(f"ix_{table}_{old}")
        batch.alter_column(old, new_column_name=new)
        batch.create_index(f"ix_{table}_{new}", [new])


def upgrade() -> None:
    for table, old, new in RENAMES:
        _rename(table, old, new)


def downgrade() -> None:
    for table, old, new in RENAMES:
        _rename(table, new, old)
