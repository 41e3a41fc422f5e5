"""screen: sanctions list versions, listed entities, suppliers and their alerts

Revision ID: 0004_screen
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_screen"
down_revision = "0001"
branch_labels = ("screen",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "screen_list",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("format", sa.String(length=40), nullable=False),
        sa.Column("active_version_id", sa.String(length=32), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screen_list")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "screen_list_version",
        sa.Column("list_id", sa.String(length=100), nullable=False),
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("source_files", sa.Text(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("loaded_by", sa.String(length=100), nullable=False),
        sa.Column("entities", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"], ["screen_list.id"], name=op.f("fk_screen_list_version_list_id_screen_list")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screen_list_version")),
        sqlite_with_rowid=False,
    )
    op.create_index(
        op.f("ix_screen_list_version_list_id"), "screen_list_version", ["list_id"], unique=False
    )
    op.create_table(
        "screen_supplier",
        sa.Column("organisation_id", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("schema", sa.String(length=40), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("birth_date", sa.Text(), nullable=True),
        sa.Column("identifiers", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("screened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_screen_supplier_organisation_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screen_supplier")),
        sa.UniqueConstraint(
            "organisation_id", "reference", name=op.f("uq_screen_supplier_organisation_id")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "screen_alert",
        sa.Column("supplier_id", sa.String(length=32), nullable=False),
        sa.Column("list_id", sa.String(length=100), nullable=False),
        sa.Column("entity_id", sa.String(length=200), nullable=False),
        sa.Column("entity_name", sa.String(length=500), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("entity_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("supplier_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["screen_supplier.id"],
            name=op.f("fk_screen_alert_supplier_id_screen_supplier"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screen_alert")),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_screen_alert_supplier",
        "screen_alert",
        ["supplier_id", "list_id", "entity_id"],
        unique=False,
    )
    op.create_table(
        "screen_entity",
        sa.Column("version_id", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.String(length=200), nullable=False),
        sa.Column("schema", sa.String(length=40), nullable=False),
        sa.Column("caption", sa.String(length=500), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["screen_list_version.id"],
            name=op.f("fk_screen_entity_version_id_screen_list_version"),
        ),
        sa.PrimaryKeyConstraint("version_id", "entity_id", name=op.f("pk_screen_entity")),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("screen_entity")
    op.drop_index("ix_screen_alert_supplier", table_name="screen_alert")
    op.drop_table("screen_alert")
    op.drop_table("screen_supplier")
    op.drop_index(op.f("ix_screen_list_version_list_id"), table_name="screen_list_version")
    op.drop_table("screen_list_version")
    op.drop_table("screen_list")
