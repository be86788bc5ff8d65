"""Libraries migrated step by step get exactly the schema a new library is built with (from the models).

Two differences were left by earlier migrations, found when a new library began to be built at once
from the models (``db.database``):

* on SQLite, 0004 copied ``styles`` to add its columns and dropped the table's AUTOINCREMENT that
  0003 had given it, so a deleted style's id could name a new style again;
* 0001 named the check of a render's status with the full name where the naming convention adds the
  prefix itself: ``ck_renders_ck_renders_status`` instead of ``ck_renders_status``.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

OLD, NEW = "ck_renders_ck_renders_status", "ck_renders_status"
STATUS = "status IN ('queued', 'running', 'done', 'failed', 'cancelled', 'interrupted')"


def _rename_status_check(old: str, new: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE renders RENAME CONSTRAINT {old} TO {new}")
        return
    # SQLite names a check only in the table's definition: the table is copied with the check renamed
    # (rows, ids and AUTOINCREMENT kept; foreign keys are off meanwhile, db.database.upgrade).
    with op.batch_alter_table("renders", recreate="always", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_constraint(op.f(old), type_="check")
        batch.create_check_constraint(op.f(new), STATUS)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("styles", recreate="always", table_kwargs={"sqlite_autoincrement": True}):
            pass
    _rename_status_check(OLD, NEW)


def downgrade() -> None:
    _rename_status_check(NEW, OLD)  # styles keep AUTOINCREMENT: never reusing an id is right for any release
