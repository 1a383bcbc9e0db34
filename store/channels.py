"""What Slack told about an onboarding's channel: archived, or the bot removed from it."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from store.models import Onboarding


def set_state(
    session: Session,
    channel_id: str,
    state: str | None,
    *,
    at: datetime,
    replacing: str | None = None,
) -> int:
    """Record on every open onboarding of a channel why the bot cannot work there ("archived",
    "removed"), or None when it can again; with `replacing`, only where that is the state now
    (an unarchive does not undo a removal). Returns how many onboardings changed."""
    rows = session.exec(
        select(Onboarding).where(
            Onboarding.channel_id == channel_id, col(Onboarding.closed_at).is_(None)
        )
    ).all()
    changed = 0
    for row in rows:
        if row.channel_state != state and (replacing is None or row.channel_state == replacing):
            row.channel_state = state
            row.channel_state_at = at
            session.add(row)
            changed += 1
    session.flush()
    return changed
