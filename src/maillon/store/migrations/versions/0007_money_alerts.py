"""money: reason of an alert's escalation or closure (encrypted)

Revision ID: 0007_money_alerts
Revises: 0005_money
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_money_alerts"
down_revision = "0005_money"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("money_alert") as batch:
        batch.add_column(sa.Column("status_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("money_alert") as batch:
        batch.drop_column("status_reason")
