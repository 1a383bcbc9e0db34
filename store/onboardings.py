"""Queries the commands layer needs; every function runs inside the caller's session."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, literal_column, union_all
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from store.models import (
    OPEN_REMINDER_STATES,
    Onboarding,
    RecipientBatch,
    Reminder,
    StepStatus,
    utcnow,
)


class DuplicateKey(Exception):
    """Another onboarding with this key was stored first (a race the earlier look-up missed)."""


@dataclass(frozen=True)
class Progress:
    onboarding: Onboarding
    done: int
    applicable: int


def get_by_key(session: Session, key: str, *, for_update: bool = False) -> Onboarding | None:
    query = select(Onboarding).where(Onboarding.key == key)
    if for_update:
        query = query.with_for_update()
    return session.exec(query).first()


def get_open_in_channel(session: Session, channel_id: str) -> Onboarding | None:
    query = select(Onboarding).where(
        Onboarding.channel_id == channel_id, col(Onboarding.closed_at).is_(None)
    )
    return session.exec(query.order_by(col(Onboarding.opened_at).desc())).first()


def all_keys(session: Session) -> list[str]:
    return list(session.exec(select(Onboarding.key)))


def add_onboarding(
    session: Session, onboarding: Onboarding, steps: Iterable[tuple[str, str]]
) -> Onboarding:
    session.add(onboarding)
    try:
        session.flush()  # assigns the id the step rows point at
    except IntegrityError as exc:
        raise DuplicateKey(onboarding.key) from exc
    assert onboarding.id is not None
    for step, state in steps:
        session.add(
            StepStatus(
                onboarding_id=onboarding.id,
                step=step,
                state=state,
                changed_by=onboarding.opened_by,
                changed_at=onboarding.opened_at,
            )
        )
    session.flush()
    return onboarding


def step_rows(session: Session, onboarding_id: int) -> list[StepStatus]:
    query = select(StepStatus).where(StepStatus.onboarding_id == onboarding_id)
    return list(session.exec(query))


def set_step_state(
    session: Session, row: StepStatus, state: str, actor: str, at: datetime | None = None
) -> StepStatus:
    row.state = state
    row.changed_by = actor
    row.changed_at = at or utcnow()
    session.add(row)
    session.flush()
    return row


def close_onboarding(
    session: Session, onboarding: Onboarding, actor: str, at: datetime | None = None
) -> Onboarding:
    onboarding.closed_by = actor
    onboarding.closed_at = at or utcnow()
    session.add(onboarding)
    session.flush()
    return onboarding


def list_progress(
    session: Session,
    *,
    include_closed: bool,
    limit: int,
    done_state: str,
    skip_state: str,
    only: Collection[int] | None = None,
) -> tuple[Sequence[Progress], int]:
    """Onboardings, newest first, with done and applicable step counts; and how many in all.

    `only`: just these onboarding ids (a customer contact's own), None for every one."""
    done = func.sum(case((col(StepStatus.state) == done_state, 1), else_=0))
    applicable = func.sum(case((col(StepStatus.state) != skip_state, 1), else_=0))
    where = [] if include_closed else [col(Onboarding.closed_at).is_(None)]
    if only is not None:
        where.append(col(Onboarding.id).in_(list(only)))
    query = (
        select(Onboarding, done, applicable)
        .join(StepStatus, col(StepStatus.onboarding_id) == col(Onboarding.id))
        .where(*where)
        .group_by(col(Onboarding.id))
        .order_by(col(Onboarding.closed_at).is_not(None), col(Onboarding.opened_at).desc())
        .limit(limit)
    )
    rows = [Progress(o, int(d or 0), int(a or 0)) for o, d, a in session.exec(query)]
    total = session.exec(select(func.count()).select_from(Onboarding).where(*where)).one()
    return rows, int(total)


def count_closed(session: Session, only: Collection[int] | None = None) -> int:
    where = [col(Onboarding.closed_at).is_not(None)]
    if only is not None:
        where.append(col(Onboarding.id).in_(list(only)))
    query = select(func.count()).select_from(Onboarding).where(*where)
    return int(session.exec(query).one())


@dataclass(frozen=True)
class StatusExtras:
    """What a status shows beyond steps and checks, read in one statement (status is the
    busiest read): recipients kept per source with the newest import time, open reminders."""

    recipients: tuple[tuple[str, int], ...]
    recipients_at: datetime | None
    reminders_open: int
    reminders_next: datetime | None


def status_extras(session: Session, onboarding_id: int) -> StatusExtras:
    # One UNION ALL instead of three queries; the first SELECT's column types (UTCDateTime)
    # read the times of both halves. A source's imported batch knows how many it stored.
    batches = select(
        RecipientBatch.source,
        RecipientBatch.valid,
        RecipientBatch.imported_at,
    ).where(
        col(RecipientBatch.onboarding_id) == onboarding_id,
        col(RecipientBatch.state) == "imported",
    )
    reminders: Select[str, int, datetime | None] = select(
        literal_column("'reminders'"),
        func.count(),
        func.min(col(Reminder.due_at)),
    ).where(
        col(Reminder.onboarding_id) == onboarding_id,
        col(Reminder.state).in_(OPEN_REMINDER_STATES),
    )
    recipients: list[tuple[str, int]] = []
    newest: datetime | None = None
    open_count, soonest = 0, None
    for source, count, at in session.execute(union_all(batches, reminders)).all():
        if source == "reminders":
            open_count, soonest = int(count), at
        else:
            recipients.append((source, int(count)))
            newest = at if newest is None or (at is not None and at > newest) else newest
    return StatusExtras(tuple(sorted(recipients)), newest, open_count, soonest)


def get_by_id(session: Session, onboarding_id: int) -> Onboarding | None:
    return session.get(Onboarding, onboarding_id)


def set_card(
    session: Session, onboarding: Onboarding, channel_id: str, ts: str, url: str | None
) -> None:
    """Remember where the onboarding's card was posted (and its link, when Slack gave one)."""
    onboarding.card_channel_id = channel_id
    onboarding.card_ts = ts
    onboarding.card_url = url
    session.add(onboarding)
    session.flush()
