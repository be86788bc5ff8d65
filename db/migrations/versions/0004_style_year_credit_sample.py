"""A style's year and credit (where the image came from, its licence), and a sample result to show on its card.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("styles") as batch:
        batch.add_column(sa.Column("year", sa.String(40), nullable=True))
        batch.add_column(sa.Column("credit", sa.Text(), nullable=True))
        batch.add_column(sa.Column("sample_image_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_styles_sample_image_id_images", "images", ["sample_image_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("styles") as batch:
        batch.drop_constraint("fk_styles_sample_image_id_images", type_="foreignkey")
        for column in ("sample_image_id", "credit", "year"):
            batch.drop_column(column)
