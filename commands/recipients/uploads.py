"""Which onboarding a file uploaded into a thread belongs to: the one whose RFI runs there."""

from __future__ import annotations

from store import rfi as rfi_store
from store.db import Database
from store.models import Onboarding


def upload_target(db: Database, channel_id: str, thread_ts: str, ts: str) -> str | None:
    """The onboarding key for an upload in (channel, thread), once per upload message: Slack
    re-delivers events it thinks were missed, and a file must not be imported twice."""
    with db.session(write=True) as session:
        thread = rfi_store.thread_at(session, channel_id, thread_ts)
        if thread is None:
            return None
        if not rfi_store.first_time(session, f"file:{channel_id}:{ts}"):
            return None
        onboarding = session.get(Onboarding, thread.onboarding_id)
        return onboarding.key if onboarding is not None else None
