"""The RFI as people use it, end to end over signed HTTP to a real `connect-bot serve`.

This module's bot runs with the production address policy (no CONNECT_ALLOW_PRIVATE_TARGETS):
every example the bot shows must pass its own validator as a customer would meet it. Nothing
here makes the bot connect anywhere: the RFI only reads and stores the answers.
"""

from __future__ import annotations

import re

from sqlalchemy import Engine
from support.bot_process import BotProcess
from support.rfi_thread import (
    WAIT,
    Thread,
    answers,
    open_rfi,
    rfi_state,
)
from support.slack_standin import Call, SlackStandIn

from bot.render.mrkdwn import unescape

CONTACTS = "Jane Smith, jane@acme.example, primary\n"  # primary only: technical still missing
TECHNICAL = "Raj Patel, raj@acme.example, technical"


def shown_example(text: str) -> str:
    """What follows the bot's last "For example:", as a person would copy it from Slack."""
    _, found, tail = text.rpartition("For example: ")
    assert found, text
    lines = []
    for line in tail.split("\n"):
        span = re.fullmatch(r"`([^`]*)`", line.strip())
        if span is None:
            break
        lines.append(span.group(1))
    assert lines, text
    return unescape("\n".join(lines))


def test_every_question_answered_with_its_own_example_completes_the_rfi(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    thread = open_rfi(bot, slack)
    asked: list[str] = []
    for _ in range(20):  # 8 questions, each with at most one `next`
        last = thread.last()
        if "the request for information is done" in last:
            break
        title = re.search(r"Question \d+ of \d+: ([^*\n]+)\*", last)
        assert title is not None, last
        asked.append(title.group(1))
        thread.say(shown_example(last))
        reply = thread.last()
        assert "Got it" in reply, reply  # the example was accepted as it is shown
        if "say `next` to go on" in reply:
            thread.say("next")
    else:
        raise AssertionError(f"the RFI did not finish: {thread.last()}")
    assert len(asked) == 8
    assert rfi_state(db, thread.key) == "done"
    stored = answers(db, thread.key)
    assert {c["role"] for c in stored["contacts"]} == {"primary", "technical"}


def test_an_error_example_is_accepted_too(bot: BotProcess, slack: SlackStandIn, db: Engine) -> None:
    """The example after an error message is one the validator takes, for each list question."""
    thread = open_rfi(bot, slack)
    thread.say("Jane Smith, jane@acme.example, primary\n" + TECHNICAL)
    thread.say("next")
    for _ in range(3):  # outbound IPs, domains, forwarding: a wrong answer, then its example
        thread.say("@@@")
        assert "For example" in thread.last()
        thread.say(shown_example(thread.last()))
        assert "Got it" in thread.last(), thread.last()
        thread.say("next")
    assert set(answers(db, thread.key)) == {"contacts", "outbound_ips", "domains", "forwarding"}


def test_several_values_report_every_bad_one_and_keep_the_good(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    thread = open_rfi(bot, slack)
    thread.say("Jane Smith, jane@acme.example, primary\n" + TECHNICAL)
    thread.say("next")
    thread.say("192.175.48.1, 10.1.2.3, 192.175.48.42, mail.acme.example")
    reply = thread.last()
    assert "10.1.2.3" in reply
    assert "private" in reply
    assert "mail.acme.example" in reply
    assert "host name" in reply
    assert "Kept" in reply
    assert "192.175.48.1" in reply
    assert "192.175.48.42" in reply
    assert answers(db, thread.key)["outbound_ips"] == [
        {"address": "192.175.48.1"},
        {"address": "192.175.48.42"},
    ]


def _status_posts(slack: SlackStandIn, channel: str) -> list[Call]:
    return [
        c
        for c in slack.calls("chat.postMessage")
        if c.params.get("channel") == channel
        and not c.params.get("thread_ts")
        and "RFI" in c.params.get("text", "")
        and "answered" in c.params.get("text", "")
    ]


def test_contacts_without_a_technical_one_are_not_done_nor_counted(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    thread = open_rfi(bot, slack)
    thread.say(CONTACTS)
    assert "technical" in thread.last()
    thread.say("show")
    shown = thread.last()
    line = next(x for x in shown.split("\n") if "Main points of contact" in x)
    assert "✅" not in line
    assert "technical" in line
    assert "(0/8)" in shown
    before = len(_status_posts(slack, thread.channel))
    assert (
        bot.send(f"status {thread.key}", channel_id=thread.channel, user_id="U0ENG").status == 200
    )
    status = slack.wait_for(lambda c: len(_status_posts(slack, thread.channel)) > before, 1, WAIT)
    assert "RFI 0/8 answered" in status[-1].params["text"]
    # Leaving the question for another: the RFI goes on, and does not count the contacts.
    thread.say("change domains")
    thread.say("acme.example")
    thread.say("show")
    assert "(1/8)" in thread.last()
    assert rfi_state(db, thread.key) == "in_progress"


def test_a_re_asked_question_does_what_it_says(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    thread = open_rfi(bot, slack)
    thread.say("Jane Smith, jane@acme.example, primary\n" + TECHNICAL)
    thread.say("next")
    thread.say("192.175.48.1")
    thread.say("help")  # the question asked again, with its answer so far
    asked = thread.last()
    thread.say("192.175.48.42")
    stored = [a["address"] for a in answers(db, thread.key)["outbound_ips"]]
    if "Your next reply replaces it" in asked:
        assert stored == ["192.175.48.42"]
    else:
        assert "adds to" in asked
        assert stored == ["192.175.48.1", "192.175.48.42"]
    # After `back`, the next reply replaces, as the question says.
    thread.say("next")
    thread.say("back")
    assert "Your next reply replaces it" in thread.last()
    thread.say("192.175.48.6")
    assert answers(db, thread.key)["outbound_ips"] == [{"address": "192.175.48.6"}]


def _finish(thread: Thread) -> None:
    for text in (
        "Jane Smith, jane@acme.example, primary\n" + TECHNICAL,
        "next",
        "192.175.48.1",
        "next",
        "acme.example",
        "next",
        "mail.acme.example",
        "next",
        "Exchange 2019",
        "none",
        "SMTP",
        "Active Directory",
    ):
        thread.say(text)
    assert "the request for information is done" in thread.last()


def test_reopening_the_rfi_says_what_to_do_in_its_thread(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    thread = open_rfi(bot, slack)
    _finish(thread)
    assert rfi_state(db, thread.key) == "done"
    before = len(thread.replies())
    reply = bot.send(f"reopen {thread.key} rfi", channel_id=thread.channel, user_id="U0ENG")
    assert reply.status == 200
    thread.wait_replies(before + 1)
    said = thread.last()
    assert "`change" in said  # how to change an answer
    assert rfi_state(db, thread.key) == "in_progress"
    thread.say("change platform")
    thread.say("Microsoft 365")
    assert rfi_state(db, thread.key) == "done"
    assert answers(db, thread.key)["platform"][0]["kind"] == "m365"


def test_reopening_a_finished_rfi_and_saying_done_finishes_it_again(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    thread = open_rfi(bot, slack)
    _finish(thread)
    before = len(thread.replies())
    bot.send(f"reopen {thread.key} rfi", channel_id=thread.channel, user_id="U0ENG")
    thread.wait_replies(before + 1)
    assert rfi_state(db, thread.key) == "in_progress"
    thread.say("done")
    assert rfi_state(db, thread.key) == "done"
