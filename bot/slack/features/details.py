"""The *Details* button under a check report: the evidence of its runs, as a thread reply.

Ack at once; then, on the pool, read the runs the button names from the store, for a clicker
allowed to see their onboarding (commands/checks/details.py asks the one access function, so a
customer contact of another organisation may press it in their own channel, and a value copied
from another channel's report gets the same refusal as a typed key). The reply goes in the
report's thread; when the report was only shown to the clicker (the bot is not in the channel),
the evidence is too.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.flows import CannotPost
from bot.render.buttons import CheckAction, value_of
from bot.render.renderer import render
from bot.slack.delivery import SlackSurface
from bot.slack.payloads import team_of
from bot.slack.runner import Runner
from commands.checks.details import CheckDetailsService, run_ids_of
from commands.core.context import Caller

log = logging.getLogger(__name__)


def register(app: App, details: CheckDetailsService, runner: Runner) -> None:
    @app.action(CheckAction.DETAILS.value)
    def on_details_button(
        ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        container = body.get("container") or {}
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
        user = (body.get("user") or {}).get("id")
        runs = run_ids_of(str(value_of((body.get("actions") or [{}])[0]).get("runs", "")))
        if not channel or not user:
            log.info("details button without a channel or a user; ignored")
            return
        caller = Caller(user_id=user, channel_id=str(channel), team_id=team_of(body))
        # The report's thread: its own, or the one it was posted in (a mention's thread).
        thread = container.get("thread_ts") or container.get("message_ts")
        surface = SlackSurface(client, respond)

        def show() -> None:
            message = render(details.details(runner.with_role(caller), runs))
            if container.get("is_ephemeral") or not thread:
                surface.tell(message)
                return
            try:
                surface.post(str(channel), message, str(thread))
            except CannotPost:
                surface.tell(message)

        runner.later("check details button", respond, show)
