"""Reminder SQL: adding, listing, completing, and the claims the dispatcher posts under.

A worker claims due reminders for a lease; it records the Slack message with `mark_sent` (or gives
the claim back with `release`). A claim that expires (the worker died) may be taken by another
worker; `attempts` counts claims since the last recorded send, so the next worker knows to look in
the channel for a message the dead one may already have posted.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, case, func, or_, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.expression import ColumnElement, TextClause
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from store import claims
from store.db import Database
from store.models import (
    DUE_STATES_SQL,
    OPEN_REMINDER_STATES,
    Onboarding,
    Reminder,
    ReminderState,
    UTCDateTime,
    table_of,
    utcnow,
)


def add(
    session: Session,
    *,
    onboarding_id: int,
    kind: str,
    text: str,
    due_at: datetime,
    channel_id: str,
    thread_ts: str | None = None,
    created_by: str,
    key: str | None = None,
    repeat_seconds: int | None = None,
    confirms: str | None = None,
) -> Reminder | None:
    """A new pending reminder; None when one with this `key` already exists (nothing changed)."""
    if repeat_seconds is not None and repeat_seconds <= 0:
        raise ValueError("repeat_seconds must be positive")
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    # RETURNING tells a new row from a conflict: psycopg reports rowcount -1 here.
    statement = (
        insert(Reminder)
        .values(
            onboarding_id=onboarding_id,
            kind=kind,
            text=text,
            due_at=due_at,
            channel_id=channel_id,
            thread_ts=thread_ts,
            state=ReminderState.PENDING,
            created_by=created_by,
            created_at=utcnow(),
            key=key,
            repeat_seconds=repeat_seconds,
            confirms=confirms,
            occurrence=0,
            attempts=0,
        )
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(col(Reminder.id))
    )
    new_id = session.execute(statement).scalar()
    return None if new_id is None else session.get(Reminder, new_id)


def get(session: Session, reminder_id: int) -> Reminder | None:
    return session.get(Reminder, reminder_id)


def by_key(session: Session, key: str) -> Reminder | None:
    return session.exec(select(Reminder).where(Reminder.key == key)).first()


def pending_for(session: Session, onboarding_id: int) -> list[Reminder]:
    """An onboarding's reminders still to be delivered (pending or snoozed), soonest first."""
    query = (
        select(Reminder)
        .where(
            Reminder.onboarding_id == onboarding_id, col(Reminder.state).in_(OPEN_REMINDER_STATES)
        )
        .order_by(col(Reminder.due_at), col(Reminder.id))
    )
    return list(session.exec(query))


def _locked(session: Session, reminder_id: int) -> Reminder | None:
    query = select(Reminder).where(Reminder.id == reminder_id).with_for_update()
    return session.exec(query).first()


def complete(session: Session, reminder_id: int, *, by: str, at: datetime) -> Reminder | None:
    """Mark done (also stops a repeating one). None if unknown, cancelled or already done."""
    row = _locked(session, reminder_id)
    if row is None or row.state in (ReminderState.DONE, ReminderState.CANCELLED):
        return None
    row.state = ReminderState.DONE
    row.done_by = by
    row.done_at = at
    session.add(row)
    session.flush()
    return row


def snooze(session: Session, reminder_id: int, *, until: datetime, by: str) -> Reminder | None:
    """Due again at `until`. None if unknown, done or cancelled."""
    row = _locked(session, reminder_id)
    if row is None or row.state in (ReminderState.DONE, ReminderState.CANCELLED):
        return None
    row.state = ReminderState.SNOOZED
    row.due_at = until
    session.add(row)
    session.flush()
    return row


def cancel(session: Session, reminder_id: int) -> Reminder | None:
    """Never deliver it again. None if unknown, done or already cancelled."""
    row = _locked(session, reminder_id)
    if row is None or row.state in (ReminderState.DONE, ReminderState.CANCELLED):
        return None
    row.state = ReminderState.CANCELLED
    session.add(row)
    session.flush()
    return row


