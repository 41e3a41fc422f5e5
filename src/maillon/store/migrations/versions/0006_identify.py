"""identify and refer: screenings, hotline calls, referral workflow, services, partners

Revision ID: 0006_identify
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_identify"
down_revision = "0001"
branch_labels = ("identify",)
depends_on = None


def upgrade() -> None:

    op.create_table(
        "partner",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("signing_key", sa.String(length=64), nullable=False),
        sa.Column("encryption_key", sa.String(length=64), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner")),
        sa.UniqueConstraint("name", name=op.f("uq_partner_name")),
        sa.UniqueConstraint("signing_key", name=op.f("uq_partner_signing_key")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "service_provider",
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("service_type", sa.String(length=40), nullable=False),
        sa.Column("organisation_id", sa.String(length=32), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("area", sa.String(length=200), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("accepts_children", sa.Boolean(), nullable=False),
        sa.Column("contact", sa.String(length=300), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_service_provider_organisation_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_provider")),
        sa.UniqueConstraint("name", name=op.f("uq_service_provider_name")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "hotline_call",
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("caller_type", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=20), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("exploitation_type", sa.String(length=60), nullable=True),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("contact", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("source_record_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("organisation_id", sa.String(length=32), nullable=False),
        sa.Column("import_batch_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["import_batch_id"],
            ["import_batch.id"],
            name=op.f("fk_hotline_call_import_batch_id_import_batch"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_hotline_call_organisation_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hotline_call")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "screening",
        sa.Column("framework_id", sa.String(length=60), nullable=False),
        sa.Column("framework_version", sa.String(length=40), nullable=False),
        sa.Column("locale", sa.String(length=5), nullable=False),
        sa.Column("person_id", sa.String(length=32), nullable=True),
        sa.Column("hotline_call_id", sa.String(length=32), nullable=True),
        sa.Column("subject_label", sa.Text(), nullable=True),
        sa.Column("subject_birth_date", sa.Text(), nullable=True),
        sa.Column("subject_gender", sa.String(length=20), nullable=True),
        sa.Column("subject_nationality", sa.String(length=2), nullable=True),
        sa.Column("subject_language", sa.String(length=20), nullable=True),
        sa.Column("is_child", sa.Boolean(), nullable=False),
        sa.Column("child_act", sa.Boolean(), nullable=False),
        sa.Column("answers", sa.Text(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("recommendation", sa.String(length=40), nullable=True),
        sa.Column("place", sa.String(length=200), nullable=True),
        sa.Column("screened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("source_record_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("organisation_id", sa.String(length=32), nullable=False),
        sa.Column("import_batch_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["import_batch_id"],
            ["import_batch.id"],
            name=op.f("fk_screening_import_batch_id_import_batch"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_screening_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_screening_person_id_person"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "nrm_case",
        sa.Column("workflow_id", sa.String(length=60), nullable=False),
        sa.Column("workflow_version", sa.String(length=40), nullable=False),
        sa.Column("screening_id", sa.String(length=32), nullable=True),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("is_child", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=40), nullable=False),
        sa.Column("state_since", sa.Date(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("not_before", sa.Date(), nullable=True),
        sa.Column("owner", sa.String(length=100), nullable=True),
        sa.Column("last_reminder_on", sa.Date(), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("source_record_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("organisation_id", sa.String(length=32), nullable=False),
        sa.Column("import_batch_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["import_batch_id"],
            ["import_batch.id"],
            name=op.f("fk_nrm_case_import_batch_id_import_batch"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_nrm_case_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["screening_id"], ["screening.id"], name=op.f("fk_nrm_case_screening_id_screening")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nrm_case")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "service_referral",
        sa.Column("screening_id", sa.String(length=32), nullable=True),
        sa.Column("provider_id", sa.String(length=32), nullable=False),
        sa.Column("recipient_organisation_id", sa.String(length=32), nullable=True),
        sa.Column("consent", sa.String(length=20), nullable=False),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("shared_fields", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_note", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("source_record_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("organisation_id", sa.String(length=32), nullable=False),
        sa.Column("import_batch_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["import_batch_id"],
            ["import_batch.id"],
            name=op.f("fk_service_referral_import_batch_id_import_batch"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_service_referral_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["service_provider.id"],
            name=op.f("fk_service_referral_provider_id_service_provider"),
        ),
        sa.ForeignKeyConstraint(
            ["recipient_organisation_id"],
            ["organisation.id"],
            name=op.f("fk_service_referral_recipient_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["screening_id"],
            ["screening.id"],
            name=op.f("fk_service_referral_screening_id_screening"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_referral")),
        sqlite_with_rowid=False,
    )
    op.create_index(
        op.f("ix_service_referral_provider_id"), "service_referral", ["provider_id"], unique=False
    )
    op.create_index(
        op.f("ix_service_referral_recipient_organisation_id"),
        "service_referral",
        ["recipient_organisation_id"],
        unique=False,
    )
    op.create_table(
        "nrm_transition",
        sa.Column("nrm_case_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("transition", sa.String(length=40), nullable=False),
        sa.Column("from_state", sa.String(length=40), nullable=True),
        sa.Column("to_state", sa.String(length=40), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["nrm_case_id"],
            ["nrm_case.id"],
            name=op.f("fk_nrm_transition_nrm_case_id_nrm_case"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nrm_transition")),
        sqlite_with_rowid=False,
    )
    op.create_index(
        op.f("ix_nrm_transition_nrm_case_id"), "nrm_transition", ["nrm_case_id"], unique=False
    )
    op.create_table(
        "transnational_package",
        sa.Column("package_id", sa.String(length=64), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("partner_id", sa.String(length=32), nullable=False),
        sa.Column("referral_id", sa.String(length=32), nullable=True),
        sa.Column("about_package_id", sa.String(length=64), nullable=True),
        sa.Column("fields", sa.Text(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=True),
        sa.Column("status_note", sa.Text(), nullable=True),
        sa.Column("status_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partner.id"], name=op.f("fk_transnational_package_partner_id_partner")
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["service_referral.id"],
            name=op.f("fk_transnational_package_referral_id_service_referral"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transnational_package")),
        sa.UniqueConstraint("package_id", name=op.f("uq_transnational_package_package_id")),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("transnational_package")
    op.drop_table("nrm_transition")
    op.drop_table("service_referral")
    op.drop_table("nrm_case")
    op.drop_table("screening")
    op.drop_table("hotline_call")
    op.drop_table("service_provider")
    op.drop_table("partner")
