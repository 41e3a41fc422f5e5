"""link: incremental runs (the trained model and what each run scored)

Revision ID: 0011_link_incremental
Revises: 0002_link
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_link_incremental"
down_revision = "0002_link"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("link_run") as batch:
        batch.add_column(sa.Column("mode", sa.String(length=12), nullable=True))
        batch.add_column(sa.Column("scored", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("model", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("link_run") as batch:
        batch.drop_column("model")
        batch.drop_column("scored")
        batch.drop_column("mode")
