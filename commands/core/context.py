"""Who is asking, where and through which door (Caller), and how a handler stops with an
answer (Refused)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from commands.core.roles import Role
from commands.core.text import Text


class Door(StrEnum):
    """How a request reached the bot, spelled as the person types it."""

    SLASH = "/connect"  # the slash command: only members of the installing organisation have it
    MENTION = "@connect"  # a mention in a channel or thread: open to everyone in the channel


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
    # The door the request came through (buttons and forms count as the slash command's).
    door: Door = Door.SLASH

    @property
    def is_engineer(self) -> bool:
        return self.role is Role.ENGINEER

    @property
    def shown_door(self) -> Door:
        """The door the answers show: the one used, except that a customer contact is always
        shown mentions. Slack offers an app's slash commands only to members of the
        organisation that installed it, so for most customer contacts `/connect` is "not a
        valid command"; everyone in the channel can mention the bot."""
        return self.door if self.role is Role.ENGINEER else Door.MENTION


class Refused(Exception):
    """Raised inside a handler to stop, roll back, and answer with a Refusal."""

    def __init__(self, text: Text) -> None:
        super().__init__(text.template)
        self.text = text

    def __reduce__(self) -> tuple[type[Refused], tuple[Text]]:
        # Raised in an import's child process, it crosses back whole (args hold the template).
        return (type(self), (self.text,))
