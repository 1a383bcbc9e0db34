"""Bolt listeners: ack, parse, call the command layer, render, deliver. Nothing more."""

from __future__ import annotations

import logging
import uuid
from concurrent.futures import Executor
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.delivery import ack_payload, deliver
from bot.mrkdwn import unescape
from bot.render import render
from commands.grammar import Command
from commands.onboarding import Caller
from commands.results import Refusal
from commands.router import Router

log = logging.getLogger(__name__)

TROUBLE = (
    "Something went wrong on our side (reference {ref}). Nothing you typed was lost: "
    "`/connect status` shows where things stand, and the reference finds the details in our logs."
)


def register(app: App, router: Router, work: Executor) -> None:
    """`work` runs what follows an ack (the store, the Web API), after Slack has its HTTP 200."""

    @app.command("/connect")
    def on_connect(ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        parsed = router.parse(_text(command))
        caller = _caller(command)
        if isinstance(parsed, Refusal) or router.is_pure(parsed):
            # No I/O needed: the answer goes back in the ack itself.
            result = parsed if isinstance(parsed, Refusal) else router.handle(caller, parsed)
            ack(**ack_payload(render(result)))
            _log_outcome(parsed, result)
            return
        ack()
        work.submit(_run_command, router, caller, parsed, respond, client)

    @app.event("message")
    def on_message() -> None:
        # Subscribed for the RFI threads; until a thread listener claims them they are noise, and
        # handling them here keeps Bolt from warning about every message in the channel.
        return None


def _run_command(
    router: Router, caller: Caller, command: Command, respond: Respond, client: WebClient
) -> None:
    try:
        result = router.handle(caller, command)
        deliver(client, respond, caller.channel_id, render(result))
    except Exception:
        ref = uuid.uuid4().hex[:12]
        log.exception("/connect %s failed (ref %s)", command.verb, ref)
        respond(response_type="ephemeral", text=TROUBLE.format(ref=ref))
        return
    _log_outcome(command, result)


def _text(command: dict[str, Any]) -> str:
    # Slack escapes &, < and > in the text; the command layer wants what the person typed.
    return unescape(command.get("text", ""))


def _caller(command: dict[str, Any]) -> Caller:
    return Caller(
        user_id=command["user_id"],
        channel_id=command.get("channel_id"),
        team_id=command.get("team_id"),
    )


def _log_outcome(parsed: object, result: object) -> None:
    log.info("/connect %s -> %s", getattr(parsed, "verb", "?"), type(result).__name__)
