"""Statistics: imported GLOTIP figures and the register of released tables.

Revision ID: 0003_stats
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_stats"
down_revision = "0001"
branch_labels = ("stats",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stats_glotip_figure",
        sa.Column("dataset", sa.String(length=200), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("iso3", sa.String(length=20), nullable=True),
        sa.Column("country", sa.String(length=200), nullable=True),
        sa.Column("region", sa.String(length=100), nullable=True),
        sa.Column("subregion", sa.String(length=100), nullable=True),
        sa.Column("indicator", sa.String(length=100), nullable=False),
        sa.Column("dimension", sa.String(length=100), nullable=False),
        sa.Column("category", sa.String(length=300), nullable=False),
        sa.Column("sex", sa.String(length=20), nullable=False),
        sa.Column("age", sa.String(length=40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Integer(), nullable=True),
        sa.Column("below_threshold", sa.Boolean(), nullable=False),
        sa.Column("raw_value", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stats_glotip_figure")),
    )
    op.create_index("ix_stats_glotip_figure_ind_year", "stats_glotip_figure",
                    ["indicator", "year"], unique=False)
    op.create_table(
        "stats_release",
        sa.Column("table_name", sa.String(length=100), nullable=False),
        sa.Column("method", sa.String(length=100), nullable=False),
        sa.Column("parameters", sa.Text(), nullable=False),
        sa.Column("filters", sa.Text(), nullable=False),
        sa.Column("output_format", sa.String(length=20), nullable=False),
        sa.Column("cells", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stats_release")),
    )


def downgrade() -> None:
    op.drop_table("stats_release")
    op.drop_index("ix_stats_glotip_figure_ind_year", table_name="stats_glotip_figure")
    op.drop_table("stats_glotip_figure")
