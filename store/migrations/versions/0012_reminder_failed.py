"""Reminders Slack refused for good are marked failed (with the reason); an onboarding knows
when its channel was archived or the bot removed from it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reminder") as batch:
        batch.add_column(sa.Column("failed_reason", sa.String(length=60), nullable=True))
        batch.add_column(sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("onboarding") as batch:
        batch.add_column(sa.Column("channel_state", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("channel_state_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("onboarding") as batch:
        batch.drop_column("channel_state_at")
        batch.drop_column("channel_state")
    with op.batch_alter_table("reminder") as batch:
        batch.drop_column("failed_at")
        batch.drop_column("failed_reason")
