"""Reads for the onboarding report: everything recorded about one onboarding, in the order the
report shows it. Read-only; bounded where a long-lived onboarding could grow without end."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from store.models import AuditEvent, CheckRun, Credential, Reminder


@dataclass(frozen=True)
class Trail:
    events: list[AuditEvent]  # oldest first: the newest `limit` of them
    total: int  # events of the onboarding in all


def check_runs(session: Session, onboarding_id: int, *, limit: int) -> list[CheckRun]:
    """The newest `limit` check runs, newest first: the report keeps each check's latest result
    per subject, so older runs only matter for checks that newer runs did not repeat."""
    query = (
        select(CheckRun)
        .where(CheckRun.onboarding_id == onboarding_id)
        .order_by(col(CheckRun.run_at).desc(), col(CheckRun.id).desc())
        .limit(limit)
    )
    return list(session.exec(query))


def reminders(session: Session, onboarding_id: int, *, limit: int) -> list[Reminder]:
    """Every reminder, whatever its state, in due order (the first `limit`)."""
    query = (
        select(Reminder)
        .where(Reminder.onboarding_id == onboarding_id)
        .order_by(col(Reminder.due_at), col(Reminder.id))
        .limit(limit)
    )
    return list(session.exec(query))


def trail(session: Session, onboarding_id: int, *, limit: int) -> Trail:
    """The audit trail oldest first; of a longer one, the newest `limit` events."""
    newest = (
        select(AuditEvent)
        .where(AuditEvent.onboarding_id == onboarding_id)
        .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
        .limit(limit)
    )
    events = list(session.exec(newest))
    events.reverse()
    total = len(events)
    if total == limit:
        counted = (
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.onboarding_id == onboarding_id)
        )
        total = int(session.exec(counted).one())
    return Trail(events, total)


@dataclass(frozen=True)
class Login:
    kind: str
    host: str
    port: int
    username: str
    set_by: str
    set_at: datetime


def logins(session: Session, onboarding_id: int) -> list[Login]:
    """The stored logins without their secret: the sealed secret is not even read, so no
    report can carry it."""
    query = (
        # SQLAlchemy's select: sqlmodel's is typed for four columns at most.
        sa_select(
            col(Credential.kind),
            col(Credential.host),
            col(Credential.port),
            col(Credential.username),
            col(Credential.set_by),
            col(Credential.set_at),
        )
        .where(col(Credential.onboarding_id) == onboarding_id)
        .order_by(col(Credential.kind))
    )
    return [Login(*row) for row in session.execute(query)]
