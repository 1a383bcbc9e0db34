"""The RFI end to end: a real `connect-bot serve`, signed slash commands, thread replies as
Events API message events, button clicks and a modal, all over HTTP as Slack sends them.

Assertions are on what the Slack stand-in received (replies in the right thread, the modal) and
on the stored answers. The bot runs with CONNECT_ALLOW_PRIVATE_TARGETS on, so the addresses
answered here are loopback ones: no test hands the bot a public address.
"""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from support.bot_process import BotProcess
from support.card import modal_for
from support.rfi_thread import (
    BOT_USER,
    FULL,
    WAIT,
    answer_rows,
    answers,
    buttons,
    click,
    mrkdwn_of,
    open_rfi,
    rfi_state,
    send_event,
    ts,
)
from support.signing import interaction_body, post
from support.slack_standin import SlackStandIn

from store.models import AuditEvent, Onboarding


@pytest.fixture(scope="module")
def bot_env() -> dict[str, str]:
    return {"CONNECT_ALLOW_PRIVATE_TARGETS": "true"}


# --- the conversation --------------------------------------------------------------------------


def test_open_starts_the_rfi_thread_with_the_first_question(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    thread = open_rfi(bot, slack)
    assert [b["action_id"] for b in buttons(thread.root)] == ["rfi_form"]
    first = thread.replies()[0].params["text"]
    assert "Question 1 of 8: Main points of contact" in first
    assert rfi_state(db, thread.key) == "in_progress"


def test_a_whole_rfi_answered_in_the_thread(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    thread = open_rfi(bot, slack)
    sources = {}
    for text, question in FULL:
        message_ts = thread.say(text)
        if question:
            sources[question] = message_ts
    summary = thread.last()
    assert "the request for information is done" in summary
    assert "Next step: *Outbound*" in summary
    stored = answers(db, thread.key)
    assert stored["contacts"][0]["email"] == "jane@acme.example"
    assert {c["role"] for c in stored["contacts"]} == {"primary", "technical"}
    assert stored["outbound_ips"] == [{"address": "127.0.0.10"}, {"address": "::1"}]
    assert [d["ascii"] for d in stored["domains"]] == ["acme.example", "xn--bcher-kva.example"]
    assert [d["unicode"] for d in stored["domains"]] == ["acme.example", "bücher.example"]
    assert stored["forwarding"] == [{"host": "127.0.0.11", "port": 2525}]
    assert stored["platform"][0]["kind"] == "exchange"
    assert stored["journaling"] == ["smtp"]
    assert stored["directory"] == ["active_directory"]
    rows = answer_rows(db, thread.key)
    assert all(r.answered_by == "U0CUST" for r in rows)
    assert {r.question: r.source_ts for r in rows} == sources  # each from its own message
    assert rfi_state(db, thread.key) == "done"
    # Every reply went to the thread, none to the channel itself.
    assert (
        len(
            [
                c
                for c in slack.calls("chat.postMessage")
                if c.params.get("channel") == thread.channel and not c.params.get("thread_ts")
            ]
        )
        == 2
    )  # the plan and the RFI message


def test_wrong_answers_say_what_is_wrong_and_change_nothing(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    thread = open_rfi(bot, slack)
    thread.say("Jane Smith, jane@acme.example, primary")
    assert "technical" in thread.last()  # still needs a technical contact
    thread.say("Raj Patel, raj-at-acme, technical")
    assert "For example" in thread.last()
    assert len(answers(db, thread.key)["contacts"]) == 1
    thread.say("Raj Patel, raj@acme.example, technical")
    thread.say("next")
    thread.say("10.0.0.300")
    assert "For example" in thread.last()
    assert "outbound_ips" not in answers(db, thread.key)
    thread.say("192.0.2.1/29")
    assert "outbound_ips" not in answers(db, thread.key)
    thread.say("127.0.0.20")
    assert answers(db, thread.key)["outbound_ips"] == [{"address": "127.0.0.20"}]


def test_thread_words_skip_back_change_show_help(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    thread = open_rfi(bot, slack, service="security")
    thread.say("skip")
    assert "required" in thread.last()
    thread.say("help")
    assert "`change domains`" in thread.last()
    for text, _ in FULL[:8]:
        thread.say(text)
    thread.say("Google Workspace")  # platform
    thread.say("skip")  # previous provider is optional
    assert "Skipped *Previous gateway provider*" in thread.last()
    thread.say("back")
    assert "Previous gateway provider" in thread.last()
    thread.say("Barracuda")
    assert answers(db, thread.key)["previous_provider"] == ["Barracuda"]
    thread.say("change domains")
    assert "Answer now: acme.example; bücher.example" in thread.last()
    thread.say("acme.example")
    assert [d["ascii"] for d in answers(db, thread.key)["domains"]] == ["acme.example"]
    thread.say("show")
    shown = thread.last()
    assert "Barracuda" in shown
    assert "not answered" in shown  # the directory question is still open


def test_a_retried_event_is_answered_once(bot: BotProcess, slack: SlackStandIn, db: Engine) -> None:
    thread = open_rfi(bot, slack)
    event_id = "Ev" + uuid.uuid4().hex[:10].upper()
    message_ts = thread.say(
        "Jane Smith, jane@acme.example, primary\nRaj Patel, raj@acme.example, technical",
        event_id=event_id,
    )
    replies = len(thread.replies())
    for retry in (1, 2):  # Slack's retries: same event, same id, a retry header
        status = send_event(
            bot,
            {
                "type": "message",
                "channel": thread.channel,
                "user": "U0CUST",
                "text": "Jane Smith, jane@acme.example, primary\nRaj Patel, raj@acme.example, "
                "technical",
                "ts": message_ts,
                "thread_ts": thread.ts,
            },
            event_id=event_id,
            retry=retry,
        )
        assert status == 200
    thread.say("next")  # a later message is still answered, and only once
    assert len(thread.replies()) == replies + 1
    assert len(answer_rows(db, thread.key)) == 1


def test_an_edited_reply_is_read_again_and_a_deleted_one_noted(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    thread = open_rfi(bot, slack)
    sent = [thread.say(text) for text, _ in FULL[:4]]
    message_ts = thread.say("acme.example")
    before = len(thread.replies())
    edited = {
        "type": "message",
        "subtype": "message_changed",
        "channel": thread.channel,
        "hidden": True,
        "ts": ts(),
        "message": {
            "type": "message",
            "user": "U0CUST",
            "text": "acme.example, acme.test",
            "ts": message_ts,
            "thread_ts": thread.ts,
            "edited": {"user": "U0CUST", "ts": ts()},
        },
        "previous_message": {
            "type": "message",
            "user": "U0CUST",
            "text": "acme.example",
            "ts": message_ts,
            "thread_ts": thread.ts,
        },
    }
    assert send_event(bot, edited) == 200
    thread.wait_replies(before + 1)
    assert "Updated *Domains*" in thread.last()
    assert [d["ascii"] for d in answers(db, thread.key)["domains"]] == ["acme.example", "acme.test"]
    deleted = {
        "type": "message",
        "subtype": "message_deleted",
        "channel": thread.channel,
        "hidden": True,
        "ts": ts(),
        "deleted_ts": message_ts,
        "previous_message": {
            "type": "message",
            "user": "U0CUST",
            "text": "acme.example",
            "ts": message_ts,
            "thread_ts": thread.ts,
        },
    }
    assert send_event(bot, deleted) == 200
    thread.wait_replies(before + 2)
    assert "was deleted" in thread.last()
    assert "domains" in answers(db, thread.key)
    # An edited thread word ("next") is not run again: the next answer is the help's alone.
    edited_next = {
        **edited,
        "ts": ts(),
        "message": {
            **edited["message"],
            "text": "next",
            "ts": sent[1],
            "edited": {"user": "U0CUST", "ts": ts()},
        },
    }
    assert send_event(bot, edited_next) == 200
    thread.say("help")
    assert len(thread.replies()) == before + 3
    assert "Question 3 of 8: Domains" in thread.last()


def test_the_bot_ignores_what_is_not_a_reply_in_its_threads(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    thread = open_rfi(bot, slack)
    before = len(slack.calls("chat.postMessage"))
    base = {
        "type": "message",
        "channel": thread.channel,
        "text": "Jane, jane@acme.example, primary",
    }
    ignored = [
        {**base, "user": BOT_USER, "ts": ts(), "thread_ts": thread.ts},  # itself
        {
            **base,
            "subtype": "bot_message",
            "bot_id": "B0OTHER",
            "ts": ts(),
            "thread_ts": thread.ts,
        },  # another bot
        {**base, "user": "U0OTHERBOT", "bot_id": "B0OTHER", "ts": ts(), "thread_ts": thread.ts},
        {**base, "user": "U0CUST", "ts": ts(), "thread_ts": ts()},  # a thread it did not start
        {**base, "user": "U0CUST", "ts": ts()},  # the channel, outside threads
        {**base, "subtype": "channel_join", "user": "U0CUST", "ts": ts(), "thread_ts": thread.ts},
    ]
    for event in ignored:
        assert send_event(bot, event) == 200
    thread.say("help")  # a real reply after them is still answered: the queue is not stuck
    assert len(slack.calls("chat.postMessage")) == before + 1
    assert answers(db, thread.key) == {}


def test_typed_text_is_escaped_in_the_thread(bot: BotProcess, slack: SlackStandIn) -> None:
    thread = open_rfi(bot, slack)
    for text, _ in FULL[:9]:
        thread.say(text)
    thread.say("<!channel> <https://evil.example|click> & co")  # previous provider
    reply = thread.replies()[-1]
    for text in mrkdwn_of(reply):
        assert "<!channel>" not in text
        assert "<https://evil" not in text
    assert "&lt;!channel&gt;" in reply.params["text"]


# --- buttons and the form ----------------------------------------------------------------------


def test_choice_buttons_answer_the_question(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    thread = open_rfi(bot, slack)
    for text, _ in FULL[:8]:
        thread.say(text)
    question = thread.replies()[-1]
    assert "Mail platform" in question.params["text"]
    (m365,) = [b for b in buttons(question) if b["text"]["text"] == "Microsoft 365"]
    before = len(thread.replies())
    status, _ = click(bot, thread, question, m365)
    assert status == 200
    thread.wait_replies(before + 1)
    assert answers(db, thread.key)["platform"][0]["kind"] == "m365"
    assert "Previous gateway provider" in thread.last()


def test_the_next_button_moves_on_from_a_list(bot: BotProcess, slack: SlackStandIn) -> None:
    thread = open_rfi(bot, slack)
    thread.say(FULL[0][0])
    got = thread.replies()[-1]
    (next_button,) = [b for b in buttons(got) if b["action_id"] == "rfi_next"]
    before = len(thread.replies())
    assert click(bot, thread, got, next_button)[0] == 200
    thread.wait_replies(before + 1)
    assert "Sending IP addresses" in thread.last()


def test_the_form_prefills_validates_per_field_and_saves_all_or_nothing(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    thread = open_rfi(bot, slack, service="archiving")
    thread.say(FULL[0][0])
    thread.say("next")
    (form_button,) = buttons(thread.root)
    assert click(bot, thread, thread.root, form_button)[0] == 200
    (opened,) = slack.wait_for("views.open", 1, WAIT)[-1:]
    view = modal_for(slack, opened.params["trigger_id"], WAIT)  # loading, then the form
    fields = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert list(fields) == [
        "contacts",
        "outbound_ips",
        "domains",
        "platform",
        "previous_provider",
        "journaling",
        "directory",
    ]
    assert "jane@acme.example" in fields["contacts"]["element"]["initial_value"]
    assert fields["previous_provider"]["optional"] is True

    def submit(values: dict[str, str]) -> tuple[int, bytes]:
        state = {
            qid: {"value": {"type": "plain_text_input", "value": values.get(qid)}} for qid in fields
        }
        payload = {
            "type": "view_submission",
            "user": {"id": "U0CUST", "team_id": "T0TEST"},
            "team": {"id": "T0TEST"},
            "api_app_id": "A0CONNECT",
            "trigger_id": "trig-submit",
            "view": {**view, "id": "V0FORM", "state": {"values": state}},
        }
        status, _, body = post(bot.events_url, bot.secret, interaction_body(payload))
        return status, body

    good = {
        "contacts": fields["contacts"]["element"]["initial_value"],
        "outbound_ips": "127.0.0.30",
        "domains": "acme.example",
        "platform": "Microsoft 365",
        "previous_provider": "",
        "journaling": "smtp",
        "directory": "none",
    }
    status, body = submit({**good, "domains": "not a domain!", "outbound_ips": "10.0.0.1/8"})
    assert status == 200
    answer = json.loads(body)
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"domains", "outbound_ips"}
    assert all(len(text) <= 150 for text in answer["errors"].values())
    assert set(answers(db, thread.key)) == {"contacts"}  # nothing half-saved

    before = len(thread.replies())
    status, body = submit(good)
    assert (status, body) == (200, b"")
    thread.wait_replies(before + 1)
    assert "the request for information is done" in thread.last()
    stored = answers(db, thread.key)
    assert stored["previous_provider"] == []  # optional, left empty: recorded as skipped
    assert stored["directory"] == ["none"]
    assert rfi_state(db, thread.key) == "done"


# --- commands about the RFI --------------------------------------------------------------------


def test_rfi_show_and_status_progress(bot: BotProcess, slack: SlackStandIn) -> None:
    thread = open_rfi(bot, slack)
    for text, _ in FULL[:5]:
        thread.say(text)
    reply = bot.send("rfi show", channel_id=thread.channel, user_id="U0ENG")
    assert reply.status == 200
    posted = slack.wait_for(
        lambda c: (
            c.method == "chat.postMessage"
            and c.params.get("channel") == thread.channel
            and "RFI answers" in c.params.get("text", "")
        ),
        1,
        WAIT,
    )[-1]
    assert "jane@acme.example" in posted.params["text"]
    bot.send("status", channel_id=thread.channel, user_id="U0ENG")
    status = slack.wait_for(
        lambda c: (
            c.method == "chat.postMessage"
            and c.params.get("channel") == thread.channel
            and "Firewall lockdown" in c.params.get("text", "")
            and "Onboarding: " not in c.params.get("text", "")
        ),
        1,
        WAIT,
    )[-1]
    assert "RFI 3/8" in status.params["text"]


def test_rfi_again_reasks_the_open_question_in_its_thread(
    bot: BotProcess, slack: SlackStandIn
) -> None:
    thread = open_rfi(bot, slack)
    before = len(thread.replies())
    assert bot.send(f"rfi {thread.key}", channel_id=thread.channel).status == 200
    thread.wait_replies(before + 1)
    assert "Question 1 of 8" in thread.last()


def test_answers_and_their_changes_are_audited(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    thread = open_rfi(bot, slack)
    thread.say(FULL[0][0])
    thread.say("change contacts")
    thread.say(
        "Jane Smith, jane@acme.example, primary\nRaj Patel, raj@acme.example, technical\n"
        "Bo Li, bo@acme.example, billing"
    )
    with Session(db) as session:
        query = (
            select(AuditEvent)
            .join(Onboarding, col(Onboarding.id) == col(AuditEvent.onboarding_id))
            .where(Onboarding.key == thread.key, AuditEvent.action == "rfi.answer")
        )
        audited = list(session.exec(query))
    assert [(e.actor, e.detail["how"]) for e in audited] == [
        ("U0CUST", "added"),
        ("U0CUST", "replaced"),
    ]
    assert len(audited[-1].detail["values"]) == 3
