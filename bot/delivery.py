"""Post a rendered message where it belongs: the channel for public results, else only the asker."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.render import Message

log = logging.getLogger(__name__)

# The bot cannot post there itself, but the slash command's response_url still can.
_CANNOT_POST = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}


def ack_payload(message: Message) -> dict[str, Any]:
    """The body of a slash command's HTTP answer (and of a response_url post)."""
    return {
        "response_type": "in_channel" if message.public else "ephemeral",
        "text": message.text,
        "blocks": message.blocks_json(),
    }


def deliver(client: WebClient, respond: Respond, channel_id: str | None, message: Message) -> None:
    if not (message.public and channel_id):
        respond(**ack_payload(message))
        return
    try:
        client.chat_postMessage(
            channel=channel_id,
            text=message.text,
            blocks=message.blocks_json(),
            unfurl_links=False,
            unfurl_media=False,
        )
    except SlackApiError as exc:
        error = exc.response.get("error")
        if error not in _CANNOT_POST:
            raise
        log.info("chat.postMessage refused (%s); answering through response_url", error)
        respond(**ack_payload(message))
        respond(
            response_type="ephemeral",
            text="Invite the bot to this channel (`/invite @connect`) so that it can post "
            "reminders and read answers in its threads here.",
        )
