"""An onboarding's go-live date, and who has the app's Home tab open (issue 15).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("onboarding") as batch:
        batch.add_column(sa.Column("go_live", sa.Date(), nullable=True))
    op.create_table(
        "home_viewer",
        sa.Column("user_id", sa.String(32), primary_key=True),
        sa.Column("scope", sa.String(10), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("page", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("home_viewer")
    with op.batch_alter_table("onboarding") as batch:
        batch.drop_column("go_live")
