"""`member_joined_channel`: whoever joins a channel that runs an onboarding is told, once and
only to them (an ephemeral message), what they can do there and how; the bot being added to
such a channel says it once to the channel. Nothing is said in a channel with no onboarding."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import logs
from bot.render.renderer import render
from bot.slack.runner import Runner
from commands.core.context import Caller, Door
from commands.onboarding.welcome import welcome
from commands.services import Services

log = logging.getLogger(__name__)


def register(app: App, services: Services, runner: Runner) -> None:
    @app.event("member_joined_channel")
    def on_join(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        user, channel = event.get("user"), event.get("channel")
        if not isinstance(user, str) or not isinstance(channel, str):
            logs.bind(outcome="ignored")
            return
        bot_added = user == context.bot_user_id
        # Their own team (another organisation's for a Slack Connect guest); users.info decides.
        team = event.get("user_team") or event.get("team")
        joined = Caller(user, channel, team if isinstance(team, str) else None, door=Door.MENTION)

        def job() -> None:
            who = joined if bot_added else runner.with_role(joined)
            greeting = welcome(services.db, who, bot_added=bot_added)
            if greeting is None:
                return
            message = render(greeting)
            try:
                if bot_added:
                    client.chat_postMessage(
                        channel=channel, text=message.text, blocks=message.blocks_json()
                    )
                else:
                    client.chat_postEphemeral(
                        channel=channel, user=user, text=message.text, blocks=message.blocks_json()
                    )
            except SlackApiError as exc:  # a welcome is a courtesy: nothing else depends on it
                log.info("welcome not delivered in %s: %s", channel, exc.response.get("error"))

        runner.later("welcome", None, job)
