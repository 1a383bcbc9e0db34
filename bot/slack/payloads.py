"""Slack's event and interaction payloads turned into the plain values the flows take."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.flows import FileUpload
from bot.render.mrkdwn import unescape
from commands.core.context import Caller, Door
from commands.rfi.service import Incoming

# Message subtypes that are a person writing; everything else (joins, bot posts...) is ignored.
_PERSON_SUBTYPES = {None, "thread_broadcast"}

# Slack's markup in what people type (docs.slack.dev "Formatting text for app surfaces"): a
# person (<@U123>, <@U123|jane> in an escaped slash command), a link Slack made of what was typed
# (<http://acme.com|acme.com>, <mailto:jo@acme.com|jo@acme.com>, <https://x.example>), a channel
# (<#C123|acme>) and a special mention (<!here>, <!subteam^S1|@team>). Characters people type as
# `<`, `>` and `&` arrive as &lt; &gt; &amp;, so every literal < and > here is markup.
_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>")
_LINK = re.compile(r"<([A-Za-z][A-Za-z0-9+.\-]*:[^<>|]*)(?:\|([^<>]*))?>")
_LABELLED = re.compile(r"<[#!][^<>|]*\|([^<>]*)>")
# What people put between the bot's mention and the command: "@connect: status", "@connect, ..."
_AFTER_MENTION = " \t\n:,"


def command_text(raw: str) -> str:
    """What a person typed after `/connect` or `@connect`, from the text Slack sends: links
    and e-mail addresses Slack marked up become the text typed (`<mailto:a@b|a@b>` -> `a@b`,
    `<http://x|x>` -> `x`), a person stays a mention (`<@U123>`, without the name an escaped
    slash command adds), a channel or group becomes its name, and Slack's escapes are undone."""
    text = _USER.sub(lambda m: f"<@{m.group(1)}>", raw)
    text = _LINK.sub(_typed_link, text)
    text = _LABELLED.sub(lambda m: m.group(1), text)
    return unescape(text)


def _typed_link(match: re.Match[str]) -> str:
    url, label = match.group(1), match.group(2)
    if label and label.strip():
        return label
    return url[len("mailto:") :] if url.lower().startswith("mailto:") else url


def _bot_mention(bot_user_id: str) -> re.Pattern[str]:
    return re.compile(rf"<@{re.escape(bot_user_id)}(?:\|[^<>]*)?>")


def mentions_bot(text: str | None, bot_user_id: str | None) -> bool:
    """The message mentions the bot: it is a command for the app_mention listener."""
    return bool(text and bot_user_id and _bot_mention(bot_user_id).search(text))


def slash_caller(command: dict[str, Any]) -> Caller:
    """Who typed a slash command, and where (their role is resolved later)."""
    return Caller(
        user_id=command["user_id"],
        channel_id=command.get("channel_id"),
        team_id=command.get("team_id"),
    )


@dataclass(frozen=True)
class Mention:
    """A person's message that mentions the bot: a command, answered in `thread_ts`."""

    channel_id: str
    ts: str
    thread_ts: str  # the thread it was written in, or a new one under the message itself
    user_id: str
    team_id: str | None  # the writer's own team (another organisation's, for a guest)
    text: str  # the command, as typed: the bot's mention and Slack's markup taken out

    @property
    def caller(self) -> Caller:
        return Caller(self.user_id, self.channel_id, self.team_id, door=Door.MENTION)


