"""The onboarding's card: where it was posted (channel and ts) and its permalink.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Onboardings opened before this have no card: nothing is updated for them.
    with op.batch_alter_table("onboarding") as batch:
        batch.add_column(sa.Column("card_channel_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("card_ts", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("card_url", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("onboarding") as batch:
        batch.drop_column("card_url")
        batch.drop_column("card_ts")
        batch.drop_column("card_channel_id")
