"""What the App Home overview reads, for any number of onboardings in a fixed number of
statements (one per table, not one per onboarding), and who has the Home tab open."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Select,
    and_,
    func,
    or_,
    update,
)
from sqlmodel import Session, col, select

from store.models import (
    OPEN_REMINDER_STATES,
    CheckRun,
    HomeViewer,
    Member,
    Onboarding,
    Reminder,
    ReminderState,
    RfiThread,
    StepStatus,
)


@dataclass
class OverviewRow:
    """One onboarding and what the overview says of it."""

    onboarding: Onboarding
    steps: dict[str, tuple[str, datetime]] = field(default_factory=dict)  # step -> state, since
    latest_checks: dict[str, tuple[str, datetime]] = field(default_factory=dict)  # worst, when
    reminders_overdue: int = 0
    reminders_next: datetime | None = None
    # Reminders posted or due that wait for a person's Done (the item they confirm).
    confirmations_waiting: list[str] = field(default_factory=list)
    rfi_question: str | None = None  # the question the RFI thread waits on
    rfi_last_activity_at: datetime | None = None
    rfi_completed_at: datetime | None = None


def overview(
    session: Session,
    *,
    now: datetime,
    closed_since: datetime | None,
    only_user: str | None,
) -> list[OverviewRow]:
    """Open onboardings (or, with `closed_since`, those closed since then), each with its
    steps, latest check per step, reminders and RFI thread: five statements, however many
    onboardings. `only_user`: those the person opened or takes part in."""
    where: list[ColumnElement[bool]] = [
        col(Onboarding.closed_at).is_(None)
        if closed_since is None
        else col(Onboarding.closed_at) >= closed_since
    ]
    if only_user is not None:
        members = select(Member.onboarding_id).where(Member.user_id == only_user)
        where.append(or_(col(Onboarding.opened_by) == only_user, col(Onboarding.id).in_(members)))
    rows = {
        o.id: OverviewRow(o)
        for o in session.exec(select(Onboarding).where(*where))
        if o.id is not None
    }
    if not rows:
        return []
    # The same filter as a subquery: no list of ids as parameters, whatever their number.
    ids = select(Onboarding.id).where(*where)
    # Columns rather than ORM objects: six step rows an onboarding add up.
    steps = select(
        StepStatus.onboarding_id, StepStatus.step, StepStatus.state, StepStatus.changed_at
    ).where(col(StepStatus.onboarding_id).in_(ids))
    for onboarding_id, step, state, changed_at in session.exec(steps):
        rows[onboarding_id].steps[step] = (state, changed_at)
    _latest_checks(session, rows, ids)
    _reminders(session, rows, ids, now)
    threads = select(
        RfiThread.onboarding_id,
        RfiThread.current_question,
        RfiThread.last_activity_at,
        RfiThread.completed_at,
    ).where(col(RfiThread.onboarding_id).in_(ids))
    for onboarding_id, question, last_activity_at, completed_at in session.exec(threads):
        row = rows[onboarding_id]
        row.rfi_question = question
        row.rfi_last_activity_at = last_activity_at
        row.rfi_completed_at = completed_at
    return list(rows.values())


def _latest_checks(session: Session, rows: dict[int, OverviewRow], ids: Select[Any] | Any) -> None:
    newest = (
        select(CheckRun.onboarding_id, CheckRun.step, func.max(CheckRun.id).label("id"))
        .where(col(CheckRun.onboarding_id).in_(ids))
        .group_by(col(CheckRun.onboarding_id), col(CheckRun.step))
        .subquery()
    )
    query = select(CheckRun.onboarding_id, CheckRun.step, CheckRun.worst, CheckRun.run_at).join(
        newest, col(CheckRun.id) == newest.c.id
    )
    for onboarding_id, step, worst, at in session.exec(query):
        rows[onboarding_id].latest_checks[step] = (worst, at)


def _reminders(
    session: Session, rows: dict[int, OverviewRow], ids: Select[Any] | Any, now: datetime
) -> None:
    # Open ones, and posted ones that confirm an item (they wait for a person's Done).
    waiting = and_(col(Reminder.state) == ReminderState.SENT, col(Reminder.confirms).is_not(None))
    query = select(
        Reminder.onboarding_id, Reminder.due_at, Reminder.state, Reminder.confirms
    ).where(
        col(Reminder.onboarding_id).in_(ids),
        or_(col(Reminder.state).in_(OPEN_REMINDER_STATES), waiting),
    )
    for onboarding_id, due_at, state, confirms in session.exec(query):
        row = rows[onboarding_id]
        if confirms and (state == ReminderState.SENT or due_at <= now):
            row.confirmations_waiting.append(confirms)
        if state == ReminderState.SENT:
            continue
        if due_at <= now:
            row.reminders_overdue += 1
        elif row.reminders_next is None or due_at < row.reminders_next:
            row.reminders_next = due_at


# --- who has the Home tab open -----------------------------------------------------------------


def note_viewer(
    session: Session, user_id: str, *, scope: str, closed: bool, page: int, at: datetime
) -> HomeViewer:
    """Record that `user_id` looks at the overview with these filters (the latest wins)."""
    viewer = session.get(HomeViewer, user_id) or HomeViewer(user_id=user_id, opened_at=at)
    viewer.scope, viewer.closed, viewer.page, viewer.opened_at = scope, closed, page, at
    session.add(viewer)
    session.flush()
    return viewer


def viewer(session: Session, user_id: str) -> HomeViewer | None:
    return session.get(HomeViewer, user_id)


def recent_viewers(session: Session, since: datetime) -> list[HomeViewer]:
    query = select(HomeViewer).where(col(HomeViewer.opened_at) >= since)
    return list(session.exec(query))


def claim_publish(session: Session, user_id: str, *, at: datetime, every: timedelta) -> bool:
    """Take the right to publish `user_id`'s Home now: False when one was published less than
    `every` ago (by this process or another). One conditional UPDATE, so two processes never
    both take it."""
    statement = (
        update(HomeViewer)
        .where(
            col(HomeViewer.user_id) == user_id,
            or_(
                col(HomeViewer.published_at).is_(None),
                col(HomeViewer.published_at) <= at - every,
            ),
        )
        .values(published_at=at)
    )
    result = session.execute(statement)
    assert isinstance(result, CursorResult)
    return bool(result.rowcount)


def published_at(session: Session, user_id: str) -> datetime | None:
    found = session.get(HomeViewer, user_id)
    return found.published_at if found is not None else None


def forget_viewers(session: Session, user_ids: Collection[str]) -> None:
    for user_id in user_ids:
        found = session.get(HomeViewer, user_id)
        if found is not None:
            session.delete(found)


def involved(session: Session, onboarding_id: int) -> set[str]:
    """Who opened an onboarding or takes part in it: whose "mine" filter shows it."""
    found = session.get(Onboarding, onboarding_id)
    people = {found.opened_by} if found is not None else set()
    query = select(Member.user_id).where(Member.onboarding_id == onboarding_id)
    return people | set(session.exec(query))
