"""Slack mrkdwn: escaping people's text, Slack's special syntax for users and dates, plain text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from commands.core.text import ChannelRef, Code, Command, Text, UserRef, Value, When

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")

# How the reader of what is being rendered reaches the bot: "/connect" (an engineer's slash
# command) or "@connect" (a mention: the only door a customer contact of another organisation
# has, and one every member of the channel has). Set for one rendering by `door()`: the answer
# to a slash command says /connect; whatever else the channel reads (reminders, the watch's
# notices, an import's report, the RFI thread) says @connect, which everyone there can use.
_DOOR: ContextVar[str] = ContextVar("door", default="@connect")


@contextmanager
def door(spelled: str | None) -> Iterator[None]:
    """Render the commands inside as `spelled` ("/connect" or "@connect"; None: unchanged)."""
    if spelled is None:
        yield
        return
    token = _DOOR.set(spelled)
    try:
        yield
    finally:
        _DOOR.reset(token)


def command(verb: str) -> Mrkdwn:
    """A command to type, with the reader's door in front, as inline code."""
    return code(f"{_DOOR.get()} {verb}".rstrip())


class Mrkdwn(str):
    """Text already in mrkdwn: the renderer inserts it as it is, without escaping again."""

    __slots__ = ()


# mrkdwn has no escape for its formatting markers (docs.slack.dev "Formatting message text":
# only &, < and > are escaped), so a marker a person typed becomes a look-alike Slack does not
# format. Not an invisible joiner: it would ride along into every copy. Not `<!date^0^{_}|*>`:
# Android misrenders it (yhatt/jsx-slack#187). Slack formats with full-width markers too.
_LOOKALIKES = {
    "*": "\u2217",  # ASTERISK OPERATOR
    "_": "\u02cd",  # MODIFIER LETTER LOW MACRON
    "~": "\u223c",  # TILDE OPERATOR
    "`": "\u02cb",  # MODIFIER LETTER GRAVE ACCENT
    "\uff0a": "\ufe61",  # full-width asterisk -> SMALL ASTERISK
    "\uff3f": "\u2e0f",  # full-width low line -> PARAGRAPHOS
    "\uff40": "\u2035",  # full-width grave accent -> REVERSED PRIME
}
_ORIGINALS = str.maketrans({shown: typed for typed, shown in _LOOKALIKES.items()})
# A marker opens or closes only at a word's edge, so `_` between letters or digits
# (first_last@acme.com) stays as typed. Whether `*` and `~` pair inside a word is not settled,
# so they, like backticks, are always swapped.
_MARKERS = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|[*~`\uff0a\uff3f\uff40]")


def _controls(text: str) -> str:
    """Slack's three control characters; with them escaped no text can ping or link anyone."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape(text: str) -> str:
    """Text a person typed (or any data) as mrkdwn that Slack shows as it is: no mention, no
    link, no bold, italic, strike or code."""
    return _MARKERS.sub(lambda m: _LOOKALIKES[m.group()], _controls(text))


def unescape(text: str) -> str:
    """Undo Slack's escaping of a command's or message's text: people typed `&`, not `&amp;`."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def as_typed(text: str) -> str:
    """Undo escape() for plain text (headers, modal errors, the shell): the characters typed."""
    return unescape(text.translate(_ORIGINALS))


def user(user_id: str) -> Mrkdwn:
    # Only well-formed ids become mentions; anything else is shown as the text it is.
    return Mrkdwn(f"<@{user_id}>") if _USER_ID.match(user_id) else Mrkdwn(escape(user_id))


_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,30}$")


def channel(channel_id: str) -> Mrkdwn:
    """A link to a channel for a Slack channel id; anything else is shown escaped, as text."""
    if _CHANNEL_ID.match(channel_id):
        return Mrkdwn(f"<#{channel_id}>")
    return Mrkdwn(escape(channel_id))


def utc_fallback(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%-d %b %Y %H:%M UTC")


def when(at: datetime, style: str = "{date_short_pretty} {time}") -> Mrkdwn:
    """A time every reader sees in their own time zone; the fallback is UTC."""
    return Mrkdwn(f"<!date^{int(at.timestamp())}^{style}|{utc_fallback(at)}>")


def day(at: datetime) -> Mrkdwn:
    return when(at, "{date_short_pretty}")


def code(text: str) -> Mrkdwn:
    # One span per line: an inline code span is not sure to reach over a line break, and a span
    # left open would let the text after it be formatted.
    return Mrkdwn("\n".join(f"`{literal(line)}`" if line else "" for line in text.split("\n")))


def literal(text: str) -> Mrkdwn:
    """Text inside a code span or a ``` block, where Slack formats nothing: only a backtick
    (which would end it) is swapped, so what is copied from there is exact."""
    return Mrkdwn(_controls(text).replace("`", _LOOKALIKES["`"]))


def authored(text: str) -> Mrkdwn:
    """The product's own wording that uses mrkdwn on purpose (a question's prompt); never for
    anything a person typed."""
    return Mrkdwn(_controls(text))


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
        case ChannelRef(channel_id=cid):
            return channel(cid)
        case When(at=at):
            return when(at)
        case Code(text=literal):
            return code(literal)
        case Command(text=verb):
            return command(verb)
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
    return as_typed(out)
