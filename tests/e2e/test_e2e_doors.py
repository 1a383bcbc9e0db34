"""Commands the bot names are spelled for the door the reader has (issue 13): a customer
contact of another organisation, who has no `/connect`, is shown `@connect ...`; an engineer
who used the slash command is shown `/connect ...`. A real `connect-bot serve`, signed
requests, the Slack stand-in."""

from __future__ import annotations

from support.bot_process import BotProcess
from support.mentions import AT, guest, mention, wait
from support.slack_standin import SlackStandIn
from support.slash_commands import new_channel, new_key, open_onboarding, send_ok


def test_a_customer_contact_is_shown_commands_they_can_type(
    bot: BotProcess, slack: SlackStandIn
) -> None:
    key, channel = new_key("door"), new_channel()
    open_onboarding(bot, slack, key, channel, extra="--region eu")
    user, team = guest(slack)

    asked = mention(bot, f"{AT} remind in 3d call the ISP", user=user, team=team, channel=channel)

    (said,) = wait(slack, asked.whispered)
    text = said.params["text"]
    assert "`@connect remind cancel " in text
    assert "/connect" not in text


def test_an_engineer_with_the_slash_command_is_shown_it(
    bot: BotProcess, slack: SlackStandIn
) -> None:
    key, channel = new_key("door"), new_channel()
    open_onboarding(bot, slack, key, channel, extra="--region eu")
    before = len(slack.calls("response_url"))

    send_ok(bot, "remind in 3d call the ISP", channel_id=channel)

    (said,) = slack.wait_for("response_url", before + 1, 15)[before:]
    assert "`/connect remind cancel " in said.params["text"]
