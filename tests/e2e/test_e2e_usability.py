"""Commands as people mistype and use them (issue 14, section 4), through a real `connect-bot
serve`: a near-miss verb or flag gets a suggestion spelled for the door the person uses, and
`close` asks first, by a button that only those who may close can use."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import Engine
from support.bot_process import BotProcess
from support.mentions import AT, guest, idle, mention, wait
from support.signing import TEAM_ID, interaction_body, post
from support.slack_standin import SlackStandIn
from support.slash_commands import (
    new_channel,
    new_key,
    onboarding_row,
    open_onboarding,
    posts_in,
    send_ok,
    wait_posts,
    wait_responses,
)

# --- near misses -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [
        pytest.param("stauts {key}", "`/connect status {key}`", id="verb"),
        pytest.param("lsit --all", "`/connect list --all`", id="verb-no-args"),
        pytest.param(
            "open {key} --serivce both", "`/connect open {key} --service both`", id="flag"
        ),
        pytest.param("list --al", "`/connect list --all`", id="boolean-flag"),
        pytest.param("help stauts", "`/connect help status`", id="help-verb"),
    ],
)
def test_an_engineer_s_near_miss_gets_the_slash_command_they_meant(
    bot: BotProcess, typed: str, suggested: str
) -> None:
    key = new_key("typo")
    reply = bot.send(typed.format(key=key), channel_id=new_channel())
    assert reply.status == 200
    text = reply.json()["text"]
    assert text.startswith("⚠️ "), text
    assert f"Did you mean {suggested.format(key=key)}?" in text, text


def test_a_word_close_to_nothing_gets_no_suggestion(bot: BotProcess) -> None:
    text = bot.send("frobnicate acme", channel_id=new_channel()).json()["text"]
    assert "I don't know the verb frobnicate." in text
    assert "Did you mean" not in text


def test_a_guest_s_near_miss_by_mention_is_told_the_mention_form(
    bot: BotProcess, slack: SlackStandIn
) -> None:
    key, channel = new_key("typo"), new_channel()
    open_onboarding(bot, slack, key, channel)
    user, team = guest(slack)

    asked = mention(bot, f"{AT} stauts", user=user, team=team, channel=channel)

    (reply,) = wait(slack, asked.in_thread)
    text = reply.params["text"]
    assert "I don't know the verb stauts. Did you mean `@connect status`?" in text, text
    assert "/connect" not in text


def test_an_engineer_s_near_miss_by_mention_is_told_the_mention_form(
    bot: BotProcess, slack: SlackStandIn
) -> None:
    asked = mention(bot, f"{AT} lsit --al", user="U0ENG", team=TEAM_ID, channel=new_channel())
    (reply,) = wait(slack, asked.in_thread)
    assert "Did you mean `@connect list --all`?" in reply.params["text"], reply.params["text"]


# --- close asks first ------------------------------------------------------------------------


def _click_close(
    bot: BotProcess,
    slack: SlackStandIn,
    button: dict[str, Any],
    *,
    user: str,
    team: str,
    channel: str,
) -> str:
    """Click the Close button of an ephemeral answer, signed as Slack sends it; returns the name
    of the click's response_url."""
    name = f"click-{uuid.uuid4().hex[:8]}"
    payload = {
        "type": "block_actions",
        "user": {"id": user, "team_id": team},
        "team": {"id": TEAM_ID},
        "api_app_id": "A0CONNECT",
        "trigger_id": f"trig-{uuid.uuid4().hex[:8]}",
        "response_url": slack.response_url(name),
        "channel": {"id": channel},
        "container": {"type": "message", "channel_id": channel, "is_ephemeral": True},
        "actions": [
            {
                "type": "button",
                "action_id": button["action_id"],
                "block_id": "connect_actions",
                "value": button["value"],
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    status, _, body = post(bot.events_url, bot.secret, interaction_body(payload))
    assert (status, body) == (200, b""), body
    return name


def _asked_to_close(bot: BotProcess, slack: SlackStandIn, key: str, channel: str) -> Any:
    """`/connect close <key>` by the engineer: the question, said to them alone."""
    reply = send_ok(bot, f"close {key}", channel_id=channel)
    (question,) = wait_responses(slack, reply.response_name)
    return question.params


def test_close_asks_first_and_changes_nothing(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    key, channel = new_key("close"), new_channel()
    open_onboarding(bot, slack, key, channel)
    posts = len(posts_in(slack, channel))

    question = _asked_to_close(bot, slack, key, channel)

    assert question["response_type"] == "ephemeral"
    text = question["text"]
    assert f"Close *{key} ({key})*?" in text, text
    assert "`/connect list --all` lists closed onboardings" in text
    assert f"`/connect close {key} --yes`" in text
    (button,) = buttons_of_message(question)
    assert button["action_id"] == "onboarding_close"
    assert json.loads(button["value"]) == {"key": key}
    row = onboarding_row(db, key)
    assert row is not None
    assert row.closed_at is None
    assert len(posts_in(slack, channel)) == posts


def test_the_close_button_closes_for_an_engineer(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    key, channel = new_key("close"), new_channel()
    open_onboarding(bot, slack, key, channel)
    posts = len(posts_in(slack, channel))
    (button,) = buttons_of_message(_asked_to_close(bot, slack, key, channel))

    click = _click_close(bot, slack, button, user="U0ENG", team=TEAM_ID, channel=channel)

    closed = wait_posts(slack, channel, posts + 1)[-1].params
    assert f"({key})* was closed by <@U0ENG>" in closed["text"]
    assert "`/connect list --all` lists closed onboardings" in closed["text"]
    row = onboarding_row(db, key)
    assert row is not None
    assert row.closed_by == "U0ENG"
    (gone,) = wait_responses(slack, click)
    assert gone.params.get("delete_original") is True  # the question is taken away


def test_the_close_button_does_nothing_for_a_customer_contact(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    key, channel = new_key("close"), new_channel()
    open_onboarding(bot, slack, key, channel)
    posts = len(posts_in(slack, channel))
    (button,) = buttons_of_message(_asked_to_close(bot, slack, key, channel))
    user, team = guest(slack)

    click = _click_close(bot, slack, button, user=user, team=team, channel=channel)

    (refusal,) = wait_responses(slack, click)
    assert "Only a Connect engineer can use `@connect close`." in refusal.params["text"]
    row = onboarding_row(db, key)
    assert row is not None
    assert row.closed_at is None
    idle(bot)
    assert len(posts_in(slack, channel)) == posts


def test_close_with_yes_closes_at_once(bot: BotProcess, slack: SlackStandIn, db: Engine) -> None:
    key, channel = new_key("close"), new_channel()
    open_onboarding(bot, slack, key, channel)
    posts = len(posts_in(slack, channel))
    send_ok(bot, f"close {key} --yes", channel_id=channel)
    closed = wait_posts(slack, channel, posts + 1)[-1].params
    assert f"({key})* was closed by <@U0ENG>" in closed["text"]
    row = onboarding_row(db, key)
    assert row is not None
    assert row.closed_at is not None


def buttons_of_message(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        element
        for block in message.get("blocks") or []
        if block["type"] == "actions"
        for element in block["elements"]
    ]
