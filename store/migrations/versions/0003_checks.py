"""Check runs, and the previous provider recognised on an onboarding.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("onboarding") as batch:
        batch.add_column(sa.Column("previous_provider_key", sa.String(40), nullable=True))
        batch.add_column(sa.Column("previous_provider", sa.String(120), nullable=True))
    op.create_table(
        "check_run",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "onboarding_id",
            sa.Integer(),
            sa.ForeignKey("onboarding.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("step", sa.String(20), nullable=False),
        sa.Column("run_by", sa.String(32), nullable=False),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("worst", sa.String(10), nullable=False),
        sa.Column("elapsed_ms", sa.Integer(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
    )
    op.create_index(
        "ix_check_run_onboarding_step_at", "check_run", ["onboarding_id", "step", "run_at"]
    )


def downgrade() -> None:
    op.drop_table("check_run")
    with op.batch_alter_table("onboarding") as batch:
        batch.drop_column("previous_provider")
        batch.drop_column("previous_provider_key")
