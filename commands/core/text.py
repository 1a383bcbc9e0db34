"""Messages as templates plus typed values, so the transport decides how each value is shown.

commands/ never builds Slack markup: a user id is a UserRef, a time is a When, and every plain
string (often typed by a person) is escaped by whoever renders it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias


@dataclass(frozen=True)
class UserRef:
    user_id: str


@dataclass(frozen=True)
class When:
    at: datetime


@dataclass(frozen=True)
class ChannelRef:
    """A Slack channel, shown as a link to it."""

    channel_id: str


@dataclass(frozen=True)
class Command:
    """A verb form the person can type, without its door ("check acme"): the renderer puts
    the door in front, `/connect` or `@connect`, as whoever reads it can use it."""

    text: str


@dataclass(frozen=True)
class Code:
    """A literal the user should type or look for, shown as inline code."""

    text: str


class Text:
    """A str.format template whose fields are filled by the renderer, never by the caller."""

    def __init__(self, template: str, **values: Value) -> None:
        self.template = template
        self.values = values

    def __repr__(self) -> str:
        return f"Text({self.template!r}, {self.values!r})"


Value: TypeAlias = "str | int | UserRef | ChannelRef | When | Code | Command | Text"
