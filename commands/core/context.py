"""Who is asking and where (Caller), and how a handler stops with an answer (Refused)."""

from __future__ import annotations

from dataclasses import dataclass

from commands.core.roles import Role
from commands.core.text import Text


@dataclass(frozen=True)
class Caller:
    """Who asked, and where: the plain values every handler needs."""

    user_id: str
    channel_id: str | None = None
    team_id: str | None = None
    # The person's IANA time zone (Slack's users.info tz), for times they type; None: UTC.
    tz: str | None = None
    # Least privilege unless the transport says otherwise: Slack resolves it per request
    # (bot/identity.py); the local shell and the CLI speak as engineers.
    role: Role = Role.CUSTOMER

    @property
    def is_engineer(self) -> bool:
        return self.role is Role.ENGINEER


class Refused(Exception):
    """Raised inside a handler to stop, roll back, and answer with a Refusal."""

    def __init__(self, text: Text) -> None:
        super().__init__(text.template)
        self.text = text
