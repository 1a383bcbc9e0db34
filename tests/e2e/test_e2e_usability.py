"""Commands as people mistype and use them (issue 14, section 4), through a real `connect-bot
serve`: a near-miss verb or flag gets a suggestion spelled for the door the person uses, and
`close` asks first, by a button that only those who may close can use."""

from __future__ import annotations

import pytest
from support.bot_process import BotProcess
from support.mentions import AT, guest, mention, wait
from support.signing import TEAM_ID
from support.slack_standin import SlackStandIn
from support.slash_commands import new_channel, new_key, open_onboarding

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
