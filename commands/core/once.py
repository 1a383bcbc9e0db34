"""Acting once on what Slack may deliver more than once: an event whose ack came late is sent
again (same message, a retry header), and must not run its command twice."""

from __future__ import annotations

from store import rfi as processed
from store.db import Database


def first_time(db: Database, key: str) -> bool:
    """Record that `key` (e.g. "mention:<channel>:<ts>") is being acted on; False if it was."""
    with db.session(write=True) as session:
        return processed.first_time(session, key)
