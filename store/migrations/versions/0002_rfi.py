"""The RFI: its thread, the answers, and the messages already acted on.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rfi_thread",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "onboarding_id",
            sa.Integer(),
            sa.ForeignKey("onboarding.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("thread_ts", sa.String(32), nullable=False),
        sa.Column("started_by", sa.String(32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("current_question", sa.String(40), nullable=True),
        sa.Column("replacing", sa.Boolean(), nullable=False),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("channel_id", "thread_ts"),
    )
    op.create_table(
        "rfi_answer",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "onboarding_id",
            sa.Integer(),
            sa.ForeignKey("onboarding.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("question", sa.String(40), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("answered_by", sa.String(32), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_channel", sa.String(32), nullable=True),
        sa.Column("source_ts", sa.String(32), nullable=True),
    )
    op.create_index(
        "ix_rfi_answer_onboarding_question", "rfi_answer", ["onboarding_id", "question"]
    )
    op.create_index("ix_rfi_answer_source_ts", "rfi_answer", ["source_ts"])
    op.create_table(
        "processed_message",
        sa.Column("key", sa.String(120), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("processed_message")
    op.drop_table("rfi_answer")
    op.drop_table("rfi_thread")
