"""`/connect`: parse, answer pure verbs in the ack, run the rest on the pool. (`@connect`
mentions take the same path through features/mentions.py.)"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot import logs
from bot.flows import run_command
from bot.render.renderer import Renderable, render
from bot.slack.delivery import SlackSurface, ack_payload
from bot.slack.payloads import command_text, slash_caller
from bot.slack.runner import Runner
from bot.slack.view_seal import ViewSeal
from commands.credentials import CredentialForm
from commands.replies import Refusal
from commands.report.model import OnboardingReport
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
        # The role guessed without a users.info call: it only shapes what an answer in the ack
        # shows (a pure verb lists, it changes nothing); the work on the pool asks Slack.
        guessed = runner.identity.guess(
            command["user_id"], command.get("team_id"), command.get("enterprise_id")
        )
        caller = replace(slash_caller(command), role=guessed)
        parsed = router.parse(command_text(command.get("text", "")), caller.shown_door)
        logs.bind(verb=getattr(parsed, "verb", None) or "unparsed")
        if isinstance(parsed, Refusal) or router.is_pure(parsed):
            # No I/O needed: the answer goes back in the ack itself.
            result = parsed if isinstance(parsed, Refusal) else router.handle(caller, parsed)
            # A pure verb opens no form and shares no file.
            assert not isinstance(result, CredentialForm | OnboardingReport)
            ack(**ack_payload(render(result)))
            logs.bind(outcome="refused" if isinstance(result, Refusal) else "ok")
            log.info("/connect %s -> %s", getattr(parsed, "verb", "?"), type(result).__name__)
            return
        ack()
        surface = SlackSurface(client, respond, command.get("trigger_id"), seal)
        zone = router.verbs[parsed.verb].needs_zone

        def job() -> Reply | Renderable:  # what it returns becomes the request's logged outcome
            who = runner.resolve(caller, zone=zone)
            return run_command(
                router, services, surface, who, parsed, engineers_channel=engineers_channel
            )

        runner.later(f"/connect {parsed.verb}", respond, job)
