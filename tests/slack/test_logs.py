"""Structured logs of a real `connect-bot serve` with CONNECT_LOG_FORMAT=json.

Every line is one JSON object; every Slack request gets a request id that its ack line and the
lines of its pool work share, with the kind, the verb and the outcome (ok / refused / error) and
the ack and total times. What people type is not logged at info level.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from support.bot_process import BotProcess
from support.rfi_thread import open_rfi
from support.slack_standin import SlackStandIn

WAIT = 10.0
SAYING = "log-canary-" + uuid.uuid4().hex[:8]  # typed by people below; never in the log


@pytest.fixture(scope="module")
def bot_env() -> dict[str, str]:
    return {"CONNECT_LOG_FORMAT": "json", "CONNECT_ALLOW_PRIVATE_TARGETS": "true"}


def records(bot: BotProcess) -> list[dict[str, Any]]:
    lines = [line for line in bot.log_text().splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # every line must parse


def wait_record(bot: BotProcess, match: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        found = [r for r in records(bot) if match(r)]
        if found:
            return found[-1]
        time.sleep(0.05)
    raise AssertionError("no such log record; the log:\n" + bot.log_text())


def of_request(bot: BotProcess, request_id: str) -> list[dict[str, Any]]:
    return [r for r in records(bot) if r.get("request_id") == request_id]


def test_every_line_is_json_and_a_command_is_summed_up(
    bot: BotProcess, slack: SlackStandIn
) -> None:
    key, channel = f"log-{uuid.uuid4().hex[:6]}", "C" + uuid.uuid4().hex[:10].upper()
    assert (
        bot.send(f'open {key} --service both --name "{SAYING}"', channel_id=channel).status == 200
    )
    done = wait_record(bot, lambda r: r.get("msg") == "request done" and r.get("verb") == "open")
    request_id = done["request_id"]
    lines = of_request(bot, request_id)
    acked = [r for r in lines if r["msg"] == "request acked"]
    assert len(acked) == 1
    assert acked[0]["kind"] == "command"
    assert acked[0]["status"] == 200
    assert isinstance(acked[0]["ack_ms"], int | float)
    assert done["outcome"] == "ok"
    assert done["total_ms"] >= acked[0]["ack_ms"] >= 0
    # The summary is bound on the pool's thread, so the request's context went along with it.
    assert done["result"] == "Opened"
    for record in records(bot):
        assert {"ts", "level", "logger", "msg"} <= set(record)
    assert SAYING not in bot.log_text()


def test_answers_in_the_ack_and_refusals_have_an_outcome(bot: BotProcess) -> None:
    assert bot.send("help").status == 200
    helped = wait_record(bot, lambda r: r.get("verb") == "help" and "outcome" in r)
    assert (helped["msg"], helped["outcome"]) == ("request acked", "ok")
    assert helped["total_ms"] == helped["ack_ms"]

    assert bot.send(f"frobnicate {SAYING}").status == 200
    refused = wait_record(bot, lambda r: r.get("verb") == "unparsed" and "outcome" in r)
    assert refused["outcome"] == "refused"

    assert bot.send(f"status nobody-{uuid.uuid4().hex[:6]}", channel_id="C0LOGNONE").status == 200
    not_found = wait_record(
        bot, lambda r: r.get("verb") == "status" and r.get("msg") == "request done"
    )
    assert not_found["outcome"] == "refused"
    assert SAYING not in bot.log_text()


def test_a_failure_is_an_error_with_a_reference(bot: BotProcess, slack: SlackStandIn) -> None:
    channel = "C" + uuid.uuid4().hex[:10].upper()
    slack.fail_next("chat.postMessage", error="internal_error", channel=channel)
    key = f"err-{uuid.uuid4().hex[:6]}"
    assert bot.send(f"open {key} --service archiving", channel_id=channel).status == 200
    failed = wait_record(
        bot, lambda r: r.get("msg") == "request done" and r.get("outcome") == "error"
    )
    assert failed["verb"] == "open"
    assert len(failed["ref"]) == 12
    (trace,) = [
        r for r in of_request(bot, failed["request_id"]) if r["level"] == "error" and "exc" in r
    ]
    assert failed["ref"] in trace["msg"]


def test_thread_replies_are_logged_without_their_text(bot: BotProcess, slack: SlackStandIn) -> None:
    thread = open_rfi(bot, slack)
    thread.say(f"{SAYING} is not a contact")
    done = wait_record(
        bot, lambda r: r.get("kind") == "event:message" and r.get("msg") == "request done"
    )
    assert done["outcome"] == "ok"
    assert SAYING not in bot.log_text()
    # Slack's libraries log payloads only at debug: none of their debug lines at info.
    assert not [r for r in records(bot) if r["level"] == "debug"]


def test_request_ids_differ_per_request(bot: BotProcess) -> None:
    for _ in range(3):
        assert bot.send("help list").status == 200
    ids = [
        r["request_id"]
        for r in records(bot)
        if r.get("verb") == "help" and r.get("msg") == "request acked"
    ]
    assert len(ids) == len(set(ids)) >= 3


def test_text_format_is_the_default_and_names_the_request(
    serve_bot: Callable[..., BotProcess],
) -> None:
    plain = serve_bot()
    assert plain.send("help").status == 200
    deadline = time.monotonic() + WAIT
    while "request acked" not in plain.log_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    (line,) = [x for x in plain.log_text().splitlines() if "request acked" in x]
    assert line.split()[2] == "INFO"
    assert "request_id=" in line
    assert "verb=help" in line
    assert "outcome=ok" in line
