"""The Done, Snooze 1 day and Snooze 1 week buttons on a posted reminder.

Ack at once; then, on the pool, act through ReminderService and `chat.update` the reminder's
message in place to say who did what and when (or until when). The button's value is the
reminder's id; the service checks the clicker may act on the reminder's onboarding (as for a
command) and that the click came from the reminder's own channel, so a forged value cannot reach
another onboarding's reminders.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.render.buttons import ReminderAction
from bot.render.renderer import render
from bot.slack.payloads import team_of
from bot.slack.runner import Runner
from commands.core.context import Caller
from commands.reminders.service import ReminderService
from commands.replies import ReminderDone, ReminderSnoozed

log = logging.getLogger(__name__)

ACTIONS = re.compile("^(" + "|".join(a.value for a in ReminderAction) + ")$")


def register(app: App, reminders: ReminderService, runner: Runner) -> None:
    @app.action(ACTIONS)
    def on_reminder_button(
        ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        click = _click(body)
        if click is None:
            log.info("reminder button without a reminder id or message; ignored")
            return
        action, reminder_id, channel_id, ts, caller = click

        def act() -> None:
            who = runner.with_role(caller)
            result: ReminderDone | ReminderSnoozed
            if action is ReminderAction.DONE:
                result = reminders.done(who, reminder_id)
            else:
                result = reminders.snooze(who, reminder_id, action.value.rpartition("_")[2])
            message = render(result)
            client.chat_update(
                channel=channel_id, ts=ts, text=message.text, blocks=message.blocks_json()
            )
            log.info("reminder #%s: %s by %s", reminder_id, action.value, caller.user_id)

        runner.later(f"reminder button {action.value}", respond, act)


def _click(body: dict[str, Any]) -> tuple[ReminderAction, int, str, str, Caller] | None:
    action = (body.get("actions") or [{}])[0]
    reminder_id = reminder_id_of(action.get("value"))
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel_id = (body.get("channel") or {}).get("id") or container.get("channel_id")
    ts = container.get("message_ts") or message.get("ts")
    user_id = (body.get("user") or {}).get("id")
    if reminder_id is None or not channel_id or not ts or not user_id:
        return None
    caller = Caller(user_id=user_id, channel_id=channel_id, team_id=team_of(body))
    kind = ReminderAction(str(action.get("action_id")))
    return kind, reminder_id, str(channel_id), str(ts), caller


def reminder_id_of(value: object) -> int | None:
    """The id a button carries: "12", or JSON {"id": 12} / {"reminder": 12}."""
    text = str(value or "").strip()
    if text.isdigit() and len(text) <= 12:
        return int(text)
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if isinstance(data, dict):
        for name in ("id", "reminder", "reminder_id"):
            found = data.get(name)
            if isinstance(found, int) or (isinstance(found, str) and found.isdigit()):
                return int(found)
    return None