def mention(event: dict[str, Any], bot_user_id: str | None) -> Mention | None:
    """An app_mention event as a command, or None when it is not one to answer: written by a
    bot (this one included), an edit (Slack sends the mention again with `edited`), or files
    shared with a mention (an upload, which the RFI thread reads)."""
    if (
        not bot_user_id
        or not is_person(event, bot_user_id)
        or event.get("edited")
        or event.get("files")
        or not event.get("channel")
        or not event.get("ts")
    ):
        return None
    raw = event.get("text") or ""
    # The command follows the bot's mention; when nothing does ("status acme @connect"), it is
    # what comes before. Any further mention of the bot is left out.
    head, *rest = _bot_mention(bot_user_id).split(raw)
    tail = " ".join(part.strip() for part in rest)
    wanted = tail if tail.strip(_AFTER_MENTION) else head
    text = command_text(wanted.strip().lstrip(_AFTER_MENTION).strip())
    # Slack says which team a Slack Connect guest belongs to in user_team (team: where they
    # wrote from); either is their own, never the installing team's, for a guest.
    team = event.get("user_team") or event.get("team")
    ts = str(event["ts"])
    return Mention(
        channel_id=str(event["channel"]),
        ts=ts,
        thread_ts=str(event.get("thread_ts") or ts),
        user_id=str(event["user"]),
        team_id=str(team) if team else None,
        text=text,
    )


def team_of(body: dict[str, Any]) -> str | None:
    """The team of the person who clicked or submitted (their own, for a Slack Connect guest)."""
    return (body.get("user") or {}).get("team_id") or (body.get("team") or {}).get("id")


def file_upload(event: dict[str, Any], bot_user_id: str | None) -> FileUpload | None:
    """Files a person shared as a reply in a thread (Slack's subtype file_share)."""
    thread_ts = event.get("thread_ts")
    if (
        event.get("subtype") != "file_share"
        or event.get("bot_id")
        or not event.get("user")
        or event.get("user") == bot_user_id
        or not thread_ts
        or thread_ts == event.get("ts")
    ):
        return None
    ids = tuple(
        str(f["id"]) for f in event.get("files") or [] if isinstance(f, dict) and f.get("id")
    )
    if not ids:
        return None
    return FileUpload(event["channel"], thread_ts, event["ts"], event["user"], ids)


def is_person(message: dict[str, Any], bot_user_id: str | None) -> bool:
    """Written by a person, not by a bot (ours or another) or by Slack itself."""
    return (
        message.get("subtype") in _PERSON_SUBTYPES
        and not message.get("bot_id")
        and bool(message.get("user"))
        and message.get("user") != bot_user_id
    )


def thread_reply(event: dict[str, Any], bot_user_id: str | None) -> Incoming | None:
    """A person's reply in a thread (a message in a channel, outside threads, is not one)."""
    thread_ts = event.get("thread_ts")
    if not is_person(event, bot_user_id) or not thread_ts or thread_ts == event.get("ts"):
        return None
    if mentions_bot(event.get("text"), bot_user_id):
        return None  # a command to the bot (the app_mention listener's), not an answer
    return Incoming(
        channel_id=event["channel"],
        thread_ts=thread_ts,
        ts=event["ts"],
        user_id=event["user"],
        text=unescape(event.get("text") or ""),
    )


def edited_reply(event: dict[str, Any], bot_user_id: str | None) -> tuple[Incoming, str] | None:
    message = dict(event.get("message") or {})
    message.pop("subtype", None)  # the inner message of an edit carries no subtype of its own
    thread_ts = message.get("thread_ts")
    edited_ts = (message.get("edited") or {}).get("ts")
    if not is_person(message, bot_user_id) or not thread_ts or thread_ts == message.get("ts"):
        return None
    if not edited_ts:
        return None  # e.g. a reply count changing on the thread's parent
    if mentions_bot(message.get("text"), bot_user_id):
        return None  # now a command to the bot: the answer it replaced stands
    incoming = Incoming(
        channel_id=event["channel"],
        thread_ts=thread_ts,
        ts=message["ts"],
        user_id=message["user"],
        text=unescape(message.get("text") or ""),
    )
    return incoming, edited_ts


def clicked(body: dict[str, Any], text: str) -> Incoming | None:
    """A button click in an RFI thread, as if the person had typed `text` there."""
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    message = body.get("message") or {}
    thread_ts = message.get("thread_ts") or container.get("thread_ts")
    if not channel or not thread_ts:
        return None
    action_ts = str(body["actions"][0].get("action_ts") or message.get("ts"))
    return Incoming(channel, thread_ts, f"click:{action_ts}", body["user"]["id"], text)
