"""End to end over Socket Mode: a real `connect-bot run` process, offline on 127.0.0.1.

The bot calls auth.test and apps.connections.open on the Web API stand-in, which sends it to a
local Socket Mode server (tests/support/socket_mode_server.py); the tests then send slash command
envelopes over that WebSocket as Slack does, and assert on the acks the bot sends back and on
the Web API calls it makes. One bot serves the whole module; each test uses its own channel.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from support.bot_process import PROJECT_ROOT, BotProcess, bot_environment
from support.slack_standin import Call, SlackStandIn
from support.socket_mode_server import Connection, SocketModeServer, slash_command_payload

APP_TOKEN = "xapp-1-test"
START_TIMEOUT = 30.0  # seconds for the process to start, migrate and connect
WAIT = 10.0  # seconds: bound for any single ack or Web API call to arrive
STEP_TITLES = [
    "Request for information",
    "Outbound",
    "Recipient validation",
    "Journaling",
    "Inbound",
    "Firewall lockdown",
]
VERBS = ["open", "status", "list", "done", "reopen", "close", "help"]


class SocketBot(BotProcess):
    """A `connect-bot run` process. It listens on no port; it is a BotProcess for the stop and
    log handling, and so that conftest adds its log to the report of a failing test."""

    def __init__(self, process: subprocess.Popen[bytes], database_url: str, log_path: Path):
        super().__init__(
            process,
            host="127.0.0.1",
            port=0,
            secret="",
            database_url=database_url,
            log_path=log_path,
            response_url=None,
        )


def start_socket_bot(
    slack: SlackStandIn, workdir: Path, *, app_token: str = APP_TOKEN
) -> SocketBot:
    """Start `connect-bot run` against the stand-in; log to a file (never a pipe)."""
    workdir.mkdir(parents=True, exist_ok=True)
    database_url = f"sqlite:///{workdir / 'connect.db'}"
    env = bot_environment(
        api_url=slack.api_url,
        secret="",  # Socket Mode needs no signing secret: blank means unset
        database_url=database_url,
        extra={"SLACK_APP_TOKEN": app_token},
    )
    log_path = workdir / "connect-bot.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run"],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    return SocketBot(process, database_url, log_path)


def wait_connected(
    bot: SocketBot, server: SocketModeServer, timeout: float = START_TIMEOUT
) -> Connection:
    """Wait for the bot's WebSocket; fail at once, with its log, if the process exits."""
    deadline = time.monotonic() + timeout
    while True:
        code = bot.process.poll()
        if code is not None:
            pytest.fail(f"connect-bot run exited with {code} before connecting:\n{bot.log_text()}")
        try:
            return server.wait_connected(timeout=0.2)
        except AssertionError:
            if time.monotonic() > deadline:
                pytest.fail(
                    f"connect-bot run did not connect within {timeout:.0f} s "
                    f"(server errors: {server.errors()}); its log:\n{bot.log_text(20_000)}"
                )


# --- shared bot --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(slack: SlackStandIn) -> Iterator[SocketModeServer]:
    with SocketModeServer() as socket_server:
        slack.socket_url = socket_server.url
        yield socket_server


@pytest.fixture(scope="module")
def bot(
    slack: SlackStandIn, server: SocketModeServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SocketBot]:
    process = start_socket_bot(slack, tmp_path_factory.mktemp("socket-bot"))
    try:
        wait_connected(process, server)
        yield process
    finally:
        process.stop()


# --- helpers -----------------------------------------------------------------------------------


def new_channel() -> str:
    return "C" + uuid.uuid4().hex[:10].upper()


def command(
    server: SocketModeServer, slack: SlackStandIn, text: str, channel: str
) -> tuple[str, str]:
    """Send `/connect <text>` in ``channel``; return (envelope_id, response_url name)."""
    name = f"sock-{uuid.uuid4().hex[:12]}"
    envelope_id = server.send_slash_command(
        text, channel_id=channel, response_url=slack.response_url(name)
    )
    return envelope_id, name


