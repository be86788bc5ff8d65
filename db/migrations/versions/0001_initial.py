"""The style library: images, styles and tags, the Gram cache, render history.

Revision ID: 0001
Revises:
Create Date: 2025-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

STATUSES = ("queued", "running", "done", "failed", "cancelled", "interrupted")


def _timestamp(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "images",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("pixel_sha256", sa.String(64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("thumbnail", sa.LargeBinary(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_images"),
        sa.UniqueConstraint("sha256", name="uq_images_sha256"),
    )
    op.create_index("ix_images_pixel_sha256", "images", ["pixel_sha256"])

    op.create_table(
        "tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tags"),
        sa.UniqueConstraint("name", name="uq_tags_name"),
    )

    op.create_table(
        "styles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_key", sa.String(200), nullable=False),
        sa.Column("artist", sa.String(200), nullable=True),
        sa.Column("artist_key", sa.String(200), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("source", sa.String(120), nullable=False),
        sa.Column("suggested_params", sa.JSON(), nullable=True),
        sa.Column("image_id", sa.Integer(), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.ForeignKeyConstraint(["image_id"], ["images.id"], name="fk_styles_image_id_images"),
        sa.PrimaryKeyConstraint("id", name="pk_styles"),
        sa.UniqueConstraint("name_key", name="uq_styles_name_key"),
    )
    op.create_index("ix_styles_artist_key", "styles", ["artist_key"])
    op.create_index("ix_styles_image_id", "styles", ["image_id"])

    op.create_table(
        "style_tags",
        sa.Column("style_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["style_id"], ["styles.id"], name="fk_style_tags_style_id_styles",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tag_id"], ["tags.id"], name="fk_style_tags_tag_id_tags", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("style_id", "tag_id", name="pk_style_tags"),
    )
    op.create_index("ix_style_tags_tag_id", "style_tags", ["tag_id"])

    op.create_table(
        "gram_entries",
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("image_sha256", sa.String(64), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("checksum", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        _timestamp("created_at"),
        _timestamp("last_used_at"),
        sa.PrimaryKeyConstraint("key", name="pk_gram_entries"),
    )
    op.create_index("ix_gram_entries_image_sha256", "gram_entries", ["image_sha256"])
    op.create_index("ix_gram_entries_last_used_at", "gram_entries", ["last_used_at"])

    op.create_table(
        "renders",
        sa.Column("id", sa.Integer(), nullable=False),
        _timestamp("created_at"),
        _timestamp("started_at", nullable=True),
        _timestamp("finished_at", nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("filter_id", sa.String(120), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("content_image_id", sa.Integer(), nullable=True),
        sa.Column("result_image_id", sa.Integer(), nullable=True),
        sa.Column("losses", sa.JSON(), nullable=True),
        sa.Column("timings", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("progress", sa.JSON(), nullable=True),
        sa.CheckConstraint("status IN (" + ", ".join(f"'{s}'" for s in STATUSES) + ")",
                           name="ck_renders_status"),
        sa.ForeignKeyConstraint(["content_image_id"], ["images.id"], name="fk_renders_content_image_id_images"),
        sa.ForeignKeyConstraint(["result_image_id"], ["images.id"], name="fk_renders_result_image_id_images"),
        sa.PrimaryKeyConstraint("id", name="pk_renders"),
    )
    op.create_index("ix_renders_created_at", "renders", ["created_at"])
    op.create_index("ix_renders_status", "renders", ["status"])
    op.create_index("ix_renders_content_image_id", "renders", ["content_image_id"])
    op.create_index("ix_renders_result_image_id", "renders", ["result_image_id"])

    op.create_table(
        "render_styles",
        sa.Column("render_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("style_id", sa.Integer(), nullable=True),
        sa.Column("style_name", sa.String(200), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["render_id"], ["renders.id"], name="fk_render_styles_render_id_renders",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["style_id"], ["styles.id"], name="fk_render_styles_style_id_styles",
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("render_id", "position", name="pk_render_styles"),
    )
    op.create_index("ix_render_styles_style_id", "render_styles", ["style_id"])


def downgrade() -> None:
    for index, table in (
        ("ix_render_styles_style_id", "render_styles"),
        ("ix_renders_result_image_id", "renders"),
        ("ix_renders_content_image_id", "renders"),
        ("ix_renders_status", "renders"),
        ("ix_renders_created_at", "renders"),
        ("ix_gram_entries_last_used_at", "gram_entries"),
        ("ix_gram_entries_image_sha256", "gram_entries"),
        ("ix_style_tags_tag_id", "style_tags"),
        ("ix_styles_image_id", "styles"),
        ("ix_styles_artist_key", "styles"),
        ("ix_images_pixel_sha256", "images"),
    ):
        op.drop_index(index, table_name=table)
    for table in ("render_styles", "renders", "gram_entries", "style_tags", "styles", "tags", "images"):
        op.drop_table(table)
