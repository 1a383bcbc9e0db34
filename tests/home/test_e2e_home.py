"""The App Home tab end to end: signed `app_home_opened` events and Home button clicks to a real
`connect-bot serve`, the views it publishes recorded by the Slack stand-in (which refuses, as
Slack does, a Home view of more than 100 blocks)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from support.bot_process import BotProcess
from support.signing import JSON, TEAM_ID, event_body, interaction_body, post
from support.slack_standin import Call, SlackStandIn
from support.slash_commands import new_channel, new_key, open_onboarding, send_ok

WAIT = 15.0


def engineer() -> str:
    return "U0H" + uuid.uuid4().hex[:8].upper()


def open_home(bot: BotProcess, user: str) -> None:
    event = {
        "type": "app_home_opened",
        "user": user,
        "channel": "D" + uuid.uuid4().hex[:9].upper(),
        "tab": "home",
        "event_ts": f"{time.time():.6f}",
    }
    status, _, _ = post(bot.events_url, bot.secret, event_body(event), content_type=JSON)
    assert status == 200


def click(bot: BotProcess, user: str, action_id: str, value: str, block_id: str) -> None:
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "team_id": TEAM_ID},
        "team": {"id": TEAM_ID},
        "api_app_id": "A0CONNECT",
        "trigger_id": f"trig-{uuid.uuid4().hex[:8]}",
        "container": {"type": "view", "view_id": "V0HOME"},
        "view": {"id": "V0HOME", "type": "home", "blocks": []},
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id,
                "value": value,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    status, _, _ = post(bot.events_url, bot.secret, interaction_body(payload))
    assert status == 200


def publishes(slack: SlackStandIn, user: str) -> list[Call]:
    return [c for c in slack.calls("views.publish") if c.params.get("user_id") == user]


def wait_publishes(slack: SlackStandIn, user: str, count: int = 1) -> list[Call]:
    found = slack.wait_for(
        lambda c: c.method == "views.publish" and c.params.get("user_id") == user, count, WAIT
    )
    for call in found:
        assert call.answered == "ok", call.response
    return found


def view_text(call: Call) -> str:
    view = call.params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    parts = []
    for block in view["blocks"]:
        if "text" in block:
            parts.append(block["text"]["text"])
        for element in block.get("elements", []):
            text = element.get("text")
            parts.append(text["text"] if isinstance(text, dict) else str(text or ""))
            parts.append(str(element.get("url", "")))
            parts.append(str(element.get("value", "")))
    return "\n".join(parts)


def blocks_of(call: Call) -> list[dict[str, Any]]:
    view = call.params["view"]
    return (json.loads(view) if isinstance(view, str) else view)["blocks"]


def test_an_engineer_sees_their_open_onboardings_with_progress(
    bot: BotProcess, slack: SlackStandIn
) -> None:
    me, other = engineer(), engineer()
    mine, theirs = new_key("home"), new_key("home")
    channel = new_channel()
    open_onboarding(bot, slack, mine, channel, user_id=me)
    open_onboarding(bot, slack, theirs, new_channel(), user_id=other)
    send_ok(bot, f"done {mine} rfi", channel_id=channel, user_id=me)
    slack.wait_for(lambda c: c.method == "chat.postMessage" and "rfi" in str(c.params).lower())

    open_home(bot, me)
    (shown,) = wait_publishes(slack, me)
    text = view_text(shown)
    assert mine in text
    assert theirs not in text
    assert "▰▱▱▱▱▱ 1/6" in text  # RFI done, five to go
    assert "Outbound" in text  # the step in progress
    assert f"https://slack.com/app_redirect?channel={channel}" in text  # the name's link, a button
    assert "Run Outbound checks" in text
    assert len(blocks_of(shown)) <= 100

    # All: everyone's open onboardings.
    click(bot, me, "home_scope:all", "all", "home_filters")
    everyone = wait_publishes(slack, me, 2)[-1]
    assert mine in view_text(everyone)
    assert theirs in view_text(everyone)


def test_a_change_republishes_at_most_once_per_interval(
    bot: BotProcess, slack: SlackStandIn
) -> None:
    me = engineer()
    key, channel = new_key("live"), new_channel()
    open_onboarding(bot, slack, key, channel, user_id=me)
    open_home(bot, me)
    (first,) = wait_publishes(slack, me)
    assert "▱▱▱▱▱▱ 0/6" in view_text(first)

    # Three changes in a row, right after the first publish.
    for step in ("rfi", "outbound", "recipients"):
        send_ok(bot, f"done {key} {step}", channel_id=channel, user_id=me)
    second = wait_publishes(slack, me, 2)[1]
    # The bound: one publish per person per 5 s, measured between Slack's recorded calls.
    assert second.at - first.at >= 4.9
    # Its view is the latest state, or a later publish (the bound again) brings it.
    latest = second
    if "▰▰▰▱▱▱ 3/6" not in view_text(second):
        latest = wait_publishes(slack, me, 3)[2]
        assert latest.at - second.at >= 4.9
    assert "▰▰▰▱▱▱ 3/6" in view_text(latest)
    time.sleep(1.0)
    assert len(publishes(slack, me)) <= 3


def test_a_customer_contact_sees_no_onboarding(bot: BotProcess, slack: SlackStandIn) -> None:
    key = new_key("secret")
    open_onboarding(bot, slack, key, new_channel())
    guest = "U0G" + uuid.uuid4().hex[:8].upper()
    slack.set_user(guest, team_id="T0CUSTOMER", is_stranger=True)
    open_home(bot, guest)
    (shown,) = wait_publishes(slack, guest)
    text = view_text(shown)
    assert "for the Connect team" in text
    assert key not in text
    assert "app_redirect" not in text
    assert "home_check" not in str(shown.params)
    # Its filter buttons are not there to click, and a forged click shows them nothing either.
    click(bot, guest, "home_scope:all", "all", "home_filters")
    forged = wait_publishes(slack, guest, 2)[-1]
    assert key not in view_text(forged)
    assert "for the Connect team" in view_text(forged)


def test_run_checks_from_home_refuses_to_the_clickers_dm(
    bot: BotProcess, slack: SlackStandIn
) -> None:
    me = engineer()
    key, channel = new_key("chk"), new_channel()
    open_onboarding(bot, slack, key, channel, user_id=me)
    before = len(slack.calls("chat.postMessage"))
    # No region yet: the check verb refuses, and Home has no channel, so the refusal is a DM.
    value = json.dumps({"key": key, "step": "outbound"})
    click(bot, me, "home_check", value, f"home_item:{key}")
    (dm,) = slack.wait_for(
        lambda c: c.method == "chat.postMessage" and c.params.get("channel") == me, 1, WAIT
    )
    assert "has no region yet" in dm.params["text"], dm.params["text"]
    # A customer contact's forged click on another's onboarding: refused to them alone.
    guest = "U0G" + uuid.uuid4().hex[:8].upper()
    slack.set_user(guest, team_id="T0CUSTOMER", is_stranger=True)
    click(bot, guest, "home_check", value, f"home_item:{key}")
    (refused,) = slack.wait_for(
        lambda c: c.method == "chat.postMessage" and c.params.get("channel") == guest, 1, WAIT
    )
    assert key not in refused.params["text"]  # not even whether it exists
    assert all(
        c.params.get("channel") in (me, guest) for c in slack.calls("chat.postMessage")[before:]
    )