def posts_in(slack: SlackStandIn, channel: str, count: int) -> list[Call]:
    """Messages in the channel itself; the RFI thread's replies are not counted."""

    def in_channel(call: Call) -> bool:
        return (
            call.method == "chat.postMessage"
            and call.params.get("channel") == channel
            and not call.params.get("thread_ts")
        )

    return slack.wait_for(in_channel, count, timeout=WAIT)


def header_text(message: dict[str, Any]) -> str:
    (header,) = [b for b in message["blocks"] if b["type"] == "header"]
    return str(header["text"]["text"])


def section_text(message: dict[str, Any]) -> str:
    return "\n".join(
        b["text"]["text"] for b in message["blocks"] if b["type"] == "section" and "text" in b
    )


# --- the connection ----------------------------------------------------------------------------


def test_the_bot_connects_with_its_app_token(
    bot: SocketBot, slack: SlackStandIn, server: SocketModeServer
) -> None:
    (auth,) = slack.calls("auth.test")
    assert auth.token == "xoxb-test"
    opened = slack.calls("apps.connections.open")
    assert opened, slack.calls()
    assert {c.token for c in opened} == {APP_TOKEN}
    assert all(c.answered == "ok" for c in opened)
    connection = server.connections()[0]
    assert connection.path.startswith("/link?ticket=")
    # slack_sdk pings right after the handshake, and answers Slack's pings.
    server.wait_until(lambda: connection.pings >= 1, WAIT, "the client's first ping")
    server.ping(b"are-you-there", timeout=WAIT)
    assert server.errors() == []
    assert bot.process.poll() is None


# --- commands ----------------------------------------------------------------------------------


def test_open_then_status_post_in_the_channel(
    bot: SocketBot, slack: SlackStandIn, server: SocketModeServer
) -> None:
    channel = "C0SOCK"

    envelope_id, name = command(server, slack, "open sock --service both", channel)

    ack = server.wait_for_ack(envelope_id, timeout=WAIT)
    assert ack == {"envelope_id": envelope_id}  # an empty ack: the work runs after it
    opened, rfi = posts_in(slack, channel, 2)  # the plan, then the RFI's thread-starting message
    assert header_text(rfi.params) == "Request for information: sock (sock)"
    slack.wait_for(lambda c: c.params.get("thread_ts") == rfi.response["ts"], 1, WAIT)  # question 1
    assert opened.token == "xoxb-test"
    assert opened.answered == "ok"
    message = opened.params
    assert header_text(message) == "Onboarding: sock (sock)"
    lines = [line for line in section_text(message).splitlines() if " · " in line]
    titles = [title for title in STEP_TITLES if any(f"*{title}* · " in line for line in lines)]
    assert titles == list(STEP_TITLES), section_text(message)  # all six apply to "both"
    assert "▱▱▱▱▱▱ 0/6 steps done" in section_text(message)
    assert [c for c in slack.calls("response_url") if c.name == name] == []

    envelope_id, name = command(server, slack, "status", channel)  # the channel is bound now

    assert server.wait_for_ack(envelope_id, timeout=WAIT) == {"envelope_id": envelope_id}
    status = posts_in(slack, channel, 3)[-1].params
    assert header_text(status) == "sock (sock)"
    bar, *status_lines = section_text(status).splitlines()
    assert "0/6 steps done" in bar  # the progress bar first
    assert len(status_lines) == 6, status_lines
    for line, title in zip(status_lines, STEP_TITLES, strict=True):
        assert f"*{title}*" in line, line
    assert "in progress" in status_lines[0]  # opening started the RFI
    assert all("not started" in line for line in status_lines[1:]), status_lines
    assert [c for c in slack.calls("response_url") if c.name == name] == []


