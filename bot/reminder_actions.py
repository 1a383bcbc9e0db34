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
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.render import render
from commands.onboarding import Caller
from commands.results import ReminderDone, ReminderSnoozed
from commands.router import Router

log = logging.getLogger(__name__)

DONE = "reminder_done"
SNOOZE_1D = "reminder_snooze_1d"
SNOOZE_1W = "reminder_snooze_1w"
ACTIONS = re.compile(f"^({DONE}|{SNOOZE_1D}|{SNOOZE_1W})$")

Later = Callable[[str, Respond | None, Callable[[], object]], None]


def register(app: App, router: Router, later: Later, with_role: Callable[[Caller], Caller]) -> None:
    """`with_role` resolves the clicker's role (users.info): it runs on the pool, in `act`."""

    @app.action(ACTIONS)
    def on_reminder_button(
        ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        click = _click(body)
        if click is None:
            log.info("reminder button without a reminder id or message; ignored")
            return
        action_id, reminder_id, channel_id, ts, caller = click

        def act() -> None:
            who = with_role(caller)
            service = router.reminders
            result: ReminderDone | ReminderSnoozed
            if action_id == DONE:
                result = service.done(who, reminder_id)
            else:
                result = service.snooze(who, reminder_id, action_id.rpartition("_")[2])
            message = render(result)
            client.chat_update(
                channel=channel_id, ts=ts, text=message.text, blocks=message.blocks_json()
            )
            log.info("reminder #%s: %s by %s", reminder_id, action_id, caller.user_id)

        later(f"reminder button {action_id}", respond, act)


def _click(body: dict[str, Any]) -> tuple[str, int, str, str, Caller] | None:
    action = (body.get("actions") or [{}])[0]
    reminder_id = reminder_id_of(action.get("value"))
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel_id = (body.get("channel") or {}).get("id") or container.get("channel_id")
    ts = container.get("message_ts") or message.get("ts")
    user_id = (body.get("user") or {}).get("id")
    if reminder_id is None or not channel_id or not ts or not user_id:
        return None
    team_id = (body.get("user") or {}).get("team_id") or (body.get("team") or {}).get("id")
    caller = Caller(user_id=user_id, channel_id=channel_id, team_id=team_id)
    return str(action.get("action_id")), reminder_id, str(channel_id), str(ts), caller


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


__all__ = ["ACTIONS", "DONE", "SNOOZE_1D", "SNOOZE_1W", "register"]
