"""The journal address the gateway gave an onboarding's account.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("onboarding") as batch:
        batch.add_column(sa.Column("journal_address", sa.String(254), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("onboarding") as batch:
        batch.drop_column("journal_address")
