"""People's time zones from Slack's users.info, cached: a reminder's time is read in the zone of
the person who typed it. Fetched only for the verbs that read a time (`remind`)."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

TTL_SECONDS = 3_600.0  # people travel; an hour-old zone is fine for a reminder
MAX_ENTRIES = 2_000


class UserZones:
    def __init__(self, ttl: float = TTL_SECONDS, max_entries: int = MAX_ENTRIES) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._zones: OrderedDict[str, tuple[str | None, float]] = OrderedDict()

    def get(self, client: WebClient, user_id: str) -> str | None:
        """The user's IANA zone ("Europe/London"), or None when Slack does not say (then UTC)."""
        now = time.monotonic()
        with self._lock:
            cached = self._zones.get(user_id)
            if cached is not None and now - cached[1] < self.ttl:
                self._zones.move_to_end(user_id)
                return cached[0]
        try:
            user = client.users_info(user=user_id).get("user") or {}
            tz = user.get("tz") if isinstance(user.get("tz"), str) else None
        except SlackApiError as exc:  # e.g. missing users:read: read the time as UTC
            log.warning(
                "users.info failed (%s); reading the time as UTC", exc.response.get("error")
            )
            return None
        with self._lock:
            self._zones[user_id] = (tz, now)
            self._zones.move_to_end(user_id)
            while len(self._zones) > self.max_entries:
                self._zones.popitem(last=False)
        return tz
