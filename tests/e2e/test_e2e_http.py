"""End to end over HTTP: signed slash commands to a real `connect-bot serve` process.

Assertions are on what Slack would see (the HTTP ack, the stand-in's chat.postMessage and
response_url calls) and on the database rows. Most tests share one bot per module; each uses
its own channel ids and customer keys, so none depends on another or on their order.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.request import ProxyHandler, Request, build_opener

import pytest
from sqlalchemy import Engine, create_engine
from support.bot_process import BotProcess
from support.signing import post, slash_command_body
from support.slack_standin import SlackStandIn
from support.slash_commands import (
    WAIT,
    counts,
    events,
    header_of,
    is_post_in,
    mrkdwn_texts,
    new_channel,
    new_key,
    onboarding_row,
    open_onboarding,
    posts_in,
    responses_to,
    section_text,
    send_ok,
    step_rows,
    wait_posts,
    wait_responses,
)

STEP_TITLES = [
    "Request for information",
    "Outbound",
    "Recipient validation",
    "Journaling",
    "Inbound",
    "Firewall lockdown",
]
STEP_NAMES = ["rfi", "outbound", "recipients", "journaling", "inbound", "firewall"]
NOT_NEEDED = {
    "archiving": {"outbound", "inbound", "firewall"},
    "security": {"journaling"},
    "both": set(),
}
VERBS = ["open", "status", "list", "done", "reopen", "close", "rfi", "help"]

_NO_PROXY = build_opener(ProxyHandler({}))


# --- the happy paths ---------------------------------------------------------------------------


@pytest.mark.parametrize("service", ["archiving", "security", "both"])
def test_open_posts_the_plan_in_the_channel(
    bot: BotProcess, slack: SlackStandIn, db: Engine, service: str
) -> None:
    key, channel = new_key("plan"), new_channel()

    reply = send_ok(bot, f"open {key} --service {service} --region eu", channel_id=channel)

    # The plan, then the RFI message and its first question (in the thread): once the question
    # is posted the RFI has started, so what the store holds below no longer races the bot.
    call = wait_posts(slack, channel)[0]
    slack.wait_for(
        lambda c: (
            c.method == "chat.postMessage"
            and c.params.get("channel") == channel
            and bool(c.params.get("thread_ts"))
        ),
        1,
        timeout=WAIT,
    )
    assert call.token == "xoxb-test"
    message = call.params
    assert message["channel"] == channel
    assert message["text"].startswith(f"Onboarding: {key} ({key})")
    header = header_of(message)
    assert header == {
        "type": "plain_text",
        "text": f"Onboarding: {key} ({key})",
        "emoji": True,
    }
    # The card: one line per step that applies, with its state.
    body = section_text(message)
    for title, step in zip(STEP_TITLES, STEP_NAMES, strict=True):
        if step in NOT_NEEDED[service]:
            assert f"*{title}*" not in body, body
        else:
            assert f"*{title}* · " in body, body
    applicable = 6 - len(NOT_NEEDED[service])
    assert f"{applicable} of the 6 Connect steps apply" in " ".join(mrkdwn_texts(message))
    assert "EU" in " ".join(mrkdwn_texts(message))
    assert responses_to(slack, reply.response_name) == []  # public: the channel, not response_url

    row = onboarding_row(db, key)
    assert row is not None
    assert (row.service, row.region, row.channel_id, row.opened_by, row.closed_at) == (
        service,
        "eu",
        channel,
        "U0ENG",
        None,
    )
    states = {step: r.state for step, r in step_rows(db, key).items()}
    assert states == {
        step: "not_applicable"
        if step in NOT_NEEDED[service]
        else ("in_progress" if step == "rfi" else "not_started")
        for step in STEP_NAMES
    }
    opened, *rest = [(e.action, e.actor, e.detail) for e in events(db, key)]
    assert opened[:2] == ("onboarding.opened", "U0ENG")
    assert sorted(rest, key=lambda e: e[0]) == [
        ("rfi.started", "U0ENG", {"channel": channel, "thread_ts": rest_thread(rest)}),
        (
            "step.changed",
            "U0ENG",
            {"step": "rfi", "from": "not_started", "to": "in_progress", "by": "rfi"},
        ),
    ]


def test_status_by_key_and_in_the_bound_channel(bot: BotProcess, slack: SlackStandIn) -> None:
    key, channel, elsewhere = new_key("status"), new_channel(), new_channel()
    open_onboarding(
        bot, slack, key, channel, service="security", extra='--region de --name "Globex Corp"'
    )

    send_ok(bot, f"status {key}", channel_id=elsewhere)  # by key, from any channel
    send_ok(bot, "status", channel_id=channel)  # no key: the channel's onboarding

    (by_key,) = wait_posts(slack, elsewhere)
    without_key = wait_posts(slack, channel, 3)[-1]  # after the plan and the RFI message
    for message in (by_key.params, without_key.params):
        assert header_of(message) == {
            "type": "plain_text",
            "text": f"Globex Corp ({key})",
            "emoji": True,
        }
        bar, *lines = section_text(message).splitlines()
        assert "0/5 steps done" in bar  # the progress bar first
        assert len(lines) == 6, lines
        for line, title in zip(lines, STEP_TITLES, strict=True):
            assert f"*{title}*" in line, line
        assert "journaling" not in lines[0].lower()
        assert "not applicable" in lines[3]  # journaling is not bought with email security
        assert "in progress" in lines[0]  # opening started the RFI
        assert "RFI 0/7 answered" in lines[0]
        assert "not started" in lines[1]
        assert "Email security · DE · opened by <@U0ENG>" in " ".join(mrkdwn_texts(message))
    assert by_key.params["text"] == without_key.params["text"]


def test_list_shows_progress_after_a_done(bot: BotProcess, slack: SlackStandIn) -> None:
    key, channel = new_key("listed"), new_channel()
    open_onboarding(bot, slack, key, channel, service="both")
    send_ok(bot, f"done {key} rfi", channel_id=channel)
    wait_posts(slack, channel, 3)

    reply = send_ok(bot, "list", channel_id=channel)

    (answer,) = wait_responses(slack, reply.response_name)
    assert answer.params["response_type"] == "ephemeral"
    (line,) = [line for line in answer.params["text"].splitlines() if f"*{key}*" in line]
    assert "1/6 steps done" in line
    assert "Email security + Archiving" in line
    assert len(posts_in(slack, channel)) == 3  # the listing went to the asker only


def test_done_and_reopen_are_recorded_with_who(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    key, channel = new_key("moves"), new_channel()
    open_onboarding(bot, slack, key, channel, service="security", user_id="U0OPENER")

    send_ok(bot, "done outbound", channel_id=channel, user_id="U0DONER")  # bound channel: no key
    done_post = wait_posts(slack, channel, 3)[-1].params
    assert "*Outbound*" in done_post["text"]
    assert "marked done by <@U0DONER> (was not started)" in section_text(done_post)
    row = step_rows(db, key)["outbound"]
    assert (row.state, row.changed_by) == ("done", "U0DONER")
    last = events(db, key)[-1]
    assert (last.action, last.actor) == ("step.changed", "U0DONER")
    assert last.detail == {"step": "outbound", "from": "not_started", "to": "done", "by": "done"}

    send_ok(bot, f"reopen {key} outbound", channel_id=channel, user_id="U0REOPENER")
    reopen_post = wait_posts(slack, channel, 4)[-1].params
    assert "reopened by <@U0REOPENER> (was done)" in section_text(reopen_post)
    row = step_rows(db, key)["outbound"]
    assert (row.state, row.changed_by) == ("in_progress", "U0REOPENER")
    actions = [(e.action, e.actor, e.detail.get("by")) for e in events(db, key)]
    assert actions == [
        ("onboarding.opened", "U0OPENER", None),
        ("step.changed", "U0OPENER", "rfi"),  # the RFI started in its thread
        ("rfi.started", "U0OPENER", None),
        ("step.changed", "U0DONER", "done"),
        ("step.changed", "U0REOPENER", "reopen"),
    ]
    assert step_rows(db, key)["rfi"].changed_by == "U0OPENER"  # untouched steps keep theirs


def test_close_shows_closed_and_refuses_further_changes(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    key, channel = new_key("closing"), new_channel()
    open_onboarding(bot, slack, key, channel)

    send_ok(bot, f"close {key} --yes", channel_id=channel, user_id="U0CLOSER")
    closed = wait_posts(slack, channel, 3)[-1].params
    assert f"({key})* was closed by <@U0CLOSER>" in section_text(closed)
    row = onboarding_row(db, key)
    assert row is not None
    assert row.closed_by == "U0CLOSER"
    assert row.closed_at is not None

    send_ok(bot, f"status {key}", channel_id=channel)
    status = wait_posts(slack, channel, 4)[-1].params
    assert header_of(status)["text"] == f"{key} ({key}) · closed"

    before = counts(db)
    reply = send_ok(bot, f"done {key} rfi", channel_id=channel)
    (refusal,) = wait_responses(slack, reply.response_name)
    assert refusal.params["response_type"] == "ephemeral"
    assert f"{key} is closed; its steps can no longer change." in refusal.params["text"]
    assert counts(db) == before
    assert step_rows(db, key)["rfi"].state == "in_progress"
    assert len(posts_in(slack, channel)) == 4


def test_help_is_answered_in_the_ack(bot: BotProcess, slack: SlackStandIn) -> None:
    for text in ("help", ""):
        reply = bot.send(text, channel_id=new_channel())
        assert reply.status == 200
        assert reply.headers["content-type"].startswith("application/json")
        answer = reply.json()
        assert answer["response_type"] == "ephemeral"
        for verb in VERBS:
            assert f"`/connect {verb}" in answer["text"], verb
        assert answer["blocks"], answer
        assert responses_to(slack, reply.response_name) == []

    reply = bot.send("help open", channel_id=new_channel())
    answer = reply.json()
    assert answer["response_type"] == "ephemeral"
    assert "`/connect open &lt;customer&gt; --service archiving|security|both" in answer["text"]
    assert "`/connect status" not in answer["text"]


# --- bad input: an ephemeral answer, and nothing changes ---------------------------------------


@dataclass(frozen=True)
class BadInput:
    id: str
    text: str  # {key} is a fresh customer key
    expect: tuple[str, ...]  # substrings of the answer's text ({key} filled in)
    where: str = "response_url"  # or "ack": parse errors are answered in the HTTP answer
    setup: str | None = None  # open {key} with this service first, in another channel
    user_id: str = "U0ENG"


LONG_NAME = "x" * 101
BAD_INPUTS = [
    BadInput("no-key", "open --service both", ("Say which customer to open",)),
    BadInput(
        "bad-slug",
        "open Acme_Corp --service both",
        (
            "Acme_Corp is not a valid customer key",
            "Did you mean acme-corp?",
            "Usage: `/connect open",
        ),
    ),
    BadInput(
        "existing-key",
        "open {key} --service security",
        ("{key} exists already: opened by <@U0FIRST>",),
        setup="both",
        user_id="U0SECOND",
    ),
    BadInput(
        "unknown-service",
        "open {key} --service spam",
        ("spam is not a service", "archiving, security (or email-security) or both"),
    ),
    BadInput(
        "unknown-region",
        "open {key} --service both --region mars",
        ("mars is not a region", "eu, de, us, usb, ca, za, au"),
    ),
    BadInput(
        "unknown-verb",
        "frobnicate {key}",
        ("I don't know the verb frobnicate", "Usage: `/connect help"),
        where="ack",
    ),
    BadInput(
        "unknown-flag",
        "open {key} --service both --colour red",
        ("open has no flag --colour", "Usage: `/connect open"),
        where="ack",
    ),
    BadInput(
        "unbalanced-quote",
        'open {key} --service both --name "Acme Ltd',
        ("A quote is not closed",),
        where="ack",
    ),
    BadInput(
        "name-too-long",
        'open {key} --service both --name "' + LONG_NAME + '"',
        ("The name is 101 characters", "at most 100"),
    ),
    BadInput("no-step", "done", ("Say which step.", "Usage: `/connect done")),
    BadInput(
        "unknown-step",
        "done {key} nosuchstep",
        ("nosuchstep is not a step", "rfi, outbound, recipients, journaling, inbound, firewall"),
        setup="both",
    ),
    BadInput(
        "step-not-applicable",
        "done {key} outbound",
        ("Outbound does not apply to this onboarding's service",),
        setup="archiving",
    ),
    BadInput(
        "reopen-not-done",
        "reopen {key} outbound",
        ("Outbound is not started, not done, so there is nothing to reopen",),
        setup="both",
    ),
    BadInput("status-unbound-channel", "status", ("This channel has no onboarding",)),
    BadInput("close-without-key", "close", ("Spell out the customer to close",)),
]


@pytest.mark.parametrize("case", BAD_INPUTS, ids=[c.id for c in BAD_INPUTS])
def test_bad_input_gets_an_ephemeral_answer_and_changes_nothing(
    bot: BotProcess, slack: SlackStandIn, db: Engine, case: BadInput
) -> None:
    key, channel = new_key("bad"), new_channel()
    if case.setup:
        open_onboarding(bot, slack, key, new_channel(), service=case.setup, user_id="U0FIRST")
    before = counts(db)
    steps_before = {s: (r.state, r.changed_by) for s, r in step_rows(db, key).items()}

    reply = bot.send(case.text.format(key=key), channel_id=channel, user_id=case.user_id)

    assert reply.status == 200
    if case.where == "ack":
        answer = reply.json()
        assert responses_to(slack, reply.response_name) == []
    else:
        assert reply.body == b""
        (call,) = wait_responses(slack, reply.response_name)
        answer = call.params
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith("⚠️ ")
    for expected in case.expect:
        assert expected.format(key=key) in answer["text"], answer["text"]
    assert answer["blocks"][0]["type"] == "section"
    assert counts(db) == before
    assert {s: (r.state, r.changed_by) for s, r in step_rows(db, key).items()} == steps_before
    if not case.setup:
        assert onboarding_row(db, key) is None
    assert posts_in(slack, channel) == []


def test_unknown_customer_gets_a_close_match(bot: BotProcess, slack: SlackStandIn) -> None:
    # The only test that uses the key "acme" (keys are unique in the shared database).
    open_onboarding(bot, slack, "acme", new_channel())

    reply = send_ok(bot, "status acmee", channel_id=new_channel())

    (call,) = wait_responses(slack, reply.response_name)
    assert call.params["response_type"] == "ephemeral"
    assert "There is no onboarding acmee. Did you mean acme" in call.params["text"]


# --- user text is data -------------------------------------------------------------------------


EVIL_NAME = "Evil <!channel> <https://evil.example|click> & co"
EVIL_ESCAPED = "Evil &lt;!channel&gt; &lt;https://evil.example|click&gt; &amp; co"


def assert_no_markup_from_user(message: dict[str, Any]) -> str:
    texts = mrkdwn_texts(message)
    for text in texts:
        assert "<!channel>" not in text, text
        assert "<https://evil" not in text, text
    return "\n".join(texts)


def test_user_text_is_escaped(bot: BotProcess, slack: SlackStandIn, db: Engine) -> None:
    key, channel = new_key("evil"), new_channel()
    # Slack escapes &, < and > in what people type before it sends the command.
    typed = f'open {key} --service both --name "{EVIL_ESCAPED}"'

    send_ok(bot, typed, channel_id=channel)

    opened, rfi = (call.params for call in wait_posts(slack, channel, 2))
    row = onboarding_row(db, key)
    assert row is not None
    assert row.name == EVIL_NAME  # stored as the person typed it
    assert EVIL_ESCAPED in assert_no_markup_from_user(opened)
    header = header_of(opened)
    assert header["type"] == "plain_text"  # never parsed by Slack, so shown literally
    assert header["text"] == f"Onboarding: {EVIL_NAME} ({key})"
    assert EVIL_ESCAPED in assert_no_markup_from_user(rfi)

    send_ok(bot, "done rfi", channel_id=channel)
    done = wait_posts(slack, channel, 3)[-1].params
    assert f"for {EVIL_ESCAPED} ({key}) is done" in section_text(done)
    assert_no_markup_from_user(done)

    reply = send_ok(bot, "list", channel_id=channel)
    (listing,) = wait_responses(slack, reply.response_name)
    assert f"*{key}* {EVIL_ESCAPED}" in assert_no_markup_from_user(listing.params)

    # Echoed in a parse error, too.
    reply = bot.send("&lt;!channel&gt; &lt;https://evil.example|x&gt;", channel_id=channel)
    answer = reply.json()
    assert "I don't know the verb &lt;!channel&gt;" in assert_no_markup_from_user(answer)


# --- delivery ----------------------------------------------------------------------------------


@pytest.mark.parametrize("error", ["not_in_channel", "channel_not_found"])
def test_channel_post_refused_falls_back_to_response_url(
    bot: BotProcess, slack: SlackStandIn, db: Engine, error: str
) -> None:
    key, channel = new_key("fallback"), new_channel()
    slack.fail_next("chat.postMessage", error, channel=channel)

    reply = send_ok(bot, f"open {key} --service security", channel_id=channel)

    result, hint = wait_responses(slack, reply.response_name, 2)
    assert result.params["response_type"] == "in_channel"
    assert result.params["text"].startswith(f"Onboarding: {key} ({key})")
    assert header_of(result.params)["text"] == f"Onboarding: {key} ({key})"
    assert hint.params["response_type"] == "ephemeral"
    assert "/invite" in hint.params["text"]
    (refused,) = posts_in(slack, channel)
    assert refused.answered == "error"
    assert refused.response["error"] == error
    assert onboarding_row(db, key) is not None  # the work was done; only the post moved


def test_ack_does_not_wait_for_a_slow_channel_post(bot: BotProcess, slack: SlackStandIn) -> None:
    key, channel = new_key("slow"), new_channel()
    open_onboarding(bot, slack, key, channel)
    slack.delay("chat.postMessage", 4.0)
    try:
        reply = bot.send("status", channel_id=channel)
        assert reply.status == 200
        assert reply.body == b""
        # The stand-in records a call only after the delay: the ack came back first.
        assert len(posts_in(slack, channel)) == 2  # the plan and the RFI message
        status = slack.wait_for(is_post_in(channel), 3, timeout=WAIT + 4.0)[-1]
    finally:
        slack.delay("chat.postMessage", 0)
    assert header_of(status.params)["text"] == f"{key} ({key})"


# --- HTTP surface and request signing ----------------------------------------------------------


def test_http_routes(bot: BotProcess) -> None:
    status, headers, body = bot.get("/healthz")
    assert (status, json.loads(body)) == (200, {"ok": True})
    assert headers["content-type"] == "application/json"

    status, _, body = bot.get("/no/such/path")
    assert status == 404
    assert json.loads(body) == {"error": "not found"}

    status, _, _ = bot.get("/slack/events")
    assert status == 405


def _post_without_signature(url: str, body: bytes, headers: dict[str, str]) -> int:
    assert url.startswith("http://127.0.0.1:")
    request = Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with _NO_PROXY.open(request, timeout=10) as response:
            return int(response.status)
    except HTTPError as error:
        with error:
            return error.code


def test_unsigned_forged_or_stale_requests_are_refused(
    serve_bot: Callable[..., BotProcess], standin: SlackStandIn, tmp_path: Path
) -> None:
    bot = serve_bot()
    body = slash_command_body(
        "open forged --service both",
        channel_id="C0FORGED",
        response_url=standin.response_url("forged"),
    )
    now = int(time.time())
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    answers = {
        "bad signature": post(bot.events_url, bot.secret, body, signature="v0=" + "0" * 64)[0],
        "wrong secret": post(bot.events_url, "not-the-signing-secret", body)[0],
        "missing signature": _post_without_signature(
            bot.events_url, body, {**form, "X-Slack-Request-Timestamp": str(now)}
        ),
        "no headers": _post_without_signature(bot.events_url, body, form),
        # Properly signed, but 6 minutes old: a replay.
        "stale timestamp": post(bot.events_url, bot.secret, body, timestamp=now - 6 * 60)[0],
    }

    assert answers == dict.fromkeys(answers, 401)
    assert [c.method for c in standin.calls()] == ["auth.test"]
    engine = create_engine(bot.database_url)
    try:
        assert counts(engine) == {"Onboarding": 0, "StepStatus": 0, "AuditEvent": 0}
    finally:
        engine.dispose()
    # The same body, signed now, is accepted: the refusals were about the signature alone.
    assert post(bot.events_url, bot.secret, body)[0] == 200
    standin.wait_for("chat.postMessage")


def test_sigterm_finishes_the_work_already_acked(
    serve_bot: Callable[..., BotProcess], standin: SlackStandIn
) -> None:
    bot = serve_bot()
    standin.delay("chat.postMessage", 2.0)
    reply = bot.send("open drain --service both", channel_id="C0DRAIN")
    assert reply.status == 200
    assert standin.calls("chat.postMessage") == []  # acked, the post is still to come
    assert bot.stop() == 0  # SIGTERM: exits cleanly...
    posts = standin.calls("chat.postMessage")  # ...and only after the posts went out:
    assert [p.params["channel"] for p in posts] == ["C0DRAIN"] * 3  # plan, RFI, question 1
    assert posts[2].params["thread_ts"] == posts[1].response["ts"]
    assert "Traceback" not in bot.log_text()


def rest_thread(events: list[tuple[str, str, dict[str, object]]]) -> object:
    """The RFI thread's ts as recorded (the bot chose it when it posted the RFI message)."""
    return next(detail["thread_ts"] for action, _, detail in events if action == "rfi.started")