def test_help_is_answered_in_the_ack(
    bot: SocketBot, slack: SlackStandIn, server: SocketModeServer
) -> None:
    channel = new_channel()

    envelope_id, name = command(server, slack, "help", channel)

    ack = server.wait_for_ack(envelope_id, timeout=WAIT)
    assert set(ack) == {"envelope_id", "payload"}
    answer = ack["payload"]
    assert answer["response_type"] == "ephemeral"
    for verb in VERBS:
        assert f"`/connect {verb}" in answer["text"], verb
    assert answer["blocks"], answer
    time.sleep(0.3)  # nothing else follows: give a stray post the time to show up
    assert [c for c in slack.calls() if c.params.get("channel") == channel] == []
    assert [c for c in slack.calls("response_url") if c.name == name] == []


def test_an_unknown_verb_is_refused_in_the_ack(
    bot: SocketBot, slack: SlackStandIn, server: SocketModeServer
) -> None:
    channel = new_channel()

    envelope_id, name = command(server, slack, "frobnicate", channel)

    answer = server.wait_for_ack(envelope_id, timeout=WAIT)["payload"]
    assert answer["response_type"] == "ephemeral"
    assert "I don't know the verb frobnicate" in answer["text"]
    assert "Usage: `/connect help" in answer["text"]
    time.sleep(0.3)
    assert [c for c in slack.calls() if c.params.get("channel") == channel] == []
    assert [c for c in slack.calls("response_url") if c.name == name] == []


def test_envelopes_are_acked_one_by_one(bot: SocketBot, server: SocketModeServer) -> None:
    # Several envelopes in flight at once: each gets its own ack, none is lost or mixed up.
    channel = new_channel()
    sent = {
        server.send_envelope(
            "slash_commands", slash_command_payload(text, channel_id=channel)
        ): text
        for text in ("help", "frobnicate", "help open", "", "help status")
    }

    for envelope_id, text in sent.items():
        answer = server.wait_for_ack(envelope_id, timeout=WAIT)["payload"]
        assert answer["response_type"] == "ephemeral", text
        if text.startswith("help open"):
            assert "`/connect open" in answer["text"]
            assert "`/connect status" not in answer["text"]
        elif text == "frobnicate":
            assert "frobnicate" in answer["text"]
    acks = [m for m in server.messages() if m.get("envelope_id") in sent]
    assert len(acks) == len(sent)  # exactly one ack per envelope


def test_a_disconnect_message_moves_the_bot_to_a_new_connection(
    bot: SocketBot, slack: SlackStandIn, server: SocketModeServer
) -> None:
    # Slack asks apps to reconnect (refresh_requested, warning) every few hours.
    before = len(server.connections())
    opened_before = len(slack.calls("apps.connections.open"))
    old = server.open_connections()[-1]

    server.send_disconnect("refresh_requested")

    new = server.wait_connected(timeout=WAIT, count=before + 1)
    assert new is not old
    assert len(slack.calls("apps.connections.open")) == opened_before + 1
    server.wait_until(lambda: old.closed, WAIT, "the old connection to close")
    envelope_id = server.send_slash_command("help", channel_id=new_channel())
    assert server.wait_for_ack(envelope_id, timeout=WAIT)["payload"]["response_type"] == "ephemeral"


def test_the_server_refuses_what_is_not_a_websocket_upgrade() -> None:
    with SocketModeServer() as server:
        request = f"GET /link HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode()
        with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
            sock.sendall(request)
            answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 400 "), answer
        # Recorded before the answer was sent, so it is there already.
        assert "not a WebSocket upgrade" in server.errors()[0]
        assert server.connections() == []


# --- stopping and start-up failures -----------------------------------------------------------


