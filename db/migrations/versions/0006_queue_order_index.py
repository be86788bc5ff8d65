"""An index in the queue's order, (status, priority DESC, created_at, id): the queue's head, and a place in it.

A live view shows a queued render's place in the queue as the number of queued
renders ahead of it (higher priority, or the same priority and older), and the
History page the first few queued renders. With this index the first are read
in order from its start and both counts are ranges of it, without the table's
rows; with only the index on ``status`` each read every queued row (and sorted
them).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

NAME = "ix_renders_queue_order"


def upgrade() -> None:
    op.create_index(NAME, "renders", ["status", sa.text("priority DESC"), "created_at", "id"])


def downgrade() -> None:
    op.drop_index(NAME, table_name="renders")
