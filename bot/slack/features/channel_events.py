"""Slack's news about channels: archived, unarchived, the bot removed or leaving. The onboarding
bound to the channel records it (its status shows it); nothing is said in the channel, which
the bot can no longer post in."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext

from bot.slack.runner import Runner
from commands.channel_state import ChannelEvents

log = logging.getLogger(__name__)


def register(app: App, events: ChannelEvents, runner: Runner) -> None:
    def later(what: str, job: Any) -> None:
        runner.later(what, None, job)

    @app.event("channel_archive")
    @app.event("group_archive")
    def on_archive(event: dict[str, Any]) -> None:
        channel = str(event.get("channel") or "")
        if channel:
            later("channel archived", lambda: events.archived(channel))

    @app.event("channel_unarchive")
    @app.event("group_unarchive")
    def on_unarchive(event: dict[str, Any]) -> None:
        channel = str(event.get("channel") or "")
        if channel:
            later("channel unarchived", lambda: events.archived(channel, archived=False))

    @app.event("channel_left")
    @app.event("group_left")
    def on_bot_left(event: dict[str, Any]) -> None:
        # Sent to the bot itself when it leaves or is removed from a channel.
        channel = str(event.get("channel") or "")
        if channel:
            later("bot removed", lambda: events.bot_removed(channel))

    @app.event("member_left_channel")
    def on_member_left(event: dict[str, Any], context: BoltContext) -> None:
        channel = str(event.get("channel") or "")
        if channel and event.get("user") and event.get("user") == context.bot_user_id:
            later("bot removed", lambda: events.bot_removed(channel))
