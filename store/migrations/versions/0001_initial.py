"""Onboardings, the state of each step, and audit events.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "onboarding",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("service", sa.String(20), nullable=False),
        sa.Column("region", sa.String(20), nullable=True),
        sa.Column("team_id", sa.String(32), nullable=True),
        sa.Column("channel_id", sa.String(32), nullable=True),
        sa.Column("opened_by", sa.String(32), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_by", sa.String(32), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_onboarding_key", "onboarding", ["key"], unique=True)
    op.create_index("ix_onboarding_channel_id", "onboarding", ["channel_id"])

    op.create_table(
        "step_status",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "onboarding_id",
            sa.Integer(),
            sa.ForeignKey("onboarding.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("step", sa.String(20), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("changed_by", sa.String(32), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("onboarding_id", "step"),
    )

    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "onboarding_id",
            sa.Integer(),
            sa.ForeignKey("onboarding.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(32), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
    )
    op.create_index("ix_audit_event_onboarding_at", "audit_event", ["onboarding_id", "at"])


def downgrade() -> None:
    op.drop_table("audit_event")
    op.drop_table("step_status")
    op.drop_table("onboarding")
