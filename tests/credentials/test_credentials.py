"""Credentials: sealed at rest, never shown, key rotation, validation - on both stores; and the
Slack form end to end, searching every recorded call, the log and the database for the secret."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlmodel import select
from support.bot_process import BotProcess
from support.cli import run_bot
from support.credentials_form import submit_view
from support.slack_standin import SlackStandIn

from commands.core.context import Caller, Refused
from commands.core.roles import Role
from commands.credentials import CredentialErrors, CredentialService, CredentialsSaved
from commands.router import Router
from commands.secrets import SecretBox
from commands.services import Services
from store.db import Database
from store.models import AuditEvent, Credential

SECRET = "Pa55-" + uuid.uuid4().hex  # unique, so finding it anywhere means it leaked
KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()
ENGINEER = Caller("U0ENG", "C0ACME", "T0TEST", role=Role.ENGINEER)
CUSTOMER = Caller("U0CUST", "C0ACME", "T0CUST")  # a customer contact in acme's channel
GOOD = {
    "host": "127.0.0.60",
    "security": "pop3s",
    "port": "",
    "username": "journal@acme.example",
    "password": SECRET,
}


def service(database: Database, keys: str | None = KEY_A) -> CredentialService:
    Router(Services.build(database)).handle_text(ENGINEER, "open acme --service archiving")
    return CredentialService(database, SecretBox(keys), allow_private=True)


def test_the_secret_is_sealed_and_opens_only_for_the_probe(database: Database) -> None:
    credentials = service(database)
    saved = credentials.submit(CUSTOMER, "acme", "pop", GOOD)
    assert isinstance(saved, CredentialsSaved)
    assert (saved.host, saved.port, saved.security) == ("127.0.0.60", 995, "pop3s")
    assert SECRET not in repr(saved)
    with database.engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM credential")).all()
        events = connection.execute(text("SELECT * FROM audit_event")).all()
    assert SECRET not in repr(rows)
    assert SECRET not in repr(events)
    login = credentials.login("acme", "pop")
    assert login is not None
    assert login.password == SECRET
    assert SECRET not in repr(login)


def test_an_empty_password_keeps_the_stored_one(database: Database) -> None:
    credentials = service(database)
    credentials.submit(CUSTOMER, "acme", "pop", GOOD)
    # The same server and user again: the empty field keeps the stored password.
    kept = credentials.submit(ENGINEER, "acme", "pop", {**GOOD, "password": ""})
    assert isinstance(kept, CredentialsSaved)
    login = credentials.login("acme", "pop")
    assert login is not None
    assert (login.port, login.password) == (995, SECRET)
    form = credentials.form(ENGINEER, "acme", "pop")
    assert form.has_secret
    assert SECRET not in repr(form)
    with database.session() as session:
        details = [
            e.detail for e in session.exec(select(AuditEvent)) if e.action == "credentials.set"
        ]
    assert [d["secret_changed"] for d in details] == [True, False]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"host": "127.0.0.61"}, "host"),
        ({"port": "1995"}, "port"),
        ({"security": "stls"}, "security"),
        ({"username": "other@acme.example"}, "user name"),
    ],
)
def test_a_stored_password_goes_nowhere_new_without_being_given_again(
    database: Database, change: dict[str, str], named: str
) -> None:
    """Keeping the stored password while pointing the login at another server would send it
    there: the form asks for the password again, and nothing changes."""
    credentials = service(database)
    credentials.submit(CUSTOMER, "acme", "pop", GOOD)
    moved = credentials.submit(ENGINEER, "acme", "pop", {**GOOD, **change, "password": ""})
    assert isinstance(moved, CredentialErrors)
    assert set(moved.errors) == {"password"}
    assert named in moved.errors["password"]
    login = credentials.login("acme", "pop")
    assert login is not None
    assert (login.host, login.port, login.security, login.username, login.password) == (
        "127.0.0.60",
        995,
        "pop3s",
        "journal@acme.example",
        SECRET,
    )
    # With the password given again, the change is saved.
    again = credentials.submit(ENGINEER, "acme", "pop", {**GOOD, **change})
    assert isinstance(again, CredentialsSaved)


def test_rotation_new_keys_first_old_ones_still_open(database: Database) -> None:
    service(database, KEY_A).submit(CUSTOMER, "acme", "pop", GOOD)
    rotated = CredentialService(database, SecretBox(f"{KEY_B},{KEY_A}"), allow_private=True)
    login = rotated.login("acme", "pop")
    assert login is not None
    assert login.password == SECRET
    with database.session() as session:
        sealed = session.exec(select(Credential)).one().sealed_secret
    resealed = rotated.box.reseal(sealed)
    assert SecretBox(KEY_B).open(resealed) == SECRET  # the new key alone opens it now


def test_without_a_key_nothing_is_stored(database: Database) -> None:
    credentials = service(database, keys=None)
    with pytest.raises(Refused):
        credentials.form(ENGINEER, "acme", "pop")
    outcome = credentials.submit(CUSTOMER, "acme", "pop", GOOD)
    assert isinstance(outcome, CredentialErrors)
    with database.session() as session:
        assert session.exec(select(Credential)).all() == []


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"host": "not a host!"}, "host"),
        ({"host": "10.0.0.1:995"}, "host"),
        ({"security": "plain"}, "security"),
        ({"port": "99999"}, "port"),
        ({"username": ""}, "username"),
        ({"password": ""}, "password"),
        ({"password": "a\x00b"}, "password"),
    ],
)
def test_bad_fields_are_named_and_nothing_is_stored(
    database: Database, fields: dict[str, str], field: str
) -> None:
    outcome = service(database).submit(CUSTOMER, "acme", "pop", {**GOOD, **fields})
    assert isinstance(outcome, CredentialErrors)
    assert field in outcome.errors
    assert SECRET not in repr(outcome)
    with database.session() as session:
        assert session.exec(select(Credential)).all() == []


def test_a_bad_secret_key_stops_start_up_without_echoing_it(tmp_path: Path) -> None:
    done = run_bot(
        ["shell"],
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}",
            "CONNECT_SECRET_KEY": f"{KEY_A},not-a-key-{SECRET}",
        },
    )
    assert done.returncode == 2
    assert "CONNECT_SECRET_KEY: key 2 is not a Fernet key" in done.stderr
    assert SECRET not in done.stderr


# --- Slack, end to end -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bot_env() -> dict[str, str]:
    return {"CONNECT_ALLOW_PRIVATE_TARGETS": "true", "CONNECT_SECRET_KEY": KEY_A}


def test_the_form_end_to_end_never_leaks_the_password(bot: BotProcess, slack: SlackStandIn) -> None:
    channel = "C0CRED" + uuid.uuid4().hex[:4].upper()
    key = f"cred-{uuid.uuid4().hex[:6]}"
    assert bot.send(f"open {key} --service archiving", channel_id=channel).status == 200
    slack.wait_for(lambda c: c.params.get("channel") == channel, 1, 10)  # opened
    reply = bot.send("credentials pop", channel_id=channel, trigger_id="trig-cred-1")
    assert (reply.status, reply.body) == (200, b"")
    opened = slack.wait_for(
        lambda c: c.method == "views.open" and c.params.get("trigger_id") == "trig-cred-1", 1, 10
    )[-1]
    view = opened.params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["callback_id"] == "credentials"
    assert [b.get("block_id") for b in view["blocks"] if b["type"] == "input"] == [
        "host",
        "security",
        "port",
        "username",
        "password",
    ]

    def submit(values: dict[str, str]) -> tuple[int, bytes]:
        return submit_view(bot, view, values)

    status, body = submit({**GOOD, "host": "bad host!"})
    answer = json.loads(body)
    assert (status, answer["response_action"]) == (200, "errors")
    assert set(answer["errors"]) == {"host"}
    assert SECRET not in body.decode()

    assert submit(GOOD) == (200, b"")
    posted = slack.wait_for(
        lambda c: (
            c.method == "chat.postMessage"
            and c.params.get("channel") == channel
            and "🔐" in c.params.get("text", "")
        ),
        1,
        10,
    )[-1]
    assert "journal@acme.example at 127.0.0.60:995" in posted.params["text"]

    # The secret went in once; search everything the bot could have put it anywhere.
    everything = json.dumps([(c.method, c.params, c.headers) for c in slack.calls()], default=str)
    assert SECRET not in everything
    assert SECRET not in bot.log_text()
    database = Path(bot.database_url.removeprefix("sqlite:///"))
    for path in database.parent.glob(database.name + "*"):  # the file, its WAL and SHM
        assert SECRET.encode() not in path.read_bytes()


LDAP_SECRET = "Bind-Pa55-never-shown-e2e"


def test_the_ldap_form_end_to_end_asks_before_plain_ldap(
    bot: BotProcess, slack: SlackStandIn
) -> None:
    channel = "C0LDAP" + uuid.uuid4().hex[:4].upper()
    key = f"ldap-{uuid.uuid4().hex[:6]}"
    assert bot.send(f"open {key} --service archiving", channel_id=channel).status == 200
    slack.wait_for(lambda c: c.params.get("channel") == channel, 1, 10)
    reply = bot.send("credentials ldap", channel_id=channel, trigger_id="trig-ldap-1")
    assert reply.status == 200
    opened = slack.wait_for(
        lambda c: c.method == "views.open" and c.params.get("trigger_id") == "trig-ldap-1", 1, 10
    )[-1]
    view = opened.params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert [b.get("block_id") for b in view["blocks"] if b["type"] == "input"] == [
        "host",
        "security",
        "port",
        "username",
        "base_dn",
        "directory_type",
        "ca_pem",
        "plain_ok",
        "password",
    ]

    def submit(values: dict[str, str], ticked: bool) -> tuple[int, bytes]:
        return submit_view(bot, view, values, ticked={"plain_ok": ["yes"] if ticked else []})

    plain = {
        "host": "127.0.0.18",
        "security": "plain",
        "port": "",
        "username": "cn=reader,dc=acme,dc=example",
        "base_dn": "dc=acme,dc=example",
        "directory_type": "ldap",
        "ca_pem": "",
        "password": LDAP_SECRET,
    }
    status, body = submit(plain, ticked=False)
    answer = json.loads(body)
    assert (status, answer["response_action"]) == (200, "errors")
    assert set(answer["errors"]) == {"plain_ok"}
    assert "in clear" in answer["errors"]["plain_ok"]

    assert submit(plain, ticked=True) == (200, b"")
    posted = slack.wait_for(
        lambda c: (
            c.method == "chat.postMessage"
            and c.params.get("channel") == channel
            and "🔐" in c.params.get("text", "")
        ),
        1,
        10,
    )[-1]
    text = posted.params["text"]
    assert "cn=reader,dc=acme,dc=example at 127.0.0.18:389 (PLAIN)" in text
    assert "crosses the network in clear" in text
    everything = json.dumps([(c.method, c.params, c.headers) for c in slack.calls()], default=str)
    assert LDAP_SECRET not in everything
    assert LDAP_SECRET not in bot.log_text()
