"""Who is asking: a Connect engineer or a customer contact, decided from Slack's own answers.

The installing workspace (team, and enterprise on Enterprise Grid) comes from auth.test at
start-up. A person is an engineer when `users.info` places them in that team or enterprise, or
when CONNECT_ENGINEERS names them; anyone else (a Slack Connect guest from another
organisation) is a customer contact. `is_stranger` is not enough on its own: users.info says
where someone belongs, and a request's team id only says where the command was typed.

When Slack cannot be asked (an error, a timeout), the answer is the lesser role and it is not
remembered, so the next request asks again: a failure never grants anything.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from commands.core.context import Caller
from commands.core.roles import Role

log = logging.getLogger(__name__)

CACHE_SECONDS = 300.0  # a person's organisation does not change within minutes
CACHE_MAX = 10_000


@dataclass(frozen=True)
class Home:
    """The organisation that installed the app."""

    team_id: str | None
    enterprise_id: str | None = None

    @classmethod
    def from_auth_test(cls, response: SlackResponse) -> Home:
        return cls(team_id=response.get("team_id"), enterprise_id=response.get("enterprise_id"))


def role_from_user(user: dict[str, Any], home: Home) -> Role:
    """The role users.info's `user` object gives, for the installing organisation `home`."""
    enterprise = (user.get("enterprise_user") or {}).get("enterprise_id")
    if home.enterprise_id and enterprise == home.enterprise_id:
        return Role.ENGINEER  # any workspace of the same Enterprise Grid organisation
    if home.team_id and user.get("team_id") == home.team_id and not user.get("is_stranger"):
        return Role.ENGINEER
    return Role.CUSTOMER


class Identity:
    """Resolves roles with a short-lived cache of users.info answers (thread-safe)."""

    def __init__(
        self,
        client: WebClient,
        home: Home,
        engineers: Iterable[str] = (),
        *,
        ttl: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.home = home
        self.engineers = frozenset(engineers)
        self.ttl = ttl
        self.clock = clock
        self._cache: dict[str, tuple[float, Role]] = {}
        # The time zone from the same users.info answer, so a reminder costs no second call.
        self._zones: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def role(self, user_id: str, team_id: str | None = None) -> Role:
        """The role of `user_id`; `team_id` is the request's team (a quick negative hint)."""
        if user_id in self.engineers:
            return Role.ENGINEER
        now = self.clock()
        with self._lock:
            cached = self._cache.get(user_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        user = self._users_info(user_id)
        if user is None:
            return Role.CUSTOMER  # not cached: ask again next time
        self._remember_zone(user_id, user, now)
        role = role_from_user(user, self.home)
        if role is Role.ENGINEER and team_id and not self._same_org(team_id, user):
            # The request came through another organisation's workspace: trust the lesser.
            role = Role.CUSTOMER
        with self._lock:
            if len(self._cache) >= CACHE_MAX:
                self._cache.clear()  # crude, but bounded; a refill costs one call per person
            self._cache[user_id] = (now + self.ttl, role)
        return role

    def guess(
        self, user_id: str, team_id: str | None = None, enterprise_id: str | None = None
    ) -> Role:
        """The likely role without asking Slack, for what only shapes a message answered inside
        the ack (help's list of verbs): CONNECT_ENGINEERS, a remembered answer, or else where the
        request came from. Never for a permission: the verbs ask `role` before they act."""
        if user_id in self.engineers:
            return Role.ENGINEER
        with self._lock:
            cached = self._cache.get(user_id)
        if cached is not None and cached[0] > self.clock():
            return cached[1]
        home = (team_id and team_id == self.home.team_id) or (
            enterprise_id and enterprise_id == self.home.enterprise_id
        )
        return Role.ENGINEER if home else Role.CUSTOMER

    def zone(self, user_id: str) -> str | None:
        """The person's IANA time zone ("Europe/London"); None when Slack does not say (UTC).
        Usually already known from the users.info call that decided the role."""
        now = self.clock()
        with self._lock:
            cached = self._zones.get(user_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        user = self._users_info(user_id)
        if user is None:
            return None
        return self._remember_zone(user_id, user, now)

    def _remember_zone(self, user_id: str, user: dict[str, Any], now: float) -> str | None:
        tz = user.get("tz") if isinstance(user.get("tz"), str) else None
        with self._lock:
            if len(self._zones) >= CACHE_MAX:
                self._zones.clear()
            self._zones[user_id] = (now + self.ttl, tz)
        return tz

    def caller(
        self, user_id: str, channel_id: str | None = None, team_id: str | None = None
    ) -> Caller:
        """A Caller with its role resolved: for listeners (buttons, reminders) that build one.

        It may call users.info, so listeners call it on the worker pool, after the ack."""
        return Caller(user_id, channel_id, team_id, role=self.role(user_id, team_id))

    def forget(self, user_id: str | None = None) -> None:
        with self._lock:
            if user_id is None:
                self._cache.clear()
                self._zones.clear()
            else:
                self._cache.pop(user_id, None)
                self._zones.pop(user_id, None)

    def _same_org(self, team_id: str, user: dict[str, Any]) -> bool:
        if team_id == self.home.team_id:
            return True
        # On Grid a command may come through another workspace of the same organisation.
        enterprise = (user.get("enterprise_user") or {}).get("enterprise_id")
        return bool(self.home.enterprise_id) and enterprise == self.home.enterprise_id

    def _users_info(self, user_id: str) -> dict[str, Any] | None:
        try:
            response = self.client.users_info(user=user_id)
        except SlackApiError as exc:
            log.warning(
                "users.info failed (%s); treating the user as a customer contact",
                exc.response.get("error"),
            )
            return None
        except Exception as exc:  # a timeout or a refused connection: fail closed
            log.warning(
                "users.info failed (%s); treating the user as a customer contact",
                type(exc).__name__,
            )
            return None
        user = response.get("user")
        return user if isinstance(user, dict) else None
