"""Queries for the RFI: its thread, its answers, and which Slack messages were acted on."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from store.models import ProcessedMessage, RfiAnswer, RfiThread, utcnow


def thread_of(
    session: Session, onboarding_id: int, *, for_update: bool = False
) -> RfiThread | None:
    query = select(RfiThread).where(RfiThread.onboarding_id == onboarding_id)
    if for_update:
        query = query.with_for_update()
    return session.exec(query).first()


def thread_at(
    session: Session, channel_id: str, thread_ts: str, *, for_update: bool = False
) -> RfiThread | None:
    query = select(RfiThread).where(
        RfiThread.channel_id == channel_id, RfiThread.thread_ts == thread_ts
    )
    if for_update:
        query = query.with_for_update()
    return session.exec(query).first()


def save(session: Session, row: RfiThread | RfiAnswer) -> None:
    session.add(row)
    session.flush()


def answers(session: Session, onboarding_id: int) -> list[RfiAnswer]:
    query = (
        select(RfiAnswer)
        .where(RfiAnswer.onboarding_id == onboarding_id)
        .order_by(col(RfiAnswer.id))
    )
    return list(session.exec(query))


def answer_from(session: Session, channel_id: str, ts: str) -> RfiAnswer | None:
    query = select(RfiAnswer).where(
        RfiAnswer.source_channel == channel_id, RfiAnswer.source_ts == ts
    )
    return session.exec(query).first()


def clear_answer(session: Session, onboarding_id: int, question: str) -> None:
    session.execute(
        delete(RfiAnswer).where(
            col(RfiAnswer.onboarding_id) == onboarding_id, col(RfiAnswer.question) == question
        )
    )


def first_time(session: Session, key: str) -> bool:
    """Record that a message (or an edit) is being acted on; False if it already was."""
    # A row back from RETURNING means the key was new; rowcount cannot tell, since psycopg
    # reports -1 for ORM-enabled inserts.
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(ProcessedMessage)
        .values(key=key[:120], at=utcnow())
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(col(ProcessedMessage.key))
    )
    return session.execute(statement).first() is not None
