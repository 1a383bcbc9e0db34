"""Run `connect-bot serve` as a real subprocess for end-to-end tests and benchmarks.

The process gets a free loopback port, a Slack Web API stand-in as its SLACK_API_URL, its own
database and a log file (never a pipe: a full pipe would block the bot). ``start_bot_process``
returns once GET /healthz answers 200, or raises with the log when the bot does not come up.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.request import ProxyHandler, Request, build_opener

from support.signing import TEAM_ID, post, slash_command_body
from support.slack_standin import SlackStandIn

__all__ = [
    "PROJECT_ROOT",
    "TEST_SIGNING_SECRET",
    "BotProcess",
    "BotStartError",
    "Reply",
    "free_port",
    "http_get",
    "start_bot_process",
]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TEST_SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TEST_BOT_TOKEN = "xoxb-test"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0

# Variables of the bot's own configuration, or that would reroute loopback traffic through a
# proxy, are not inherited from the environment running the tests.
_DROPPED_PREFIXES = ("SLACK_", "CONNECT_")
_DROPPED_NAMES = {
    "DATABASE_URL",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
}

_OPENER = build_opener(ProxyHandler({}))


class BotStartError(RuntimeError):
    """The bot process exited or did not answer /healthz in time; the message has its log."""


class Reply(tuple[int, dict[str, str], bytes]):
    """``(status, headers, body)`` of a slash command's HTTP answer, plus the response_url name.

    Unpacks like the tuple ``post`` returns; ``response_name`` is the stand-in name under which
    the command's response_url posts are recorded (``Call.name``).
    """

    response_name: str | None

    def __new__(
        cls, status: int, headers: dict[str, str], body: bytes, response_name: str | None
    ) -> Reply:
        reply = super().__new__(cls, (status, headers, body))
        reply.response_name = response_name
        return reply

    @property
    def status(self) -> int:
        return int(self[0])

    @property
    def headers(self) -> dict[str, str]:
        return dict(self[1])

    @property
    def body(self) -> bytes:
        return bytes(self[2])

    def json(self) -> Any:
        return json.loads(self.body)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def http_get(url: str, timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    """GET without proxies; HTTP error statuses are returned, not raised."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"only loopback URLs here: {url!r}")
    request = Request(url, method="GET")  # noqa: S310 (checked just above)
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return response.status, _lower(response.headers.items()), response.read()
    except HTTPError as error:
        with error:
            return error.code, _lower(error.headers.items()), error.read()


def _lower(items: Any) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in items}


