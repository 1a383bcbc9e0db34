"""Staged rows remember which file of an upload they came from (several files, one import).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows staged before this migration came from one file each: file 0.
    with op.batch_alter_table("recipient_staging") as batch:
        batch.add_column(sa.Column("file", sa.Integer(), nullable=False, server_default="0"))
    # Duplicates are ranked by (file, row) within an address: the index serves that order.
    op.drop_index("ix_recipient_staging_batch_key", table_name="recipient_staging")
    op.create_index(
        "ix_recipient_staging_batch_key",
        "recipient_staging",
        ["batch_id", "address_key", "file", "row"],
    )


def downgrade() -> None:
    op.drop_index("ix_recipient_staging_batch_key", table_name="recipient_staging")
    with op.batch_alter_table("recipient_staging") as batch:
        batch.drop_column("file")
    op.create_index(
        "ix_recipient_staging_batch_key", "recipient_staging", ["batch_id", "address_key", "row"]
    )
