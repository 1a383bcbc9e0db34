"""The *Close* button under "Close acme?": the same as typing `close acme --yes`.

The click runs that command as the person who clicked, through the router, so it is authorised
exactly as typing it would be: only an engineer may close (the verb's roles), and only an
onboarding the access rule lets them act on (commands/core/access.py); anyone else gets the
refusal they would get for typing it. The key in the button's value is checked like a typed one.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.flows import run_command
from bot.render.buttons import CloseAction, value_of
from bot.slack.delivery import SlackSurface
from bot.slack.payloads import team_of
from bot.slack.runner import Runner
from commands.core.context import Caller
from commands.grammar import Command
from commands.replies import Closed
from commands.router import Router
from commands.services import Services

log = logging.getLogger(__name__)


def register(app: App, router: Router, services: Services, runner: Runner) -> None:
    @app.action(CloseAction.CONFIRM.value)
    def on_close_button(
        ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        key = str(value_of((body.get("actions") or [{}])[0]).get("key") or "")
        container = body.get("container") or {}
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
        user_id = (body.get("user") or {}).get("id")
        if not (key and channel and user_id):
            log.info("close button without a key, channel or user; ignored")
            return
        caller = Caller(user_id=user_id, channel_id=channel, team_id=team_of(body))
        surface = SlackSurface(client, respond)

        def job() -> object:
            command = Command("close", (key,), {"yes": True})
            who = runner.with_role(caller)
            thread = container.get("thread_ts")  # a question asked in a mention's thread
            result = run_command(router, services, surface, who, command, thread_ts=thread)
            if isinstance(result, Closed):  # the question is answered: take it away
                respond(delete_original=True)
            return result

        runner.later("close button", respond, job)
