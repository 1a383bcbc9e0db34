"""What Slack tells about an onboarding's channel: archived, unarchived, the bot removed. The
onboarding keeps it, so its status says why nothing is posted there any more."""

from __future__ import annotations

import logging
from enum import StrEnum

from store import channels
from store.db import Database
from store.models import utcnow

log = logging.getLogger(__name__)


class ChannelState(StrEnum):
    ARCHIVED = "archived"
    REMOVED = "removed"  # the bot left the channel or was removed from it


class ChannelEvents:
    def __init__(self, db: Database) -> None:
        self.db = db

    def archived(self, channel_id: str, *, archived: bool = True) -> int:
        """The channel was archived (or unarchived); returns how many onboardings changed."""
        if archived:
            return self._set(channel_id, ChannelState.ARCHIVED)
        return self._set(channel_id, None, replacing=ChannelState.ARCHIVED)

    def bot_removed(self, channel_id: str) -> int:
        return self._set(channel_id, ChannelState.REMOVED)

    def _set(
        self, channel_id: str, state: ChannelState | None, replacing: ChannelState | None = None
    ) -> int:
        with self.db.session(write=True) as session:
            changed = channels.set_state(
                session, channel_id, state, at=utcnow(), replacing=replacing
            )
        if changed:
            log.info("channel %s: %s (%d onboardings)", channel_id, state or "usable", changed)
        return changed
