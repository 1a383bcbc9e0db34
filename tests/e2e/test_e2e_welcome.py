"""Joining an onboarding's channel (issue 13): a real `connect-bot serve`, signed
`member_joined_channel` events as Slack sends them in a Slack Connect channel.

A customer contact who joins is told, once and only to them, the doors they have (mentions,
buttons, the RFI thread), never a slash command; an engineer is told the slash command; the
bot being added says it once to the channel; a channel with no onboarding hears nothing."""

from __future__ import annotations

import time

from support.bot_process import BotProcess
from support.mentions import deliver, guest, idle
from support.slack_standin import BOT_USER_ID, Call, SlackStandIn
from support.slash_commands import new_channel, new_key, open_onboarding


def joined(bot: BotProcess, user: str, team: str, channel: str) -> None:
    """`user` of `team` joined `channel`, as Slack tells an app that is a member of it."""
    event = {
        "type": "member_joined_channel",
        "user": user,
        "channel": channel,
        "channel_type": "G" if channel.startswith("G") else "C",
        "team": team,
        "inviter": "U0ENG",
        "event_ts": f"{time.time():.6f}",
    }
    assert deliver(bot, event) == 200


def whispers_to(slack: SlackStandIn, user: str, channel: str) -> list[Call]:
    return [
        c
        for c in slack.calls("chat.postEphemeral")
        if c.params.get("user") == user and c.params.get("channel") == channel
    ]


def opened_channel(bot: BotProcess, slack: SlackStandIn) -> tuple[str, str]:
    key, channel = new_key("wel"), new_channel()
    open_onboarding(bot, slack, key, channel, extra="--region eu")
    return key, channel


def test_a_customer_contact_who_joins_is_told_their_doors_once(
    bot: BotProcess, slack: SlackStandIn
) -> None:
    key, channel = opened_channel(bot, slack)
    user, team = guest(slack)

    joined(bot, user, team, channel)
    idle(bot)
    (welcome,) = whispers_to(slack, user, channel)
    text = welcome.params["text"]
    assert f"({key})" in text
    assert "`@connect status`" in text
    assert "/connect" not in text  # Slack offers them no slash command of ours

    joined(bot, user, team, channel)  # left and came back, or Slack sent it again
    idle(bot)
    assert len(whispers_to(slack, user, channel)) == 1


def test_an_engineer_who_joins_is_told_the_slash_command(
    bot: BotProcess, slack: SlackStandIn
) -> None:
    _, channel = opened_channel(bot, slack)
    slack.set_user("U0ENG2", team_id="T0TEST")

    joined(bot, "U0ENG2", "T0TEST", channel)
    idle(bot)
    (welcome,) = whispers_to(slack, "U0ENG2", channel)
    assert "`/connect status`" in welcome.params["text"]


def test_the_bot_added_to_an_onboardings_channel_says_so_once_to_the_channel(
    bot: BotProcess, slack: SlackStandIn
) -> None:
    key, channel = opened_channel(bot, slack)
    before = len(slack.calls("chat.postMessage"))

    joined(bot, BOT_USER_ID, "T0TEST", channel)
    joined(bot, BOT_USER_ID, "T0TEST", channel)
    idle(bot)
    posts = [
        c
        for c in slack.calls("chat.postMessage")[before:]
        if c.params.get("channel") == channel and "thread_ts" not in c.params
    ]
    assert len(posts) == 1
    assert f"({key})" in posts[0].params["text"]
    assert "`@connect status`" in posts[0].params["text"]


def test_nothing_is_said_in_a_channel_without_an_onboarding(
    bot: BotProcess, slack: SlackStandIn
) -> None:
    channel = new_channel()
    user, team = guest(slack)
    before = len(slack.calls())

    joined(bot, user, team, channel)
    joined(bot, BOT_USER_ID, "T0TEST", channel)
    idle(bot)
    said = [c for c in slack.calls()[before:] if c.params.get("channel") == channel]
    assert said == []
