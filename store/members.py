"""Queries for the people taking part in an onboarding."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from store.models import Member, utcnow


def add(
    session: Session,
    *,
    onboarding_id: int,
    user_id: str,
    role: str,
    added_by: str,
    at: datetime | None = None,
) -> bool:
    """Add a member; False when they already were one (their first role and adder stay)."""
    # INSERT ... ON CONFLICT DO NOTHING: two invites racing must not fail one of them.
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(Member)
        .values(
            onboarding_id=onboarding_id,
            user_id=user_id,
            role=role,
            added_by=added_by,
            added_at=at or utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["onboarding_id", "user_id"])
        .returning(col(Member.id))
    )
    return session.execute(statement).first() is not None


def members_of(session: Session, onboarding_id: int) -> list[Member]:
    query = (
        select(Member)
        .where(Member.onboarding_id == onboarding_id)
        .order_by(col(Member.added_at), col(Member.id))
    )
    return list(session.exec(query))


def onboardings_of(session: Session, user_id: str) -> set[int]:
    """The ids of the onboardings someone is a member of."""
    return set(session.exec(select(Member.onboarding_id).where(Member.user_id == user_id)))
