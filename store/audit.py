"""The audit trail: who changed what, and when. Every change to an onboarding writes one event.

`record` runs inside the caller's transaction, so an event exists exactly when its change does.
Details are plain JSON; secrets never go in (a detail key that names one is refused outright,
so a careless caller fails in tests rather than leaking in production).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from store.models import AuditEvent, utcnow

# Keys a detail may never carry, at any depth.
SECRET_KEYS = frozenset({"password", "secret", "sealed_secret", "token", "passphrase"})


class SecretInAudit(ValueError):
    """A detail named a secret; nothing is recorded."""


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]  # newest first
    total: int  # events of the onboarding in all
    page: int  # 1-based
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def record(
    session: Session,
    *,
    onboarding_id: int | None,
    actor: str,
    action: str,
    detail: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Add one event (flushed, so it has its id). `actor` is a user id or "connect-bot"."""
    data = dict(detail or {})
    _refuse_secrets(data)
    event = AuditEvent(
        onboarding_id=onboarding_id, actor=actor, action=action, detail=data, at=at or utcnow()
    )
    session.add(event)
    session.flush()
    return event


def page(session: Session, onboarding_id: int, *, number: int, per_page: int) -> AuditPage:
    """One page of an onboarding's events, newest first (ties broken by insertion order)."""
    number = max(1, number)
    total = session.exec(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.onboarding_id == onboarding_id)
    ).one()
    query = (
        select(AuditEvent)
        .where(AuditEvent.onboarding_id == onboarding_id)
        .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
        .offset((number - 1) * per_page)
        .limit(per_page)
    )
    return AuditPage(list(session.exec(query)), int(total), number, per_page)


def _refuse_secrets(value: Any) -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if str(key).lower() in SECRET_KEYS:
                raise SecretInAudit(f"audit detail key {key!r} names a secret")
            _refuse_secrets(inner)
    elif isinstance(value, list | tuple):
        for inner in value:
            _refuse_secrets(inner)
