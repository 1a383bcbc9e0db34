"""Reminders: dated chores the dispatcher posts to Slack, with claims for several workers.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Same literal predicate as store.models.DUE_STATES_SQL (migrations do not import the models).
DUE_STATES_SQL = "state IN ('pending', 'snoozed')"


def upgrade() -> None:
    op.create_table(
        "reminder",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "onboarding_id",
            sa.Integer(),
            sa.ForeignKey("onboarding.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("thread_ts", sa.String(32), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("created_by", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key", sa.String(200), nullable=True, unique=True),
        sa.Column("repeat_seconds", sa.Integer(), nullable=True),
        sa.Column("confirms", sa.String(60), nullable=True),
        sa.Column("occurrence", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("claimed_by", sa.String(80), nullable=True),
        sa.Column("claim_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_ts", sa.String(32), nullable=True),
        sa.Column("done_by", sa.String(32), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_reminder_onboarding_id", "reminder", ["onboarding_id"])
    op.create_index(
        "ix_reminder_due",
        "reminder",
        ["due_at"],
        sqlite_where=sa.text(DUE_STATES_SQL),
        postgresql_where=sa.text(DUE_STATES_SQL),
    )


def downgrade() -> None:
    op.drop_index("ix_reminder_due", table_name="reminder")
    op.drop_index("ix_reminder_onboarding_id", table_name="reminder")
    op.drop_table("reminder")
