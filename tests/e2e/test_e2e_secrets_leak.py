"""A known POP password, end to end, must appear nowhere but in the POP login itself.

A real `connect-bot serve` at its most verbose level (CONNECT_LOG_LEVEL=debug, which also turns on
the Slack libraries' payload logging), the password entered through the credentials modal (a
signed view_submission), then `/connect check <key> journaling`, which logs in to a real Dovecot
with it. Then every log line, every call the Slack stand-in recorded (and the bot's HTTP answers)
and the database files are searched for the password in every encoding it could take.

Key rotation end to end: the same database under CONNECT_SECRET_KEY="new,old" still logs in, a
password entered again is sealed with the new key, and then the new key alone is enough.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from support.bot_process import BotProcess
from support.dovecot import JOURNAL_PASSWORD, JOURNAL_USER, POP_HOST, DovecotServer
from support.probing import PROBE_PROFILE
from support.rfi_thread import Thread
from support.signing import interaction_body, post
from support.slack_standin import Call, SlackStandIn
from support.smtp_servers import SmtpWorld
from support.test_ca import TestCA

from bot.render.mrkdwn import escape

WAIT = 20.0
KEY_OLD = Fernet.generate_key().decode()
KEY_NEW = Fernet.generate_key().decode()
ENGINEER = "U0ENG"
ANSWERS = (
    "Jane, jane@acme.example, primary\nRaj, raj@acme.example, technical",
    "next",
    "127.0.0.41",
    "next",
    "acme.example",
    "next",
    "Exchange 2010",
    "none",
    "POP",
)


def encodings(secret: str) -> set[str]:
    """Every form the secret could take on its way into a log, a payload or a row."""
    return {
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        escape(secret),
        json.dumps(secret)[1:-1],
        json.dumps(json.dumps(secret))[1:-1],
        secret.encode().hex(),
    }


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    path = tmp_path / "probe-profile.yml"
    path.write_text(PROBE_PROFILE)
    return path


@pytest.fixture
def environment(
    profile: Path, smtp_world: SmtpWorld, probe_ca: TestCA, dovecot_server: DovecotServer
) -> dict[str, str]:
    return {
        "CONNECT_ALLOW_PRIVATE_TARGETS": "true",
        "CONNECT_GATEWAY_PROFILE": str(profile),
        "CONNECT_DNS_NAMESERVERS": smtp_world.dns.nameserver,  # pop.probe.test -> Dovecot
        "CONNECT_LOG_LEVEL": "debug",
        # The POP probe trusts the system store; here that is the test CA (Dovecot's issuer).
        "SSL_CERT_FILE": str(probe_ca.ca_file),
    }


class Onboarding:
    """An archiving onboarding whose RFI says journaling goes by POP."""

    def __init__(self, bot: BotProcess, slack: SlackStandIn, pop_port: int) -> None:
        self.pop_port = pop_port
        self.key = f"sec-{uuid.uuid4().hex[:6]}"
        self.channel = "C" + uuid.uuid4().hex[:10].upper()
        reply = bot.send(
            f"open {self.key} --service archiving --region eu",
            channel_id=self.channel,
            user_id=ENGINEER,
        )
        assert reply.status == 200
        thread = Thread(bot, slack, self.key, self.channel)
        thread.wait_replies(1)
        for answer in ANSWERS:
            thread.say(answer, user=ENGINEER)

    def enter_password(
        self, bot: BotProcess, slack: SlackStandIn, password: str, answers: list[bytes]
    ) -> None:
        trigger = f"trig-{uuid.uuid4().hex[:8]}"
        reply = bot.send(f"credentials {self.key} pop", channel_id=self.channel, trigger_id=trigger)
        assert reply.status == 200
        opened = slack.wait_for(
            lambda c: c.method == "views.open" and c.params.get("trigger_id") == trigger, 1, WAIT
        )[-1]
        view = opened.params["view"]
        view = json.loads(view) if isinstance(view, str) else view
        fields = {
            "host": POP_HOST,
            "security": "pop3s",
            "port": str(self.pop_port),
            "username": JOURNAL_USER,
            "password": password,
        }
        state = {
            block: (
                {"value": {"type": "static_select", "selected_option": {"value": value}}}
                if block == "security"
                else {"value": {"type": "plain_text_input", "value": value}}
            )
            for block, value in fields.items()
        }
        payload = {
            "type": "view_submission",
            "user": {"id": ENGINEER, "team_id": "T0TEST"},
            "team": {"id": "T0TEST"},
            "api_app_id": "A0CONNECT",
            "view": {**view, "id": "V0SECRET", "state": {"values": state}},
        }
        before = len(self._saved(slack))
        status, _, body = post(bot.events_url, bot.secret, interaction_body(payload))
        answers.append(body)
        assert (status, body) == (200, b""), body
        slack.wait_for(lambda c: self._is_saved(c), before + 1, WAIT)

    def _is_saved(self, call: Call) -> bool:
        return (
            call.method == "chat.postMessage"
            and call.params.get("channel") == self.channel
            and "🔐" in call.params.get("text", "")
        )

    def _saved(self, slack: SlackStandIn) -> list[Call]:
        return [c for c in slack.calls() if self._is_saved(c)]

    def check_pop(self, bot: BotProcess, slack: SlackStandIn) -> str:
        """Run the journaling checks; return the journaling.pop line of the final report."""
        before = len(self._reports(slack))
        reply = bot.send(f"check {self.key} journaling", channel_id=self.channel)
        assert reply.status == 200
        slack.wait_for(self._is_final_report, before + 1, WAIT)
        report = self._reports(slack)[-1].params["text"]
        (line,) = [x for x in report.splitlines() if "journaling.pop" in x]
        return line

    def _is_final_report(self, call: Call) -> bool:
        return (
            call.method in ("chat.update", "chat.postMessage")
            and call.params.get("channel") == self.channel
            and "journaling.pop" in call.params.get("text", "")
        )

    def _reports(self, slack: SlackStandIn) -> list[Call]:
        return [c for c in slack.calls() if self._is_final_report(c)]


def everything_recorded(slack: SlackStandIn, answers: list[bytes]) -> str:
    calls = [(c.method, c.params, c.headers, c.response) for c in slack.calls()]
    return json.dumps(calls, default=str) + "".join(a.decode(errors="replace") for a in answers)


def database_bytes(bot: BotProcess) -> bytes:
    database = Path(bot.database_url.removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))


def assert_absent(secret: str, *places: tuple[str, str | bytes]) -> None:
    for where, content in places:
        for form in encodings(secret):
            needle: Any = form.encode() if isinstance(content, bytes) else form
            assert needle not in content, f"the password ({form!r}) is in {where}"


def test_the_pop_password_appears_nowhere(
    serve_bot: Callable[..., BotProcess],
    standin: SlackStandIn,
    environment: dict[str, str],
    dovecot_server: DovecotServer,
) -> None:
    bot = serve_bot(env={**environment, "CONNECT_SECRET_KEY": KEY_OLD})
    onboarding = Onboarding(bot, standin, dovecot_server.pop3s_port)
    answers: list[bytes] = []
    onboarding.enter_password(bot, standin, JOURNAL_PASSWORD, answers)
    line = onboarding.check_pop(bot, standin)
    assert line.startswith("✅"), line  # the bot really logged in with the password

    log = bot.log_text()
    assert "DEBUG" in log  # the most verbose level was on ...
    assert "Sending a request - url:" in log  # ... with the Slack client's payload logging
    assert_absent(
        JOURNAL_PASSWORD,
        ("the bot's log", log),
        ("the Slack calls and answers", everything_recorded(standin, answers)),
        ("the database files", database_bytes(bot)),
    )


def test_key_rotation_end_to_end(
    serve_bot: Callable[..., BotProcess],
    standin: SlackStandIn,
    environment: dict[str, str],
    dovecot_server: DovecotServer,
) -> None:
    first = serve_bot(env={**environment, "CONNECT_SECRET_KEY": KEY_OLD})
    database_url = first.database_url
    onboarding = Onboarding(first, standin, dovecot_server.pop3s_port)
    answers: list[bytes] = []
    onboarding.enter_password(first, standin, JOURNAL_PASSWORD, answers)
    assert onboarding.check_pop(first, standin).startswith("✅")
    sealed_old = sealed(database_url)
    first.stop()

    # The new key first, the old one still listed: what was sealed before still opens.
    rotated = serve_bot(
        database_url=database_url, env={**environment, "CONNECT_SECRET_KEY": f"{KEY_NEW},{KEY_OLD}"}
    )
    assert onboarding.check_pop(rotated, standin).startswith("✅")
    assert Fernet(KEY_OLD.encode()).decrypt(sealed_old.encode()).decode() == JOURNAL_PASSWORD
    # Entered again, the password is sealed with the newest key.
    onboarding.enter_password(rotated, standin, JOURNAL_PASSWORD, answers)
    sealed_new = sealed(database_url)
    assert sealed_new != sealed_old
    assert Fernet(KEY_NEW.encode()).decrypt(sealed_new.encode()).decode() == JOURNAL_PASSWORD
    rotated.stop()

    # The old key retired: the new one alone is enough.
    retired = serve_bot(
        database_url=database_url, env={**environment, "CONNECT_SECRET_KEY": KEY_NEW}
    )
    assert onboarding.check_pop(retired, standin).startswith("✅")
    for bot in (first, rotated, retired):
        assert_absent(JOURNAL_PASSWORD, (f"the log of bot {bot.pid}", bot.log_text()))
    assert_absent(
        JOURNAL_PASSWORD,
        ("the Slack calls and answers", everything_recorded(standin, answers)),
        ("the database files", database_bytes(retired)),
    )


def sealed(database_url: str) -> str:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            (value,) = connection.execute(text("SELECT sealed_secret FROM credential")).one()
        return str(value)
    finally:
        engine.dispose()
