"""Recipients from the directory or a spreadsheet, staged batches, LDAP credential options.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _onboarding_fk() -> sa.Column:
    return sa.Column(
        "onboarding_id",
        sa.Integer(),
        sa.ForeignKey("onboarding.id", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    with op.batch_alter_table("credential") as batch:
        batch.alter_column("username", type_=sa.String(1024), existing_nullable=False)
        batch.add_column(sa.Column("options", sa.JSON(), nullable=True))
    op.create_table(
        "recipient_batch",
        sa.Column("id", sa.Integer(), primary_key=True),
        _onboarding_fk(),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("filename", sa.String(255), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("valid", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(32), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_recipient_batch_onboarding", "recipient_batch", ["onboarding_id", "state"])
    op.create_table(
        "recipient_staging",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "batch_id",
            sa.Integer(),
            sa.ForeignKey("recipient_batch.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("address_key", sa.String(320), nullable=False),
        sa.Column("domain", sa.String(255), nullable=False),
        sa.Column("display_name", sa.String(256), nullable=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("groups", sa.JSON(), nullable=True),
    )
    op.create_index(
        "ix_recipient_staging_batch_key", "recipient_staging", ["batch_id", "address_key", "row"]
    )
    op.create_table(
        "recipient",
        sa.Column("id", sa.Integer(), primary_key=True),
        _onboarding_fk(),
        sa.Column(
            "batch_id",
            sa.Integer(),
            sa.ForeignKey("recipient_batch.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("address_key", sa.String(320), nullable=False),
        sa.Column("domain", sa.String(255), nullable=False),
        sa.Column("display_name", sa.String(256), nullable=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("groups", sa.JSON(), nullable=True),
        sa.UniqueConstraint("onboarding_id", "source", "address_key"),
    )
    op.create_index("ix_recipient_onboarding_domain", "recipient", ["onboarding_id", "domain"])


def downgrade() -> None:
    op.drop_table("recipient")
    op.drop_table("recipient_staging")
    op.drop_table("recipient_batch")
    with op.batch_alter_table("credential") as batch:
        batch.drop_column("options")
        batch.alter_column("username", type_=sa.String(255), existing_nullable=False)
