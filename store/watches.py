"""Watch SQL: which onboardings are watched, the claims the watcher runs them under, and what a
run leaves behind (what it saw, when it runs next, the notices still to post).

Claims work as for reminders (store/reminders.py): a worker takes due watches for a lease; only
the holder of the claim may record a run; an expired claim is taken by another worker. A watch
is due when its time has come or when it holds notices not yet posted (a worker died between
deciding and posting), unless it is paused.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.expression import ColumnElement
from sqlmodel import Session, col, select

from store import claims
from store.db import Database
from store.models import Onboarding, StepStatus, Watch


@dataclass(frozen=True)
class Candidate:
    """An open or closed onboarding, the state of one of its steps, and its watch if any."""

    onboarding_id: int
    closed: bool
    state: str | None
    watch_id: int | None
    mode: str | None


def candidates(session: Session, step: str) -> list[Candidate]:
    """Every onboarding that has `step` or a watch, with the step's state and the watch's mode:
    what the rules need to decide which watches should exist."""
    query = (
        select(Onboarding.id, Onboarding.closed_at, StepStatus.state, Watch.id, Watch.mode)  # type: ignore[call-overload]
        .join(
            StepStatus,
            and_(col(StepStatus.onboarding_id) == col(Onboarding.id), col(StepStatus.step) == step),
            isouter=True,
        )
        .join(Watch, col(Watch.onboarding_id) == col(Onboarding.id), isouter=True)
        .where(or_(col(StepStatus.id).is_not(None), col(Watch.id).is_not(None)))
    )
    return [
        Candidate(int(oid), closed is not None, state, wid, mode)
        for oid, closed, state, wid, mode in session.execute(query)
    ]


def ensure(session: Session, onboarding_id: int, *, mode: str, due_at: datetime) -> bool:
    """A watch for the onboarding in `mode`, due at `due_at`, unless it has one (then its mode
    is set, and a change of mode makes it due at `due_at` and starts its back-off afresh).
    True when something changed."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(Watch)
        .values(onboarding_id=onboarding_id, mode=mode, due_at=due_at, streak=0, runs=0)
        .values(pending=0, next_seq=0)
        .on_conflict_do_nothing(index_elements=["onboarding_id"])
        .returning(col(Watch.id))
    )
    if session.execute(statement).scalar() is not None:
        return True
    changed = session.execute(
        update(Watch)
        .where(col(Watch.onboarding_id) == onboarding_id, col(Watch.mode) != mode)
        .values(mode=mode, due_at=due_at, streak=0)
        .returning(col(Watch.id))
    ).all()
    return bool(changed)


def drop(session: Session, onboarding_ids: Collection[int]) -> int:
    """Remove the watches of these onboardings (closed, or no longer at a watched stage)."""
    if not onboarding_ids:
        return 0
    statement = (
        delete(Watch).where(col(Watch.onboarding_id).in_(onboarding_ids)).returning(col(Watch.id))
    )
    return len(session.execute(statement).all())


def for_onboarding(session: Session, onboarding_id: int) -> Watch | None:
    return session.exec(select(Watch).where(Watch.onboarding_id == onboarding_id)).first()


def get(session: Session, watch_id: int) -> Watch | None:
    return session.get(Watch, watch_id)


def set_paused(
    session: Session, onboarding_id: int, *, by: str | None, at: datetime | None
) -> bool:
    """Pause (by and at given) or resume (both None). True when the state changed."""
    paused = col(Watch.paused_at).is_(None) if by is not None else col(Watch.paused_at).is_not(None)
    statement = (
        update(Watch)
        .where(col(Watch.onboarding_id) == onboarding_id, paused)
        .values(paused_by=by, paused_at=at)
        .returning(col(Watch.id))
    )
    return bool(session.execute(statement).all())


def _due_filter(now: datetime) -> list[ColumnElement[bool]]:
    return [
        col(Watch.paused_at).is_(None),
        or_(col(Watch.due_at) <= now, col(Watch.pending) > 0),
        or_(col(Watch.claim_expires_at).is_(None), col(Watch.claim_expires_at) <= now),
    ]


def claim_due(
    db_or_session: Database | Session,
    *,
    worker: str,
    now: datetime,
    limit: int,
    lease: timedelta,
) -> list[Watch]:
    """Atomically take up to `limit` due watches for `worker` until now + lease, oldest first
    (store/claims.py, as reminders are)."""
    if isinstance(db_or_session, Database):
        with db_or_session.session(write=True) as session:
            return claim_due(session, worker=worker, now=now, limit=limit, lease=lease)
    ids = select(col(Watch.id)).where(*_due_filter(now)).order_by(col(Watch.due_at)).limit(limit)
    values = {"claimed_by": worker, "claim_expires_at": now + lease}
    return claims.claim(db_or_session, Watch, ids, _due_filter(now), values)


def _held(session: Session, watch_id: int, worker: str) -> Watch | None:
    """The watch, locked, if `worker` still holds its claim."""
    query = select(Watch).where(Watch.id == watch_id).with_for_update()
    row = session.exec(query).first()
    if row is None or row.claimed_by != worker:
        return None
    return row


def record_run(
    session: Session,
    watch_id: int,
    *,
    worker: str,
    at: datetime,
    seen: dict[str, Any],
    due_at: datetime,
    streak: int,
    notices: Sequence[dict[str, Any]],
) -> Watch | None:
    """Keep what a run saw and when it runs next, and queue its notices (numbered in order).
    None when `worker` no longer holds the claim: another worker took over, nothing is kept."""
    row = _held(session, watch_id, worker)
    if row is None:
        return None
    outbox = list(row.outbox or [])
    for notice in notices:
        outbox.append({**notice, "seq": row.next_seq, "attempted": False})
        row.next_seq += 1
    row.seen = seen
    row.due_at = due_at
    row.streak = streak
    row.runs += 1
    row.last_run_at = at
    row.outbox = outbox
    row.pending = len(outbox)
    session.add(row)
    session.flush()
    return row


def mark_attempted(session: Session, watch_id: int, *, worker: str, seq: int) -> bool:
    """Note that a notice's post is starting: a worker that finds it so later looks in the
    channel first. False when the claim is lost or the notice is gone."""
    row = _held(session, watch_id, worker)
    if row is None or not any(n.get("seq") == seq for n in row.outbox or []):
        return False
    row.outbox = [{**n, "attempted": True} if n.get("seq") == seq else n for n in row.outbox or []]
    session.add(row)
    session.flush()
    return True


def notice_done(session: Session, watch_id: int, *, worker: str, seq: int) -> bool:
    """A notice was posted (or found posted): take it out of the outbox."""
    row = _held(session, watch_id, worker)
    if row is None:
        return False
    row.outbox = [n for n in row.outbox or [] if n.get("seq") != seq]
    row.pending = len(row.outbox)
    session.add(row)
    session.flush()
    return True


def release(
    session: Session, watch_id: int, *, worker: str, retry_at: datetime | None = None
) -> bool:
    """Give the claim back (after a run, or untried when stopping). `retry_at` holds the watch
    back until then (its notices could not be posted), as an unowned claim."""
    statement = (
        update(Watch)
        .where(col(Watch.id) == watch_id, col(Watch.claimed_by) == worker)
        .values(claimed_by=None, claim_expires_at=retry_at)
        .returning(col(Watch.id))
    )
    return bool(session.execute(statement).all())
