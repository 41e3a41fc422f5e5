"""Link: stable person clusters, their history, link runs and the review queue.

Revision ID: 0002_link
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_link"
down_revision = "0001"
branch_labels = ("link",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "link_run",
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("persons", sa.Integer(), nullable=False),
        sa.Column("pairs", sa.Integer(), nullable=False),
        sa.Column("clusters", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("merged", sa.Integer(), nullable=False),
        sa.Column("split", sa.Integer(), nullable=False),
        sa.Column("labels_used", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_run")),
    )
    op.create_table(
        "link_cluster",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_run_id", sa.String(length=32), nullable=True),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["created_run_id"], ["link_run.id"],
                                name=op.f("fk_link_cluster_created_run_id_link_run")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_cluster")),
    )
    op.create_table(
        "person_cluster",
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column("cluster_id", sa.String(length=32), nullable=False),
        sa.Column("match_probability", sa.Float(), nullable=True),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["cluster_id"], ["link_cluster.id"],
                                name=op.f("fk_person_cluster_cluster_id_link_cluster")),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE",
                                name=op.f("fk_person_cluster_person_id_person")),
        sa.ForeignKeyConstraint(["run_id"], ["link_run.id"],
                                name=op.f("fk_person_cluster_run_id_link_run")),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_person_cluster")),
    )
    op.create_index(op.f("ix_person_cluster_cluster_id"), "person_cluster", ["cluster_id"])
    op.create_table(
        "link_cluster_event",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("cluster_id", sa.String(length=32), nullable=False),
        sa.Column("other_cluster_id", sa.String(length=32), nullable=False),
        sa.Column("persons", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["cluster_id"], ["link_cluster.id"],
                                name=op.f("fk_link_cluster_event_cluster_id_link_cluster")),
        sa.ForeignKeyConstraint(["other_cluster_id"], ["link_cluster.id"],
                                name=op.f("fk_link_cluster_event_other_cluster_id_link_cluster")),
        sa.ForeignKeyConstraint(["run_id"], ["link_run.id"],
                                name=op.f("fk_link_cluster_event_run_id_link_run")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_cluster_event")),
    )
    op.create_index(op.f("ix_link_cluster_event_run_id"), "link_cluster_event", ["run_id"])
    op.create_index(op.f("ix_link_cluster_event_cluster_id"), "link_cluster_event",
                    ["cluster_id"])
    op.create_table(
        "link_review",
        sa.Column("person_id_l", sa.String(length=32), nullable=False),
        sa.Column("person_id_r", sa.String(length=32), nullable=False),
        sa.Column("match_probability", sa.Float(), nullable=False),
        sa.Column("match_weight", sa.Float(), nullable=False),
        sa.Column("waterfall", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["person_id_l"], ["person.id"], ondelete="CASCADE",
                                name=op.f("fk_link_review_person_id_l_person")),
        sa.ForeignKeyConstraint(["person_id_r"], ["person.id"], ondelete="CASCADE",
                                name=op.f("fk_link_review_person_id_r_person")),
        sa.ForeignKeyConstraint(["run_id"], ["link_run.id"],
                                name=op.f("fk_link_review_run_id_link_run")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_review")),
        sa.UniqueConstraint("person_id_l", "person_id_r",
                            name=op.f("uq_link_review_person_id_l")),
    )
    op.create_index(op.f("ix_link_review_status"), "link_review", ["status"])


def downgrade() -> None:
    op.drop_table("link_review")
    op.drop_table("link_cluster_event")
    op.drop_table("person_cluster")
    op.drop_table("link_cluster")
    op.drop_table("link_run")
