"""The credentials modal submitted as Slack does, for the end-to-end tests: typed text, chosen
options and ticked boxes in a view_submission, signed and posted to a real `connect-bot serve`."""

from __future__ import annotations

from typing import Any

from support.bot_process import BotProcess
from support.signing import interaction_body, post

VALUE = "value"
SELECTS = ("security", "directory_type")


def submit_view(
    bot: BotProcess,
    view: dict[str, Any],
    values: dict[str, str],
    *,
    ticked: dict[str, list[str]] | None = None,
    user: str = "U0ENG",
    team: str = "T0TEST",
) -> tuple[int, bytes]:
    """Submit the credentials modal as Slack does: typed text, chosen options, ticked boxes.
    `user` is who submits: the person the form was opened for (bot.send's default user), of
    `team` (their own: another organisation's for a Slack Connect guest)."""
    state: dict[str, Any] = {
        block: (
            {VALUE: {"type": "static_select", "selected_option": {"value": value}}}
            if block in SELECTS
            else {VALUE: {"type": "plain_text_input", "value": value}}
        )
        for block, value in values.items()
    }
    for block, options in (ticked or {}).items():
        state[block] = {
            VALUE: {"type": "checkboxes", "selected_options": [{"value": v} for v in options]}
        }
    payload = {
        "type": "view_submission",
        "user": {"id": user, "team_id": team},
        "team": {"id": "T0TEST"},
        "api_app_id": "A0CONNECT",
        "view": {**view, "id": "V0CRED", "state": {"values": state}},
    }
    status, _, body = post(bot.events_url, bot.secret, interaction_body(payload))
    return status, body
