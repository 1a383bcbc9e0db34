"""What the bot reads from the text and fields Slack sends: a slash command's text or a
mention's, with Slack's markup (bot/slack/payloads.py), and which messages are commands to the
bot rather than answers in a thread. The events are built as Slack sends them for a guest of
another organisation in a Slack Connect channel (support/signing.py)."""

from __future__ import annotations

from typing import Any

import pytest
from support.signing import mention_event

from bot.slack.payloads import command_text, edited_reply, mention, mentions_bot, thread_reply
from commands.core.context import Door

BOT = "U0BOT"


@pytest.mark.parametrize(
    ("sent", "typed"),
    [
        ("status acme", "status acme"),
        ("invite <@U0JANE|jane> <@U0OMAR>", "invite <@U0JANE> <@U0OMAR>"),
        (
            "set --journal-address <mailto:j@acme.com|j@acme.com>",
            "set --journal-address j@acme.com",
        ),
        ("set --name <http://acme.com|acme.com>", "set --name acme.com"),
        ("set --name <https://acme.com/x>", "set --name https://acme.com/x"),
        ("set --journal-address <mailto:j@acme.com>", "set --journal-address j@acme.com"),
        ('set --name "Smith &amp; Sons &lt;UK&gt;"', 'set --name "Smith & Sons <UK>"'),
        ("status <#C0ACME|acme>", "status acme"),
        ("remind in 1d ping <!here>", "remind in 1d ping <!here>"),
        ("remind in 1d tell <!subteam^S0OPS|@ops>", "remind in 1d tell @ops"),
        ("remind in 1d type &lt;@U0X&gt;", "remind in 1d type <@U0X>"),
    ],
)
def test_command_text_is_what_the_person_typed(sent: str, typed: str) -> None:
    assert command_text(sent) == typed


@pytest.mark.parametrize(
    ("text", "command"),
    [
        (f"<@{BOT}> status acme", "status acme"),
        (f"<@{BOT}>: status", "status"),
        (f"<@{BOT}>, check outbound", "check outbound"),
        (f"hey <@{BOT}> status", "status"),
        (f"status acme <@{BOT}>", "status acme"),
        (f"<@{BOT}> remind in 3d call <@{BOT}> the ISP", "remind in 3d call the ISP"),
        (f"<@{BOT}>", ""),
        (f"<@{BOT}> invite <@U0JANE>", "invite <@U0JANE>"),
        (
            f"<@{BOT}> set --journal-address <mailto:j@acme.com|j@acme.com>",
            "set --journal-address j@acme.com",
        ),
        (f"<@{BOT}> remind in 1d R&amp;D &lt;go&gt;", "remind in 1d R&D <go>"),
    ],
)
def test_a_mention_is_the_command_around_the_bots_name(text: str, command: str) -> None:
    event = mention_event(text, user="U0GUEST", user_team="T0ACME", channel="C0ACME", ts="1.1")
    asked = mention(event, BOT)
    assert asked is not None
    assert asked.text == command


def test_a_mention_names_the_guest_their_own_team_and_the_thread_to_answer_in() -> None:
    top = mention(
        mention_event(f"<@{BOT}> status", user="U0G", user_team="T0ACME", channel="C1", ts="5.5"),
        BOT,
    )
    assert top is not None
    assert (top.thread_ts, top.team_id) == ("5.5", "T0ACME")  # a thread under the mention
    caller = top.caller
    assert (caller.user_id, caller.channel_id, caller.team_id) == ("U0G", "C1", "T0ACME")
    assert caller.door is Door.MENTION
    assert caller.shown_door is Door.MENTION
    in_thread = mention(
        mention_event(
            f"<@{BOT}> status",
            user="U0G",
            user_team="T0ACME",
            channel="C1",
            ts="6.6",
            thread_ts="4.4",
        ),
        BOT,
    )
    assert in_thread is not None
    assert in_thread.thread_ts == "4.4"  # the thread it was asked in


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"user": BOT, "bot_id": "B0BOT"}, id="the-bot-itself"),
        pytest.param({"bot_id": "B0OTHER"}, id="another-bot"),
        pytest.param({"edited": {"user": "U0G", "ts": "9.9"}}, id="an-edit"),
        pytest.param({"files": [{"id": "F1"}]}, id="an-upload"),
        pytest.param({"subtype": "channel_join"}, id="not-a-person-writing"),
    ],
)
def test_mentions_that_are_not_commands_are_ignored(change: dict[str, object]) -> None:
    event = mention_event(f"<@{BOT}> close acme", user="U0G", user_team="T0X", channel="C", ts="1")
    assert mention({**event, **change}, BOT) is None


def test_a_mention_in_a_thread_is_not_an_answer_there() -> None:
    def said(text: str) -> dict[str, Any]:
        where = {"channel": "C1", "ts": "2.2", "thread_ts": "1.1"}
        return mention_event(text, user="U0G", user_team="T0X", kind="message", **where)

    plain, command = said("acme.com"), said(f"<@{BOT}> status")
    assert thread_reply(plain, BOT) is not None
    assert thread_reply(command, BOT) is None
    assert mentions_bot(command["text"], BOT)
    assert not mentions_bot("<@U0SOMEONE> status", BOT)
    # An answer edited into a command to the bot: the answer it replaced stands.
    edit = {
        "type": "message",
        "subtype": "message_changed",
        "channel": "C1",
        "message": {**command, "edited": {"user": "U0G", "ts": "3.3"}},
    }
    assert edited_reply(edit, BOT) is None
