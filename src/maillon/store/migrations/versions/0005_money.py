"""money: alert queue and notes

Revision ID: 0005_money
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_money"
down_revision = "0001"
branch_labels = ("money",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "money_alert",
        sa.Column("organisation_id", sa.String(length=32), nullable=False),
        sa.Column("alert_ref", sa.String(length=64), nullable=False),
        sa.Column("dataset", sa.String(length=200), nullable=False),
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.Column("accounts", sa.JSON(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("indicators", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("assigned_to", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"],
                                name=op.f("fk_money_alert_organisation_id_organisation")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_money_alert")),
        sa.UniqueConstraint("organisation_id", "alert_ref", name="uq_money_alert_org_ref"),
    )
    op.create_table(
        "money_alert_note",
        sa.Column("alert_id", sa.String(length=32), nullable=False),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["money_alert.id"],
                                name=op.f("fk_money_alert_note_alert_id_money_alert"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_money_alert_note")),
    )


def downgrade() -> None:
    op.drop_table("money_alert_note")
    op.drop_table("money_alert")