class BotProcess:
    """A running `connect-bot serve` and the values a test needs to talk to it."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        *,
        host: str,
        port: int,
        secret: str,
        database_url: str,
        log_path: Path,
        response_url: Callable[[str], str] | None,
        standin: SlackStandIn | None = None,
    ) -> None:
        self.process = process
        # The Slack the bot talks to: `send` delivers only the slash commands it would.
        self.standin = standin
        self.host = host
        self.port = port
        self.secret = secret
        self.database_url = database_url
        self.log_path = log_path
        self._response_url = response_url

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def events_url(self) -> str:
        return f"{self.base_url}/slack/events"

    def get(self, path: str, timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
        return http_get(self.base_url + path, timeout=timeout)

    def send(
        self,
        text: str,
        *,
        response_url: str | None = None,
        timestamp: int | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
        **slash_kwargs: Any,
    ) -> Reply:
        """POST a signed `/connect <text>` as Slack would; return the HTTP answer.

        ``text`` is sent as given: Slack escapes ``&``, ``<`` and ``>`` in what people type, so
        tests that type those characters pass ``&amp;``, ``&lt;`` and ``&gt;``. Without an explicit
        ``response_url`` each call gets a fresh stand-in response_url (``Reply.response_name``).

        Like Slack, it refuses (SlashCommandNotOffered, nothing sent) a command from someone the
        stand-in knows as another organisation's: they reach the bot through mentions.
        """
        if self.standin is not None:
            self.standin.check_slash_command(
                str(slash_kwargs.get("user_id", "U0ENG")),
                str(slash_kwargs.get("team_id", TEAM_ID)),
            )
        name = None
        if response_url is None and self._response_url is not None:
            name = f"cmd-{uuid.uuid4().hex[:12]}"
            response_url = self._response_url(name)
        body = slash_command_body(text, response_url=response_url or "", **slash_kwargs)
        status, answer_headers, answer = post(
            self.events_url,
            self.secret,
            body,
            timestamp=timestamp,
            signature=signature,
            headers=headers,
        )
        return Reply(status, answer_headers, answer, name)

    def log_text(self, limit: int | None = None) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log file)"
        if limit is not None and len(text) > limit:
            text = f"... ({len(text) - limit} earlier characters left out)\n" + text[-limit:]
        return text

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; return the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)
        return self.process.returncode

    def __enter__(self) -> BotProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def bot_command(host: str, port: int, extra_args: Sequence[str] = ()) -> list[str]:
    """The serve command line: this interpreter running bot.cli (the venv's connect-bot)."""
    serve = ["serve", "--host", host, "--port", str(port), *extra_args]
    return [sys.executable, "-m", "bot.cli", *serve]


def bot_environment(
    *, api_url: str, secret: str, database_url: str, extra: dict[str, str] | None = None
) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_DROPPED_PREFIXES) and k not in _DROPPED_NAMES
    }
    env.update(
        SLACK_BOT_TOKEN=TEST_BOT_TOKEN,
        SLACK_SIGNING_SECRET=secret,
        SLACK_API_URL=api_url,
        DATABASE_URL=database_url,
        PYTHONUNBUFFERED="1",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    env.update(extra or {})
    return env


def start_bot_process(
    *,
    api_url: str,
    workdir: Path,
    database_url: str | None = None,
    secret: str = TEST_SIGNING_SECRET,
    response_url: Callable[[str], str] | None = None,
    standin: SlackStandIn | None = None,
    extra_args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    log_name: str = "connect-bot.log",
    start_timeout: float = START_TIMEOUT,
    attempts: int = 3,
) -> BotProcess:
    """Start `connect-bot serve` on a free 127.0.0.1 port and wait for GET /healthz 200.

    ``database_url`` defaults to a SQLite file in ``workdir``; ``response_url`` makes response
    URLs for ``BotProcess.send`` (pass ``standin.response_url``). A port taken between picking
    it and the bot binding it is retried on another port, up to ``attempts`` times.
    ``standin``: the Slack stand-in the bot talks to; ``send`` then delivers a slash command
    only from someone Slack would offer it to.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    database_url = database_url or f"sqlite:///{workdir / 'connect.db'}"
    host = "127.0.0.1"
    child_env = bot_environment(
        api_url=api_url, secret=secret, database_url=database_url, extra=env
    )
    last_error: BotStartError | None = None
    for attempt in range(attempts):
        port = free_port(host)
        log_path = workdir / (log_name if attempt == 0 else f"{log_name}.{attempt}")
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                bot_command(host, port, extra_args),
                cwd=PROJECT_ROOT,
                env=child_env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        bot = BotProcess(
            process,
            host=host,
            port=port,
            secret=secret,
            database_url=database_url,
            log_path=log_path,
            response_url=response_url,
            standin=standin,
        )
        try:
            _wait_healthy(bot, start_timeout)
            return bot
        except BotStartError as exc:
            bot.stop()
            last_error = exc
            if "address already in use" not in bot.log_text().lower():
                raise
    assert last_error is not None
    raise last_error


def _wait_healthy(bot: BotProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        code = bot.process.poll()
        if code is not None:
            raise BotStartError(
                f"connect-bot exited with code {code} before answering /healthz; its log:\n"
                + bot.log_text(20_000)
            )
        try:
            status, _, body = bot.get("/healthz", timeout=2.0)
        except (URLError, OSError) as exc:  # not listening yet
            last = repr(exc)
        else:
            if status == 200 and json.loads(body) == {"ok": True}:
                return
            last = f"HTTP {status} {body[:200]!r}"
        time.sleep(0.05)
    raise BotStartError(
        f"connect-bot did not answer GET /healthz 200 within {timeout:.0f} s ({last}); its log:\n"
        + bot.log_text(20_000)
    )
