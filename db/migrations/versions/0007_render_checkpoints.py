"""A long render's image at the end of each finished scale, so that a retry resumes there (print sizes).

A painting of 4096 px runs for many minutes; a worker lost in its last scales used to leave its
retry to start over from the coarsest. One row per running render: the last finished scale and its
image (PNG), replaced at each scale and deleted when the render ends or is deleted.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "render_checkpoints",
        sa.Column("render_id", sa.Integer(), nullable=False),
        sa.Column("scale", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["render_id"], ["renders.id"], name="fk_render_checkpoints_render_id_renders",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("render_id", name="pk_render_checkpoints"),
    )


def downgrade() -> None:
    op.drop_table("render_checkpoints")
