"""Bolt listeners: ack, parse, call the command layer, render, deliver. Nothing more."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.delivery import ack_payload, deliver
from bot.mrkdwn import unescape
from bot.render import render
from commands.onboarding import Caller
from commands.results import Refusal
from commands.router import Router

log = logging.getLogger(__name__)

TROUBLE = (
    "Something went wrong on our side (reference {ref}). Nothing you typed was lost: "
    "`/connect status` shows where things stand, and the reference finds the details in our logs."
)


def register(app: App, router: Router) -> None:
    @app.command("/connect")
    def on_connect(ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        started = time.perf_counter()
        caller = Caller(
            user_id=command["user_id"],
            channel_id=command.get("channel_id"),
            team_id=command.get("team_id"),
        )
        # Slack escapes &, < and > in the text; the command layer wants what the person typed.
        parsed = router.parse(unescape(command.get("text", "")))
        if isinstance(parsed, Refusal) or router.is_pure(parsed):
            result = parsed if isinstance(parsed, Refusal) else router.handle(caller, parsed)
            ack(**ack_payload(render(result)))
            _log_outcome(parsed, result, started)
            return
        ack()
        try:
            result = router.handle(caller, parsed)
            deliver(client, respond, caller.channel_id, render(result))
        except Exception:
            ref = uuid.uuid4().hex[:12]
            log.exception("/connect %s failed (ref %s)", parsed.verb, ref)
            respond(response_type="ephemeral", text=TROUBLE.format(ref=ref))
            return
        _log_outcome(parsed, result, started)

    @app.event("message")
    def on_message() -> None:
        # Subscribed for the RFI threads; until a thread listener claims them they are noise, and
        # handling them here keeps Bolt from warning about every message in the channel.
        return None


def _log_outcome(parsed: object, result: object, started: float) -> None:
    verb = getattr(parsed, "verb", "?")
    log.info(
        "/connect %s -> %s in %.1f ms",
        verb,
        type(result).__name__,
        (time.perf_counter() - started) * 1000,
    )
