"""Slack request hygiene over real HTTP: signatures, replays, retried deliveries, body size.

A real `connect-bot serve`, the Slack stand-in, signed requests as Slack sends them. A refused
request must leave no trace: no Web API or response_url call, no row changed, no body in the log.
A retried or replayed delivery must not repeat a side effect.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.error import HTTPError
from urllib.request import ProxyHandler, Request, build_opener

import pytest
from sqlalchemy import create_engine, inspect, text
from support.bot_process import BotProcess
from support.rfi_thread import FULL, Thread, answer_rows, buttons, open_rfi, ts
from support.signing import (
    FORM,
    JSON,
    button_click,
    event_body,
    interaction_body,
    sign,
    slash_command_body,
)
from support.slack_standin import SlackStandIn

from bot.slack.http import MAX_BODY

_NO_PROXY = build_opener(ProxyHandler({}))
WAIT = 10.0
MARKER = "hygiene-marker-" + uuid.uuid4().hex[:8]  # in every refused body; must not be logged


def raw_post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """POST exactly these bytes with exactly these headers (no signing of our own)."""
    request = Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (loopback)
    try:
        with _NO_PROXY.open(request, timeout=10) as response:
            return int(response.status), response.read()
    except HTTPError as error:
        with error:
            return error.code, error.read()


def snapshot(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order: equal snapshots mean nothing was written."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            tables = sorted(inspect(connection).get_table_names())
            return {
                table: sorted(
                    (
                        tuple(map(str, row))
                        for row in connection.execute(text(f'SELECT * FROM "{table}"'))  # noqa: S608
                    ),
                )
                for table in tables
            }
    finally:
        engine.dispose()


REQUEST_ID = re.compile(r"request_id=(\w+)")


def settled(bot: BotProcess) -> int:
    """Wait until every request acked so far has finished its pool work (bounded); return the
    number of log lines then. The log is written by a thread of its own, so counting finished
    requests from a moment when earlier ones were still running would count theirs as ours."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        lines = bot.log_text().splitlines()
        acked = {
            m.group(1)
            for line in lines
            if "request acked" in line and "outcome=" not in line  # deferred to the pool
            for m in [REQUEST_ID.search(line)]
            if m
        }
        finished = {
            m.group(1)
            for line in lines
            if "request done" in line
            for m in [REQUEST_ID.search(line)]
            if m
        }
        if acked <= finished:
            return len(lines)
        time.sleep(0.05)
    raise AssertionError(f"requests still running after {WAIT} s:\n{bot.log_text()}")


