"""Ids are never reused on SQLite (AUTOINCREMENT), so a deleted render's or image's id never names a new one.

PostgreSQL's sequences never reuse ids; nothing changes there.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = ("images", "tags", "styles", "renders")


def _recreate(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:  # copied with their rows and ids; foreign keys are off meanwhile (db.database.upgrade)
        with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}):
            pass


def upgrade() -> None:
    _recreate(True)


def downgrade() -> None:
    _recreate(False)