def test_sigterm_finishes_the_acked_work_then_exits_0(tmp_path: Path) -> None:
    with SlackStandIn() as slack, SocketModeServer() as server:
        slack.socket_url = server.url
        bot = start_socket_bot(slack, tmp_path)
        try:
            connection = wait_connected(bot, server)
            slack.delay("chat.postMessage", 1.0)  # the work is still running at SIGTERM
            envelope_id = server.send_slash_command("open late --service both", channel_id="C0LATE")
            assert server.wait_for_ack(envelope_id, timeout=WAIT) == {"envelope_id": envelope_id}

            bot.process.send_signal(signal.SIGTERM)
            code = bot.process.wait(timeout=WAIT)
        finally:
            bot.stop()
        log = bot.log_text()
        assert code == 0, log
        posts = slack.calls("chat.postMessage")  # delivered before the process ended:
        assert [p.params["channel"] for p in posts] == ["C0LATE"] * 3  # plan, RFI, question 1
        assert all(p.answered == "ok" for p in posts)
        server.wait_until(lambda: connection.closed, WAIT, "the connection to close")
        assert "Traceback" not in log, log


def test_sigterm_closes_the_socket_before_draining(tmp_path: Path) -> None:
    """No envelope may arrive while the acked work drains (it could only be refused): the
    WebSocket closes first, then the work finishes, then the process exits."""
    with SlackStandIn() as slack, SocketModeServer() as server:
        slack.socket_url = server.url
        bot = start_socket_bot(slack, tmp_path)
        try:
            connection = wait_connected(bot, server)
            slack.delay("chat.postMessage", 1.0)  # three posts: the drain takes seconds
            envelope_id = server.send_slash_command("open drain --service both", channel_id="C0DR")
            assert server.wait_for_ack(envelope_id, timeout=WAIT) == {"envelope_id": envelope_id}
            bot.process.send_signal(signal.SIGTERM)
            code = bot.process.wait(timeout=WAIT)
        finally:
            bot.stop()
        log = bot.log_text()
        assert code == 0, log
        posts = slack.calls("chat.postMessage")
        assert [p.params["channel"] for p in posts] == ["C0DR"] * 3, log  # the work finished
        server.wait_until(lambda: connection.closed, WAIT, "the connection to close")
        assert connection.closed_at is not None
        # Closed while the work was still posting: before the last post was answered.
        assert connection.closed_at < posts[-1].at, log
        assert "restarting" not in str(server.messages()), server.messages()
        assert "Traceback" not in log, log


def test_a_refused_app_token_stops_start_up_with_one_line(tmp_path: Path) -> None:
    # The token has the right form, so settings accept it; Slack refuses it (revoked, say).
    with SlackStandIn() as slack, SocketModeServer() as server:
        slack.socket_url = server.url
        slack.fail_next("apps.connections.open", "invalid_auth", count=10)
        bot = start_socket_bot(slack, tmp_path, app_token="xapp-1-revoked")
        try:
            code = bot.process.wait(timeout=START_TIMEOUT)
        finally:
            bot.stop()
        log = bot.log_text()
        assert code == 2, log
        ours = [line for line in log.splitlines() if line.startswith("connect-bot: ")]
        assert ours == ["connect-bot: SLACK_APP_TOKEN was refused by Slack (invalid_auth)."], log
        assert log.strip().endswith(ours[0]), log
        assert "Traceback" not in log, log
        (refused,) = slack.calls("apps.connections.open")  # asked once, not retried
        assert refused.token == "xapp-1-revoked"
        assert server.connections() == []


# --- the stand-in's apps.connections.open ------------------------------------------------------


def test_standin_opens_connections_for_app_tokens_only() -> None:
    with SlackStandIn() as slack:
        client = WebClient(base_url=slack.api_url, retry_handlers=[])
        with pytest.raises(SlackApiError) as unknown:
            client.apps_connections_open(app_token=APP_TOKEN)
        assert unknown.value.response["error"] == "unknown_method"  # no socket_url set

        slack.socket_url = "ws://127.0.0.1:9/link"
        assert client.apps_connections_open(app_token=APP_TOKEN)["url"] == slack.socket_url
        for token in ("xoxb-test", "xoxp-user"):
            with pytest.raises(SlackApiError) as refused:
                client.apps_connections_open(app_token=token)
            assert refused.value.response["error"] == "not_allowed_token_type"
        assert [c.answered for c in slack.calls("apps.connections.open")] == [
            "error",
            "ok",
            "error",
            "error",
        ]