def cancel_kind(session: Session, onboarding_id: int, kind: str) -> int:
    """Cancel an onboarding's open reminders of one kind; returns how many."""
    statement = (
        update(Reminder)
        .where(
            col(Reminder.onboarding_id) == onboarding_id,
            col(Reminder.kind) == kind,
            col(Reminder.state).in_((*OPEN_REMINDER_STATES, ReminderState.SENT)),
        )
        .values(state=ReminderState.CANCELLED)
        .returning(col(Reminder.id))
    )
    return len(session.execute(statement).all())


def due_filter(now: datetime) -> list[ColumnElement[bool] | TextClause]:
    """The due predicate: open, due, and not held by a live claim (the literal state test is what
    lets the planner use the partial index ix_reminder_due)."""
    return [
        text(DUE_STATES_SQL),
        col(Reminder.due_at) <= now,
        or_(col(Reminder.claim_expires_at).is_(None), col(Reminder.claim_expires_at) <= now),
    ]


def due_ids_query(now: datetime, limit: int) -> SelectOfScalar[int | None]:
    return (
        select(col(Reminder.id)).where(*due_filter(now)).order_by(col(Reminder.due_at)).limit(limit)
    )


def claim_due(
    db_or_session: Database | Session,
    *,
    worker: str,
    now: datetime,
    limit: int,
    lease: timedelta,
) -> list[Reminder]:
    """Atomically take up to `limit` due reminders for `worker` until now + lease, oldest first
    (store/claims.py)."""
    if isinstance(db_or_session, Database):
        with db_or_session.session(write=True) as session:
            return claim_due(session, worker=worker, now=now, limit=limit, lease=lease)
    values = {
        "claimed_by": worker,
        "claim_expires_at": now + lease,
        # The time of the first claim since the last send: where a search for a message an
        # earlier, dead claim may have posted begins.
        "claimed_at": _first_claim_time(now),
        "attempts": col(Reminder.attempts) + 1,
    }
    return claims.claim(db_or_session, Reminder, due_ids_query(now, limit), due_filter(now), values)


def _first_claim_time(now: datetime) -> object:
    return case(
        (col(Reminder.attempts) == 0, now),
        (col(Reminder.claimed_at).is_(None), now),
        else_=col(Reminder.claimed_at),
    )


_table = table_of(Reminder)
_at = bindparam("at", type_=UTCDateTime())
_SENT_ONCE = (
    update(_table)
    .where(
        _table.c.id == bindparam("rid"),
        _table.c.claimed_by == bindparam("worker"),
        _table.c.repeat_seconds.is_(None),
    )
    .values(
        sent_at=_at,
        message_ts=bindparam("message_ts"),
        occurrence=_table.c.occurrence + 1,
        attempts=0,
        claimed_by=None,
        claim_expires_at=None,
        claimed_at=None,
        state=case(
            (
                and_(_table.c.state.in_(OPEN_REMINDER_STATES), _table.c.due_at <= _at),
                ReminderState.SENT,
            ),
            else_=_table.c.state,
        ),
    )
    .returning(_table.c.id)
)


def mark_sent(
    session: Session, reminder_id: int, *, worker: str, message_ts: str | None, at: datetime
) -> bool:
    """Record the Slack message a claimed reminder became and drop the claim; True if recorded.

    Only while `worker` still holds the claim (False otherwise: another worker took it over, and
    will find this message by its metadata). A repeating reminder goes back to pending, due
    `repeat_seconds` after its due time (moved past `at` if the worker fell behind). A click while
    it was being posted wins: done and cancelled keep their state, and a snooze (its due time now
    after `at`) stays snoozed until then.
    """
    # Most reminders do not repeat: one prepared UPDATE records them (this runs once per post,
    # so it skips the ORM: building and synchronising an ORM UPDATE cost more than running it).
    params = {"rid": reminder_id, "worker": worker, "at": at, "message_ts": message_ts}
    if session.connection().execute(_SENT_ONCE, params).first() is not None:
        cached = session.identity_map.get(identity_key(Reminder, reminder_id))
        if cached is not None:
            session.expire(cached)
        return True
    row = _locked(session, reminder_id)
    if row is None or row.claimed_by != worker:
        return False
    row.sent_at = at
    row.message_ts = message_ts
    row.occurrence += 1
    row.attempts = 0
    row.claimed_by = None
    row.claim_expires_at = None
    row.claimed_at = None
    if row.state in OPEN_REMINDER_STATES and row.repeat_seconds and row.due_at <= at:
        step = timedelta(seconds=row.repeat_seconds)
        due = row.due_at + step
        while due <= at:
            due += step
        row.due_at = due
        row.state = ReminderState.PENDING
    session.add(row)
    session.flush()
    return True


