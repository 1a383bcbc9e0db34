"""The onboarding's card as the tests see it through the Slack stand-in: the message posted at
`open`, the chat.update calls that redraw it, and clicks on its controls, signed and shaped as
Slack sends them (for a person of the installing team or of another one)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from support.bot_process import BotProcess
from support.mentions import buttons_of, new_ts
from support.signing import API_APP_ID, TEAM_ID, interaction_body, post
from support.slack_standin import Call, SlackStandIn

WAIT = 15.0


def card_post(slack: SlackStandIn, channel: str) -> Call:
    """The card: the first message the bot posted in the channel itself."""
    posts = [
        c
        for c in slack.calls("chat.postMessage")
        if c.params.get("channel") == channel and not c.params.get("thread_ts")
    ]
    assert posts, f"nothing posted in {channel}"
    return posts[0]


def card_ts(card: Call) -> str:
    return str(card.response["ts"])


def updates(slack: SlackStandIn, card: Call) -> list[Call]:
    """Every chat.update of the card, oldest first."""
    return [
        c
        for c in slack.calls("chat.update")
        if c.params.get("channel") == card.params["channel"] and c.params.get("ts") == card_ts(card)
    ]


def wait_update(slack: SlackStandIn, card: Call, *texts: str) -> Call:
    """The first redraw of the card whose text holds every one of `texts`."""

    def match(c: Call) -> bool:
        return c in updates(slack, card) and all(t in c.params.get("text", "") for t in texts)

    return slack.wait_for(match, 1, WAIT)[0]


def control(message: Call, action_id: str) -> dict[str, Any]:
    (found,) = [e for e in buttons_of(message) if e["action_id"] == action_id]
    return found


def option(select: dict[str, Any], args: str) -> dict[str, Any]:
    """The select's option whose value runs `args` (a step, or "all")."""
    (found,) = [o for o in select["options"] if json.loads(o["value"])["args"] == args]
    return found


def click(
    bot: BotProcess,
    slack: SlackStandIn,
    card: Call,
    element: dict[str, Any],
    *,
    user: str,
    team: str = TEAM_ID,
    trigger_id: str | None = None,
    chosen: dict[str, Any] | None = None,
    value: str | None = None,
) -> str:
    """Click `element` on the card (a button, or the select with `chosen` picked) as `user` of
    `team`; `value` forges the button's value. Returns the name of the click's response_url."""
    name = f"click-{uuid.uuid4().hex[:8]}"
    action: dict[str, Any] = {
        "action_id": element["action_id"],
        "block_id": "connect_actions",
        "action_ts": new_ts(),
    }
    if chosen is not None:
        action.update(type="static_select", selected_option=chosen)
    else:
        action.update(type="button", value=value if value is not None else element["value"])
    channel = card.params["channel"]
    payload = {
        "type": "block_actions",
        "user": {"id": user, "team_id": team},
        "team": {"id": TEAM_ID},
        "api_app_id": API_APP_ID,
        "trigger_id": trigger_id or slack.issue_trigger(),
        "response_url": slack.response_url(name),
        "channel": {"id": channel},
        "container": {"type": "message", "message_ts": card_ts(card), "channel_id": channel},
        "message": {**card.response["message"]},
        "actions": [action],
    }
    status, _, body = post(bot.events_url, bot.secret, interaction_body(payload))
    assert (status, body) == (200, b""), body
    return name


def in_card_thread(card: Call) -> Any:
    """A predicate: a message the bot posted in the card's thread."""

    def match(c: Call) -> bool:
        return (
            c.method == "chat.postMessage"
            and c.params.get("channel") == card.params["channel"]
            and c.params.get("thread_ts") == card_ts(card)
        )

    return match


def modal_for(slack: SlackStandIn, trigger: str, timeout: float = WAIT) -> dict[str, Any]:
    """The modal a click with `trigger` ends up showing: a button opens a "loading" modal at
    once (views.open) and fills it with views.update; a slash command opens its form directly."""
    (opened,) = slack.wait_for(
        lambda c: c.method == "views.open" and c.params.get("trigger_id") == trigger, 1, timeout
    )
    view = _view(opened.params["view"])
    if view.get("callback_id"):
        return view  # the form itself
    view_id = opened.response["view"]["id"]
    (filled,) = slack.wait_for(
        lambda c: c.method == "views.update" and c.params.get("view_id") == view_id, 1, timeout
    )
    return _view(filled.params["view"])


def modal_text(view: dict[str, Any]) -> str:
    """Every mrkdwn or plain text of a modal's blocks, joined."""
    return "\n".join(
        str(block["text"]["text"]) for block in view.get("blocks", []) if "text" in block
    )


def _view(view: Any) -> dict[str, Any]:
    return json.loads(view) if isinstance(view, str) else dict(view)
