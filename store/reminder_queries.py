"""Reminder reads the commands need beyond store/reminders.py: the manual items people have
confirmed with Done, and open reminders across onboardings."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import and_, func, or_, update
from sqlmodel import Session, col, select

from store.models import Onboarding, Reminder

OPEN_STATES = ("pending", "snoozed")


def confirmations(session: Session, onboarding_id: int) -> dict[str, Reminder]:
    """The manual items of an onboarding confirmed by a Done: item -> the latest such reminder."""
    query = (
        select(Reminder)
        .where(
            Reminder.onboarding_id == onboarding_id,
            Reminder.state == "done",
            col(Reminder.confirms).is_not(None),
        )
        .order_by(col(Reminder.done_at), col(Reminder.id))
    )
    found: dict[str, Reminder] = {}
    for row in session.exec(query):
        assert row.confirms is not None
        found[row.confirms] = row  # later ones win
    return found


def open_reminders(
    session: Session, *, onboarding_id: int | None = None, limit: int = 50
) -> tuple[list[tuple[Reminder, str]], int]:
    """Open reminders of open onboardings, soonest first, with each onboarding's key; and how
    many there are in all. Open: pending or snoozed, or posted but still waiting for the Done
    that confirms a manual item (its message may have scrolled out of sight)."""
    waiting = and_(col(Reminder.state) == "sent", col(Reminder.confirms).is_not(None))
    where = [
        or_(col(Reminder.state).in_(OPEN_STATES), waiting),
        col(Onboarding.closed_at).is_(None),
    ]
    if onboarding_id is not None:
        where.append(Reminder.onboarding_id == onboarding_id)
    query = (
        select(Reminder, Onboarding.key)
        .join(Onboarding, col(Onboarding.id) == col(Reminder.onboarding_id))
        .where(*where)
        .order_by(col(Reminder.due_at), col(Reminder.id))
    )
    rows = [(reminder, key) for reminder, key in session.exec(query.limit(limit))]
    total = len(rows)
    if total == limit:
        counted = (
            select(func.count())
            .select_from(Reminder)
            .join(Onboarding, col(Onboarding.id) == col(Reminder.onboarding_id))
            .where(*where)
        )
        total = int(session.exec(counted).one())
    return rows, total


def open_summary(session: Session, onboarding_id: int) -> tuple[int, datetime | None]:
    """How many reminders of an onboarding are open, and when the next falls due."""
    query = select(func.count(), func.min(Reminder.due_at)).where(
        Reminder.onboarding_id == onboarding_id, col(Reminder.state).in_(OPEN_STATES)
    )
    count, soonest = session.exec(query).one()
    if soonest is not None and soonest.tzinfo is None:  # SQLite's min() skips the column type
        soonest = soonest.replace(tzinfo=UTC)
    return int(count), soonest


def cancel_open(session: Session, onboarding_id: int) -> int:
    """Cancel every reminder of an onboarding not yet done (it was closed); returns how many."""
    statement = (
        update(Reminder)
        .where(
            col(Reminder.onboarding_id) == onboarding_id,
            col(Reminder.state).in_((*OPEN_STATES, "sent")),
        )
        .values(state="cancelled")
        .returning(Reminder.id)
    )
    return len(session.execute(statement).all())
