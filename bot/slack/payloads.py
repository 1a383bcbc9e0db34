"""Slack's event and interaction payloads turned into the plain values the flows take."""

from __future__ import annotations

from typing import Any

from bot.flows import FileUpload
from bot.render.mrkdwn import unescape
from commands.rfi.service import Incoming

# Message subtypes that are a person writing; everything else (joins, bot posts...) is ignored.
_PERSON_SUBTYPES = {None, "thread_broadcast"}


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
