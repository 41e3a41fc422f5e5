"""TOTP seeds are stored encrypted: the column becomes Text (a token is about 85 characters).

Seeds written in clear before this revision stay readable and are sealed at the user's next
sign-in, or by ``maillon keys reencrypt`` (a migration cannot reach the key file).

Revision ID: 0010_totp_secret_sealed
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_totp_secret_sealed"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user_account") as batch:
        batch.alter_column("totp_secret", existing_type=sa.String(64), type_=sa.Text())


def downgrade() -> None:
    with op.batch_alter_table("user_account") as batch:
        batch.alter_column("totp_secret", existing_type=sa.Text(), type_=sa.String(64))
