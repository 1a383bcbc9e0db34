"""Credentials for customer servers, with the secret sealed.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "credential",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "onboarding_id",
            sa.Integer(),
            sa.ForeignKey("onboarding.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("security", sa.String(20), nullable=False),
        sa.Column("username", sa.String(255), nullable=False),
        sa.Column("sealed_secret", sa.String(4096), nullable=False),
        sa.Column("set_by", sa.String(32), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("onboarding_id", "kind"),
    )


def downgrade() -> None:
    op.drop_table("credential")