def release(
    session: Session,
    reminder_id: int,
    *,
    worker: str,
    retry_at: datetime | None = None,
    maybe_posted: bool = True,
) -> Reminder | None:
    """Give a claim back after a failed or skipped send: due again at once, or from `retry_at`.

    The due time people see is left alone; a held-back retry is an unowned claim that expires at
    `retry_at`. With `maybe_posted` (a timeout, a dropped connection) the claim stays counted in
    `attempts`, so the next claim looks in the channel first; a send known not to have happened
    (Slack answered with an error, a 429, or the worker never tried) takes it back.
    """
    row = _locked(session, reminder_id)
    if row is None or row.claimed_by != worker:
        return None
    row.claimed_by = None
    row.claim_expires_at = retry_at
    if not maybe_posted:
        row.attempts = max(0, row.attempts - 1)
    session.add(row)
    session.flush()
    return row


# --- reads for the commands: confirmations, the open list ------------------------------------


def confirmations(session: Session, onboarding_id: int) -> dict[str, Reminder]:
    """The manual items of an onboarding confirmed by a Done: item -> the latest such reminder."""
    query = (
        select(Reminder)
        .where(
            Reminder.onboarding_id == onboarding_id,
            Reminder.state == ReminderState.DONE,
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
    that confirms a manual item (its message may have scrolled out of sight), or failed."""
    waiting = and_(col(Reminder.state) == ReminderState.SENT, col(Reminder.confirms).is_not(None))
    # Failed ones stay listed (marked so) until someone cancels them: nobody else will act.
    failed = col(Reminder.state) == ReminderState.FAILED
    where = [
        or_(col(Reminder.state).in_(OPEN_REMINDER_STATES), waiting, failed),
        col(Onboarding.closed_at).is_(None),
    ]
    if onboarding_id is not None:
        where.append(col(Reminder.onboarding_id) == onboarding_id)
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


def cancel_open(session: Session, onboarding_id: int) -> int:
    """Cancel every reminder of an onboarding not yet done (it was closed); returns how many."""
    statement = (
        update(Reminder)
        .where(
            col(Reminder.onboarding_id) == onboarding_id,
            col(Reminder.state).in_((*OPEN_REMINDER_STATES, ReminderState.SENT)),
        )
        .values(state=ReminderState.CANCELLED)
        .returning(col(Reminder.id))
    )
    return len(session.execute(statement).all())


# --- permanent failures ------------------------------------------------------------------------


def mark_failed(
    session: Session, reminder_id: int, *, worker: str, reason: str, at: datetime
) -> str | None:
    """Slack refused the claimed reminder for good: state failed, never due again. Returns its
    onboarding's key when this call failed it (None: the claim was lost, or it was done or
    cancelled meanwhile), so whoever tells people about it does so once."""
    row = _locked(session, reminder_id)
    if row is None or row.claimed_by != worker or row.state not in OPEN_REMINDER_STATES:
        return None
    row.state = ReminderState.FAILED
    row.failed_reason = reason[:60]
    row.failed_at = at
    row.claimed_by = None
    row.claim_expires_at = None
    session.add(row)
    session.flush()
    onboarding = session.get(Onboarding, row.onboarding_id)
    return onboarding.key if onboarding is not None else None


def failed_count(session: Session, onboarding_id: int) -> int:
    """How many of an onboarding's reminders Slack refused for good."""
    query = (
        select(func.count())
        .select_from(Reminder)
        .where(
            col(Reminder.onboarding_id) == onboarding_id,
            col(Reminder.state) == ReminderState.FAILED,
        )
    )
    return int(session.exec(query).one())
