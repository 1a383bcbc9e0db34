"""Slack mrkdwn: escaping people's text, Slack's special syntax for users and dates, plain text."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from commands.text import Code, Text, UserRef, Value, When

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")


class Mrkdwn(str):
    """Text already in mrkdwn: the renderer inserts it as it is, without escaping again."""

    __slots__ = ()


def escape(text: str) -> str:
    """Slack's three control characters; with them escaped no text can ping or link anyone."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """Undo Slack's escaping of a command's or message's text: people typed `&`, not `&amp;`."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def user(user_id: str) -> Mrkdwn:
    # Only well-formed ids become mentions; anything else is shown as the text it is.
    return Mrkdwn(f"<@{user_id}>") if _USER_ID.match(user_id) else Mrkdwn(escape(user_id))


def utc_fallback(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%-d %b %Y %H:%M UTC")


def when(at: datetime, style: str = "{date_short_pretty} {time}") -> Mrkdwn:
    """A time every reader sees in their own time zone; the fallback is UTC."""
    return Mrkdwn(f"<!date^{int(at.timestamp())}^{style}|{utc_fallback(at)}>")


def day(at: datetime) -> Mrkdwn:
    return when(at, "{date_short_pretty}")


def code(text: str) -> Mrkdwn:
    return Mrkdwn("`" + escape(text.replace("`", "'")) + "`")


def value(item: Value) -> Mrkdwn:
    """Render one typed value of a Text; plain strings are escaped."""
    match item:
        case Mrkdwn():
            return item
        case str():
            return Mrkdwn(escape(item))
        case bool():
            return Mrkdwn("yes" if item else "no")
        case int():
            return Mrkdwn(f"{item:,}")
        case UserRef(user_id=uid):
            return user(uid)
        case When(at=at):
            return when(at)
        case Code(text=literal):
            return code(literal)
        case Text():
            return text(item)
    raise TypeError(f"cannot render {type(item).__name__}")


def text(message: Text) -> Mrkdwn:
    return Mrkdwn(message.template.format_map({k: value(v) for k, v in message.values.items()}))


_DATE = re.compile(r"<!date\^[^|>]*\|([^>]*)>")
_MENTION = re.compile(r"<([@#!])([^|>]+)(?:\|([^>]*))?>")
_LINK = re.compile(r"<([^@#!][^|>]*)\|([^>]*)>")


def to_plain(mrkdwn: str) -> str:
    """What a terminal shows for a Slack message: dates as UTC, mentions as @id, no markup."""
    out = _DATE.sub(r"\1", mrkdwn)
    out = _MENTION.sub(lambda m: m.group(3) or (m.group(1).replace("!", "@") + m.group(2)), out)
    out = _LINK.sub(r"\2 (\1)", out)
    out = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"\1", out)
    return unescape(out)