def wait_done(bot: BotProcess, count: int, *, since: int) -> None:
    """Wait until `count` pieces of pool work finished after log line `since` (bounded)."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if "\n".join(bot.log_text().splitlines()[since:]).count("request done") >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} 'request done' lines in the log:\n{bot.log_text()}")


def tampered(
    secret: str, body: bytes, content_type: str
) -> dict[str, tuple[bytes, dict[str, str]]]:
    """The ways a request can fail verification: name -> (body sent, headers sent)."""
    now = int(time.time())
    good = sign(secret, body, now, content_type=content_type)
    altered = body.replace(MARKER.encode(), MARKER.upper().encode())
    assert altered != body
    return {
        "bad signature": (body, {**good, "X-Slack-Signature": "v0=" + "0" * 64}),
        "wrong secret": (
            body,
            sign("not-the-signing-secret", body, now, content_type=content_type),
        ),
        "no signature": (
            body,
            {"Content-Type": content_type, "X-Slack-Request-Timestamp": str(now)},
        ),
        "no timestamp": (
            body,
            {"Content-Type": content_type, "X-Slack-Signature": good["X-Slack-Signature"]},
        ),
        "no headers": (body, {"Content-Type": content_type}),
        "stale timestamp": (body, sign(secret, body, now - 6 * 60, content_type=content_type)),
        "future timestamp": (body, sign(secret, body, now + 6 * 60, content_type=content_type)),
        "garbage timestamp": (body, {**good, "X-Slack-Request-Timestamp": "12ab"}),
        "v1 signature": (
            body,
            {**good, "X-Slack-Signature": good["X-Slack-Signature"].replace("v0=", "v1=")},
        ),
        "body altered after signing": (altered, good),
    }


@pytest.fixture(scope="module")
def bot_env() -> dict[str, str]:
    return {"CONNECT_ALLOW_PRIVATE_TARGETS": "true"}


def test_unverified_requests_get_401_and_change_nothing(
    bot: BotProcess, slack: SlackStandIn
) -> None:
    thread = open_rfi(bot, slack)  # an RFI thread, so that a verified message would answer
    channel = thread.channel
    requests: dict[str, tuple[bytes, str]] = {
        "slash command": (
            slash_command_body(
                f"open {MARKER} --service both",
                channel_id="C0FORGED",
                response_url=slack.response_url("forged"),
            ),
            FORM,
        ),
        "thread reply": (
            event_body(
                {
                    "type": "message",
                    "channel": channel,
                    "user": "U0CUST",
                    "text": f"Jane, jane@{MARKER}.example, primary",
                    "ts": ts(),
                    "thread_ts": thread.ts,
                }
            ),
            JSON,
        ),
        "button click": (
            interaction_body(
                {
                    "type": "block_actions",
                    "user": {"id": "U0CUST", "team_id": "T0TEST"},
                    "team": {"id": "T0TEST"},
                    "trigger_id": "trig-forged",
                    "channel": {"id": channel},
                    "container": {"channel_id": channel, "thread_ts": thread.ts},
                    "message": {"ts": thread.ts, "thread_ts": thread.ts},
                    "actions": [{"action_id": "rfi_next", "value": "{}", "action_ts": MARKER}],
                }
            ),
            FORM,
        ),
    }
    calls_before = len(slack.calls())
    rows_before = snapshot(bot.database_url)

    answers: dict[str, int] = {}
    for kind, (body, content_type) in requests.items():
        for how, (sent, headers) in tampered(bot.secret, body, content_type).items():
            answers[f"{kind}: {how}"] = raw_post(bot.events_url, sent, headers)[0]

    assert answers == dict.fromkeys(answers, 401)
    time.sleep(0.3)  # anything wrongly queued would have run by now (no assertion on time)
    assert slack.calls()[calls_before:] == []
    assert snapshot(bot.database_url) == rows_before
    log = bot.log_text()
    assert MARKER not in log
    assert MARKER.upper() not in log
    assert log.count("bad, missing or stale signature") == len(answers)

    # The same slash command, signed now, is accepted: the refusals were about signing alone.
    body, content_type = requests["slash command"]
    status, _ = raw_post(bot.events_url, body, sign(bot.secret, body, content_type=content_type))
    assert status == 200
    slack.wait_for(lambda c: c.params.get("channel") == "C0FORGED", 1, WAIT)


def test_the_same_signed_bytes_twice_run_once(bot: BotProcess, slack: SlackStandIn) -> None:
    """A replay within the 5-minute window (slash commands carry no event id to spot it by)."""
    key, channel = f"replay-{uuid.uuid4().hex[:6]}", "C0REPLAY"
    body = slash_command_body(
        f"open {key} --service archiving",
        channel_id=channel,
        response_url=slack.response_url("replay"),
    )
    headers = sign(bot.secret, body)
    since = settled(bot)
    first = raw_post(bot.events_url, body, headers)
    second = raw_post(bot.events_url, body, headers)
    assert first == (200, b"")
    assert second == (200, b"")
    slack.wait_for(lambda c: c.params.get("channel") == channel, 2, WAIT)  # plan + RFI
    wait_done(bot, 1, since=since)  # the one open that ran
    rows = snapshot(bot.database_url)["onboarding"]
    assert sum(1 for row in rows if key in row) == 1
    opened = [
        c
        for c in slack.calls("chat.postMessage")
        if c.params.get("channel") == channel and "Onboarding: " in c.params.get("text", "")
    ]
    assert len(opened) == 1
    assert "ignored a request already received" in bot.log_text()


def message_event(thread: Thread, text: str, message_ts: str) -> dict[str, Any]:
    return {
        "type": "message",
        "channel": thread.channel,
        "channel_type": "channel",
        "user": "U0CUST",
        "text": text,
        "ts": message_ts,
        "thread_ts": thread.ts,
        "event_ts": message_ts,
    }


def deliver(bot: BotProcess, event: dict[str, Any], event_id: str, retry: int | None) -> int:
    """One delivery of `event`; a retry comes later (another timestamp, another signature)."""
    if retry:
        time.sleep(1.01)
    body = event_body(event, event_id=event_id)
    headers = sign(bot.secret, body, content_type=JSON)
    if retry:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    return raw_post(bot.events_url, body, headers)[0]


def test_a_message_delivered_three_times_is_answered_once(
    bot: BotProcess, slack: SlackStandIn
) -> None:
    thread = open_rfi(bot, slack)
    replies = len(thread.replies())
    since = settled(bot)
    event_id = "Ev" + uuid.uuid4().hex[:10].upper()
    event = message_event(thread, FULL[0][0], ts())
    statuses = [deliver(bot, event, event_id, retry) for retry in (None, 1, 2)]
    assert statuses == [200, 200, 200]
    wait_done(bot, 3, since=since)  # all three deliveries have been through the pool
    thread.wait_replies(replies + 1)
    assert len(thread.replies()) == replies + 1
    assert len(answer_rows_of(bot, thread.key)) == 1
    # The log names each retry, and none of them ran the answer again.
    lines = [line for line in bot.log_text().splitlines() if "retry=" in line]
    assert any("retry=1" in line for line in lines)
    assert any("retry=2" in line for line in lines)


def test_an_edit_delivered_twice_is_read_again_once(bot: BotProcess, slack: SlackStandIn) -> None:
    thread = open_rfi(bot, slack)
    message_ts = thread.say(FULL[0][0])
    before = len(thread.replies())
    since = settled(bot)
    edit = {
        "type": "message",
        "subtype": "message_changed",
        "channel": thread.channel,
        "hidden": True,
        "ts": ts(),
        "message": {
            "type": "message",
            "user": "U0CUST",
            "text": "Jane Smith, jane@acme.example, primary",
            "ts": message_ts,
            "thread_ts": thread.ts,
            "edited": {"user": "U0CUST", "ts": ts()},
        },
    }
    event_id = "Ev" + uuid.uuid4().hex[:10].upper()
    assert [deliver(bot, edit, event_id, retry) for retry in (None, 1)] == [200, 200]
    wait_done(bot, 2, since=since)
    thread.wait_replies(before + 1)
    assert len(thread.replies()) == before + 1


def test_a_click_delivered_twice_answers_once(bot: BotProcess, slack: SlackStandIn) -> None:
    """Slack does not retry interactions, but a click that arrives twice (a proxy's retry, a
    replay with a fresh signature) carries the same action_ts: it is acted on once."""
    thread = open_rfi(bot, slack)
    thread.say(FULL[0][0])
    message = thread.replies()[-1]
    (next_button,) = [b for b in buttons(message) if b["action_id"] == "rfi_next"]
    action_ts = ts()
    payload = button_click(
        message,
        next_button,
        user="U0CUST",
        channel=thread.channel,
        response_url=slack.response_url("click-twice"),
        block_id="connect_actions",
        thread_ts=thread.ts,
        action_ts=action_ts,
        trigger_id="trig-twice",
    )
    before = len(thread.replies())
    since = settled(bot)
    body = interaction_body(payload)
    first = raw_post(bot.events_url, body, sign(bot.secret, body))
    time.sleep(1.01)  # a fresh timestamp: a different signature, the same click
    second = raw_post(bot.events_url, body, sign(bot.secret, body))
    assert (first[0], second[0]) == (200, 200)
    wait_done(bot, 2, since=since)
    thread.wait_replies(before + 1)
    assert len(thread.replies()) == before + 1
    assert "Sending IP addresses" in thread.last()


def answer_rows_of(bot: BotProcess, key: str) -> list[Any]:
    engine = create_engine(bot.database_url)
    try:
        return answer_rows(engine, key)
    finally:
        engine.dispose()


def test_a_url_verification_needs_a_signature_too(bot: BotProcess) -> None:
    body = json.dumps({"type": "url_verification", "challenge": MARKER, "token": "x"}).encode()
    assert raw_post(bot.events_url, body, {"Content-Type": JSON})[0] == 401
    status, answer = raw_post(bot.events_url, body, sign(bot.secret, body, content_type=JSON))
    assert status == 200
    assert MARKER.encode() in answer


def test_signed_junk_gets_400_and_the_bot_keeps_serving(bot: BotProcess) -> None:
    """Only Slack can sign, but a body Bolt cannot read still gets a clean answer, unlogged."""
    junk = {
        "payload that is not JSON": (f"payload=%7B{MARKER}".encode(), FORM),
        "payload that is a list": (f"payload=%5B%22{MARKER}%22%5D".encode(), FORM),
        "JSON that is not an object": (json.dumps([MARKER]).encode(), JSON),
        "broken JSON": (b"{" + MARKER.encode(), JSON),
    }
    for name, (body, content_type) in junk.items():
        status, answer = raw_post(
            bot.events_url, body, sign(bot.secret, body, content_type=content_type)
        )
        assert (name, status, json.loads(answer)) == (name, 400, {"error": "bad request"})
    assert bot.get("/healthz")[0] == 200
    assert bot.send("help").status == 200
    assert MARKER not in bot.log_text()


# --------------------------------------------------------------------------- body size bound

PROMPT = 5.0  # seconds; an answer that needs the body never comes, so this only bounds a failure


def request_head(bot: BotProcess, headers: dict[str, str]) -> bytes:
    lines = ["POST /slack/events HTTP/1.1", f"Host: {bot.host}:{bot.port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def exchange(bot: BotProcess, head: bytes, pieces: Iterable[bytes]) -> tuple[bytes, int, float]:
    """Send `head` then `pieces` from a thread of their own while reading the answer here, so a
    server that answers early is heard at once; return (answer, body bytes sent, seconds).

    The answer is everything the server sent until it closed the connection. A server that
    waits for more of the body answers nothing, and the test fails saying so.
    """
    sent = 0

    def send(sock: socket.socket) -> None:
        nonlocal sent
        try:
            sock.sendall(head)
            for piece in pieces:
                view = memoryview(piece)
                while view:  # counted as the kernel takes it, so a refusal mid-piece counts too
                    taken = sock.send(view)
                    sent += taken
                    view = view[taken:]
        except OSError:  # the server has answered and closed: the rest is not wanted
            pass

    answer = b""
    with socket.create_connection((bot.host, bot.port), timeout=PROMPT) as sock:
        started = time.monotonic()
        sender = threading.Thread(target=send, args=(sock,), daemon=True)
        sender.start()
        while True:
            try:
                data = sock.recv(65536)
            except TimeoutError:
                raise AssertionError(
                    f"no answer within {PROMPT:g} s with {sent:,} body bytes sent: the server "
                    f"is waiting for the rest of the body (got {answer[:200]!r})"
                ) from None
            except ConnectionResetError:  # closed with bytes of ours unread; the answer is kept
                break
            if not data:
                break
            answer += data
        elapsed = time.monotonic() - started
        with contextlib.suppress(OSError):  # (already gone after a reset)
            sock.shutdown(socket.SHUT_RDWR)  # the sender stops now if it is still writing
        sender.join(PROMPT)
    return answer, sent, elapsed


def status_of(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    return int(answer.split(b" ", 2)[1])


def test_a_body_announced_too_large_is_refused_before_it_is_sent(bot: BotProcess) -> None:
    """300 MB announced, 11 bytes sent: the 413 comes from the headers alone, at once."""
    head = request_head(bot, {"Content-Type": FORM, "Content-Length": "300000000"})
    answer, _, elapsed = exchange(bot, head, [b"payload=%7B"])
    assert status_of(answer) == 413
    assert elapsed < 2.0, f"413 after {elapsed:.2f} s"  # from the headers: milliseconds
    assert bot.get("/healthz")[0] == 200


def test_a_chunked_body_is_refused_once_it_passes_the_bound(bot: BotProcess) -> None:
    """No length announced: the server reads up to the bound, then answers 413 although the
    body has not ended (up to three times the bound is offered, never the final 0-chunk)."""
    head = request_head(bot, {"Content-Type": FORM, "Transfer-Encoding": "chunked"})
    chunk = b"%x\r\n%s\r\n" % (65536, b"a" * 65536)
    answer, sent, _ = exchange(bot, head, [chunk] * (3 * MAX_BODY // len(chunk)))
    assert status_of(answer) == 413
    assert sent > MAX_BODY  # refused for its size, not for something else
    assert bot.get("/healthz")[0] == 200


@pytest.mark.parametrize(("size", "expected"), [(MAX_BODY, 401), (MAX_BODY + 1, 413)])
def test_the_bound_is_one_megabyte_inclusive(bot: BotProcess, size: int, expected: int) -> None:
    """The server's bound and the app's agree: exactly MAX_BODY bytes get as far as the
    signature check (unsigned here: 401), one byte more is too large."""
    head = request_head(bot, {"Content-Type": FORM, "Content-Length": str(size)})
    answer, _, _ = exchange(bot, head, [b"a" * size])
    assert status_of(answer) == expected


def test_expect_continue_reads_no_more_than_the_bound(bot: BotProcess) -> None:
    """With `Expect: 100-continue` waitress 3.0 says 100 Continue even to a length over its bound
    (its send_continue clears the refusal), then refuses once the bound is read: a 300 MB
    announcement still costs at most the bound, not the body."""
    head = request_head(
        bot,
        {"Content-Type": FORM, "Content-Length": "300000000", "Expect": "100-continue"},
    )
    answer, sent, _ = exchange(bot, head, [b"a" * 65536] * (3 * MAX_BODY // 65536))
    statuses = re.findall(rb"^HTTP/1\.1 (\d{3}) ", answer, re.MULTILINE)
    assert statuses[-1] == b"413", answer[:300]
    assert sent > MAX_BODY
