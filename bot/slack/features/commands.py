"""`/connect`: parse, answer pure verbs in the ack, run the rest on the pool."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot import logs
from bot.flows import run_command
from bot.render.mrkdwn import unescape
from bot.render.renderer import Renderable, render
from bot.slack.delivery import SlackSurface, ack_payload
from bot.slack.runner import Runner
from bot.slack.view_seal import ViewSeal
from commands.core.context import Caller
from commands.credentials import CredentialForm
from commands.replies import Refusal
from commands.router import Router
from commands.services import Services

if TYPE_CHECKING:
    from commands.replies import Reply

log = logging.getLogger(__name__)


def register(
    app: App,
    router: Router,
    services: Services,
    runner: Runner,
    seal: ViewSeal,
    engineers_channel: str | None,
) -> None:
    @app.command("/connect")
    def on_connect(ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        parsed = router.parse(_text(command))
        logs.bind(verb=getattr(parsed, "verb", None) or "unparsed")
        caller = _caller(command)
        if isinstance(parsed, Refusal) or router.is_pure(parsed):
            # No I/O needed: the answer goes back in the ack itself (with the role guessed
            # without a users.info call: a pure verb only lists, it changes nothing).
            guessed = runner.identity.guess(
                caller.user_id, caller.team_id, command.get("enterprise_id")
            )
            caller = replace(caller, role=guessed)
            result = parsed if isinstance(parsed, Refusal) else router.handle(caller, parsed)
            assert not isinstance(result, CredentialForm)  # a pure verb opens no form
            ack(**ack_payload(render(result)))
            logs.bind(outcome="refused" if isinstance(result, Refusal) else "ok")
            log.info("/connect %s -> %s", getattr(parsed, "verb", "?"), type(result).__name__)
            return
        ack()
        surface = SlackSurface(client, respond, command.get("trigger_id"), seal)

        def job() -> Reply | Renderable:  # what it returns becomes the request's logged outcome
            who = runner.with_role(caller)
            # Only a verb that reads a time needs the person's zone (one users.info, cached).
            if router.verbs[parsed.verb].needs_zone:
                who = replace(who, tz=runner.identity.zone(caller.user_id))
            return run_command(
                router, services, surface, who, parsed, engineers_channel=engineers_channel
            )

        runner.later(f"/connect {parsed.verb}", respond, job)


def _text(command: dict[str, Any]) -> str:
    # Slack escapes &, < and > in the text; the command layer wants what the person typed.
    return unescape(command.get("text", ""))


def _caller(command: dict[str, Any]) -> Caller:
    return Caller(
        user_id=command["user_id"],
        channel_id=command.get("channel_id"),
        team_id=command.get("team_id"),
    )
