"""The MX hosts an onboarding's domains had before the switch.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("onboarding") as batch:
        batch.add_column(sa.Column("old_mx_hosts", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("onboarding") as batch:
        batch.drop_column("old_mx_hosts")
