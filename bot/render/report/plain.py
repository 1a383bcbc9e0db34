"""A command's Text as plain characters, for documents that do their own escaping (HTML, Markdown):
a user is their id, a time is UTC, code is its literal text. Nothing here is markup."""

from __future__ import annotations

from datetime import UTC, datetime

from commands.core.text import ChannelRef, Code, Command, Text, UserRef, Value, When


def utc(at: datetime | None) -> str:
    """A stored time as the report prints it: one zone for every reader of a printed page."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if at else ""


def plain(item: Value | None) -> str:
    match item:
        case None:
            return ""
        case bool():
            return "yes" if item else "no"
        case str():
            return item
        case int():
            return f"{item:,}"
        case UserRef(user_id=uid):
            return uid
        case When(at=at):
            return utc(at)
        case ChannelRef(channel_id=cid):
            return cid
        case Code(text=literal):
            return literal
        case Command(text=verb):
            return f"/connect {verb}".rstrip()  # the report is for the team's records
        case Text():
            return item.template.format_map({k: plain(v) for k, v in item.values.items()})
    raise TypeError(f"cannot show {type(item).__name__} as text")
