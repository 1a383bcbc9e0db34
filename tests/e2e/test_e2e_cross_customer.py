"""Every door authorises, end to end (issue 16): a real `connect-bot serve`, signed HTTP as Slack
sends it, and the Slack stand-in's users.info telling an engineer from a customer contact.

The victim is an onboarding opened by the engineer U0ENG in its own channel, with RFI answers
given in its thread, a stored POP login, a pending reminder and a staged spreadsheet. The
attacker is a customer contact of another organisation (users.info: team T0OTHER, a stranger) in
their own shared channel, bound to their own onboarding; the refusals are also held for an
outsider (a stranger of a third organisation, in a DM bound to no onboarding). Whatever door
they knock on with the victim's key, thread, reminder or batch (a modal's private_metadata, a
button's value) they are refused, nothing of the victim's onboarding changes (answers, login,
reminders, batches, recipients, history) and nothing is posted in its channel. Each door also
has a positive control, the attacker's own onboarding through the same door, so a refusal is
not just everything being broken.

Credentials views are submitted with submit_view (support/credentials_form.py), whose payload
names the installing team T0TEST for the submitter: the role still comes from users.info, never
from what the request says about the team.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel, select
from support.bot_process import BotProcess
from support.card import card_post, card_ts, modal_for, modal_text
from support.credentials_form import submit_view
from support.mentions import AT, buttons_of, click_ephemeral, mention
from support.rfi_thread import WAIT, Thread, answers, buttons
from support.signing import button_click, interaction_body, post
from support.slack_standin import Call, SlackStandIn
from support.slash_commands import NOT_YOURS
from support.uploads import csv_bytes, import_reports, rfi_with_domains, stored, upload

from store.models import (
    AuditEvent,
    Credential,
    Member,
    Onboarding,
    Recipient,
    RecipientBatch,
    Reminder,
    RfiAnswer,
    RfiThread,
    StepStatus,
)

ENGINEER = "U0ENG"  # bot.send's default user: the stand-in's users.info places them in T0TEST
GUEST_TEAM = "T0OTHER"
OUTSIDER_TEAM = "T0NOBODY"
FORM_REFUSED = "This form can't be saved"  # the start of bot/listeners.py's FORM_EXPIRED
VICTIM_SECRET = "Victim-Pa55-" + uuid.uuid4().hex
VICTIM_LOGIN = {
    "host": "127.0.0.60",
    "security": "pop3s",
    "port": "",
    "username": "journal@victim.example",
    "password": VICTIM_SECRET,
}
ATTACKER_HOST = "127.0.0.66"  # loopback, chosen by the attacker
# A whole RFI form, valid for a `--service both` onboarding: what the attacker would write.
ATTACKER_ANSWERS = {
    "contacts": "Mallory, mallory@evil.example, primary\nMal, mal@evil.example, technical",
    "outbound_ips": "127.0.0.66",
    "domains": "evil.example",
    "forwarding": "127.0.0.67:2525",
    "platform": "Microsoft 365",
    "previous_provider": "",
    "journaling": "smtp",
    "directory": "none",
}
# Tables whose rows belong to one onboarding (each with its onboarding column): all of them are
# compared before and after.
OWNED: tuple[tuple[type[SQLModel], Any], ...] = (
    (StepStatus, StepStatus.onboarding_id),
    (AuditEvent, AuditEvent.onboarding_id),
    (RfiThread, RfiThread.onboarding_id),
    (RfiAnswer, RfiAnswer.onboarding_id),
    (Credential, Credential.onboarding_id),
    (RecipientBatch, RecipientBatch.onboarding_id),
    (Recipient, Recipient.onboarding_id),
    (Reminder, Reminder.onboarding_id),
    (Member, Member.onboarding_id),
)
REQUEST_ID = re.compile(r"request_id=(\w+)")


@pytest.fixture(scope="module")
def bot_env() -> dict[str, str]:
    return {
        "CONNECT_SECRET_KEY": Fernet.generate_key().decode(),
        "CONNECT_ALLOW_PRIVATE_TARGETS": "true",  # every host in these tests is on loopback
    }


# --- the two onboardings -----------------------------------------------------------------------


@dataclass(frozen=True)
class Side:
    """One onboarding as the tests use it."""

    thread: Thread  # its RFI thread: key, channel, root message
    reminder: int  # a pending manual reminder's id
    batch: int  # a staged spreadsheet's batch id
    report: Call  # the staged spreadsheet's report, with its Import / Discard buttons

    @property
    def key(self) -> str:
        return self.thread.key

    @property
    def channel(self) -> str:
        return self.thread.channel


@dataclass(frozen=True)
class World:
    victim: Side
    attacker: Side
    guest: str  # the attacker: a customer contact in the attacker's channel
    outsider: str  # a customer contact of a third organisation, with no onboarding at all
    guest_rfi_view: dict[str, Any]  # the RFI form sealed for the guest, on their onboarding
    guest_login_view: dict[str, Any]  # the credentials form sealed for the guest, likewise
    engineer_rfi_view: dict[str, Any]  # the RFI form sealed for U0ENG, on the victim's
    engineer_login_view: dict[str, Any]  # the credentials form sealed for U0ENG, likewise


def new_trigger() -> str:
    return "trig-" + uuid.uuid4().hex[:10]


def opened_view(slack: SlackStandIn, trigger: str) -> dict[str, Any]:
    """The modal the bot opened with `trigger` (a loading modal at once, then the form)."""
    return modal_for(slack, trigger, WAIT)


def press(
    bot: BotProcess,
    slack: SlackStandIn,
    message: Call,
    button: dict[str, Any],
    *,
    user: str,
    channel: str,
    team: str = GUEST_TEAM,
    thread_ts: str | None = None,
    trigger_id: str | None = None,
) -> str:
    """Click `button` on `message` in `channel` as `user` of `team`, as Slack sends it (the
    button's value may be forged); returns the name of the click's response_url."""
    name = f"click-{uuid.uuid4().hex[:8]}"
    payload = button_click(
        message,
        button,
        user=user,
        channel=channel,
        response_url=slack.response_url(name),
        block_id="connect_actions",
        thread_ts=thread_ts,
        trigger_id=trigger_id,
    )
    payload["user"]["team_id"] = team  # a Slack Connect guest clicks as a member of their team
    status, _, body = post(bot.events_url, bot.secret, interaction_body(payload))
    assert (status, body) == (200, b""), body
    return name


def rfi_form_view(
    bot: BotProcess, slack: SlackStandIn, thread: Thread, *, user: str, team: str
) -> dict[str, Any]:
    """Click the RFI's "Fill in as a form" on its own message; the modal that opens."""
    (form_button,) = [b for b in buttons(thread.root) if b["action_id"] == "rfi_form"]
    trigger = new_trigger()
    press(
        bot,
        slack,
        thread.root,
        form_button,
        user=user,
        channel=thread.channel,
        team=team,
        trigger_id=trigger,
    )
    return opened_view(slack, trigger)


def login_view(
    bot: BotProcess, slack: SlackStandIn, channel: str, *, user: str, team: str
) -> dict[str, Any]:
    """The credentials form for `user` in `channel`, the modal that opens: by `/connect
    credentials pop` for the engineer, by `@connect credentials pop` and the button its answer
    carries for a customer contact of another organisation (Slack offers them no slash command,
    and a mention brings no trigger_id)."""
    trigger = new_trigger()
    if team == "T0TEST":
        reply = bot.send(
            "credentials pop", channel_id=channel, user_id=user, team_id=team, trigger_id=trigger
        )
        assert (reply.status, reply.body) == (200, b""), reply
        return opened_view(slack, trigger)
    asked = mention(bot, f"{AT} credentials pop", user=user, team=team, channel=channel)
    (offer,) = slack.wait_for(asked.whispered, 1, WAIT)
    (button,) = buttons_of(offer)
    click_ephemeral(bot, slack, offer, button, user=user, team=team, trigger_id=trigger)
    return opened_view(slack, trigger)


def remind(bot: BotProcess, slack: SlackStandIn, db: Engine, key: str, channel: str) -> int:
    """A manual reminder, due in three days (the dispatcher leaves it alone); its id."""
    reply = bot.send("remind in 3d call the ISP", channel_id=channel)
    assert reply.status == 200, reply
    slack.wait_for(lambda c: c.method == "response_url" and c.name == reply.response_name, 1, WAIT)
    (row,) = [r for r in owned(db, key)[Reminder.__name__] if r["kind"] == "manual"]
    return int(row["id"])


def stage(bot: BotProcess, slack: SlackStandIn, thread: Thread) -> tuple[int, Call]:
    """Upload a spreadsheet with one bad row, so it waits for Import or Discard."""
    rows = [("ann@acme.example", "Ann"), ("not-an-address", "Bob"), ("dee@acme.example", "Dee")]
    upload(bot, thread, "recipients.csv", csv_bytes(rows))
    (report,) = slack.wait_for(lambda c: c in import_reports(slack, thread), 1, WAIT)
    batch = {json.loads(b["value"])["batch"] for b in buttons(report)}
    assert len(batch) == 1, buttons(report)
    return int(batch.pop()), report


def side(bot: BotProcess, slack: SlackStandIn, db: Engine) -> Side:
    thread = rfi_with_domains(bot, slack)  # opened by U0ENG, answered up to the domains
    reminder = remind(bot, slack, db, thread.key, thread.channel)
    batch, report = stage(bot, slack, thread)
    return Side(thread, reminder, batch, report)


@pytest.fixture(scope="module")
def world(bot: BotProcess, slack: SlackStandIn, db: Engine) -> World:
    victim = side(bot, slack, db)
    attacker = side(bot, slack, db)
    guest = "U0X" + uuid.uuid4().hex[:8].upper()
    slack.set_user(guest, team_id=GUEST_TEAM, is_stranger=True)
    outsider = "U0Y" + uuid.uuid4().hex[:8].upper()
    slack.set_user(outsider, team_id=OUTSIDER_TEAM, is_stranger=True)

    # The victim's login, stored by the engineer through the real form.
    engineer_login = login_view(bot, slack, victim.channel, user=ENGINEER, team="T0TEST")
    assert submit_view(bot, engineer_login, VICTIM_LOGIN) == (200, b"")
    slack.wait_for(lambda c: is_login_post(c, victim.channel), 1, WAIT)
    stored_login = login_of(db, victim.key)
    assert stored_login is not None
    assert stored_login["host"] == VICTIM_LOGIN["host"]

    return World(
        victim=victim,
        attacker=attacker,
        guest=guest,
        outsider=outsider,
        guest_rfi_view=rfi_form_view(bot, slack, attacker.thread, user=guest, team=GUEST_TEAM),
        guest_login_view=login_view(bot, slack, attacker.channel, user=guest, team=GUEST_TEAM),
        engineer_rfi_view=rfi_form_view(bot, slack, victim.thread, user=ENGINEER, team="T0TEST"),
        engineer_login_view=login_view(bot, slack, victim.channel, user=ENGINEER, team="T0TEST"),
    )


@dataclass(frozen=True)
class Intruder:
    """Someone with no role in the victim's onboarding, and where they click or submit from."""

    user: str
    team: str
    channel: str  # a bot message there is what they click on


@pytest.fixture(params=["contact-of-another-customer", "outsider"])
def intruder(request: pytest.FixtureRequest, world: World) -> Intruder:
    """The attacker in their own channel, or a stranger in a DM bound to no onboarding."""
    if request.param == "outsider":
        return Intruder(world.outsider, OUTSIDER_TEAM, "D0" + uuid.uuid4().hex[:8].upper())
    return Intruder(world.guest, GUEST_TEAM, world.attacker.channel)


# --- what the victim has, and whether it changed -----------------------------------------------


def owned(db: Engine, key: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of the onboarding `key`, table by table, in id order."""
    with Session(db) as session:
        onboarding = session.exec(select(Onboarding).where(Onboarding.key == key)).one()
        found: dict[str, list[dict[str, Any]]] = {Onboarding.__name__: [onboarding.model_dump()]}
        for model, column in OWNED:
            rows = [
                r.model_dump() for r in session.exec(select(model).where(column == onboarding.id))
            ]
            found[model.__name__] = sorted(rows, key=lambda row: int(row["id"]))
    return found


def login_of(db: Engine, key: str) -> dict[str, Any] | None:
    (row,) = owned(db, key)[Credential.__name__] or [None]
    return row


def in_channel(slack: SlackStandIn, channel: str) -> list[Call]:
    """Everything the bot posted or changed in `channel` (its threads included)."""
    return [
        c
        for c in slack.calls()
        if c.method in ("chat.postMessage", "chat.update", "chat.postEphemeral")
        and c.params.get("channel") == channel
    ]


def updates_of(calls: list[Call], message: Call) -> list[Call]:
    """The chat.update calls among `calls` that replaced `message`."""
    ts = message.response["ts"]
    return [c for c in calls if c.method == "chat.update" and c.params.get("ts") == ts]


def is_login_post(call: Call, channel: str) -> bool:
    return (
        call.method == "chat.postMessage"
        and call.params.get("channel") == channel
        and "🔐" in call.params.get("text", "")
    )


def log_state(bot: BotProcess) -> tuple[int, bool]:
    """(how many requests the log shows acked, whether all work they gave the pool is done)."""
    lines = bot.log_text().splitlines()
    acked = [line for line in lines if "request acked" in line]
    deferred = {
        m.group(1)
        for line in acked
        if "outcome=" not in line  # its work went to the pool
        for m in [REQUEST_ID.search(line)]
        if m
    }
    done = {
        m.group(1)
        for line in lines
        if "request done" in line
        for m in [REQUEST_ID.search(line)]
        if m
    }
    return len(acked), deferred <= done


def settle(bot: BotProcess, acks: int) -> None:
    """Wait until the log shows `acks` requests acked and the work of every one of them done:
    whatever they were going to post or write is then posted (the stand-in records a call
    before it answers it) and written."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        acked, idle = log_state(bot)
        if acked >= acks and idle:
            return
        time.sleep(0.05)
    raise AssertionError(f"requests still running after {WAIT} s:\n{bot.log_text()}")


def quiet(bot: BotProcess) -> int:
    """How many requests have been acked, once the log has caught up with them all: one thread
    writes it, a little after the fact, so a count is trusted when it holds still a moment
    with no work left running."""
    deadline = time.monotonic() + WAIT
    last = (-1, False)
    while time.monotonic() < deadline:
        now = log_state(bot)
        if now == last and now[1]:
            return now[0]
        last = now
        time.sleep(0.2)
    raise AssertionError(f"the bot never went quiet in {WAIT} s:\n{bot.log_text()}")


class Untouched:
    """The victim's rows and channel before an attempt; `check` says nothing changed since."""

    def __init__(self, bot: BotProcess, slack: SlackStandIn, db: Engine, victim: Side) -> None:
        self.bot, self.slack, self.db, self.victim = bot, slack, db, victim
        self.rows = owned(db, victim.key)
        self.calls = len(in_channel(slack, victim.channel))
        self.everywhere = len(slack.calls())
        self.acked = quiet(bot)
        self.events = self.rows[AuditEvent.__name__]
        assert self.events, "the victim has a history"

    def check(self, attempts: int = 1) -> None:
        """`attempts`: how many requests were sent since (each is waited for)."""
        settle(self.bot, self.acked + attempts)
        after = owned(self.db, self.victim.key)
        events = after[AuditEvent.__name__]
        assert (len(events), events[-1]["id"]) == (len(self.events), self.events[-1]["id"])
        for table, rows in self.rows.items():
            assert after[table] == rows, table
        # The victim's card is redrawn on its own thread, a moment after the victim's own
        # changes: a redraw shows the rows checked above, so it is not the attempt's doing.
        card = card_ts(card_post(self.slack, self.victim.channel))
        since = in_channel(self.slack, self.victim.channel)[self.calls :]
        redraws = [c for c in since if c.method == "chat.update" and c.params["ts"] == card]
        assert [c for c in since if c not in redraws] == []

    def since(self) -> list[Call]:
        """Every call the bot made to Slack since (in any channel)."""
        return self.slack.calls()[self.everywhere :]


# --- 1. the RFI form, submitted with someone else's key ----------------------------------------


def submit_rfi(
    bot: BotProcess, view: dict[str, Any], texts: dict[str, str], *, user: str, team: str
) -> tuple[int, bytes]:
    """Submit an RFI modal as Slack does: one plain text input per question block."""
    blocks = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    state = {
        qid: {"value": {"type": "plain_text_input", "value": texts.get(qid, "")}} for qid in blocks
    }
    payload = {
        "type": "view_submission",
        "user": {"id": user, "team_id": team},
        "team": {"id": team},
        "api_app_id": "A0CONNECT",
        "trigger_id": new_trigger(),
        "view": {**view, "id": "V0" + uuid.uuid4().hex[:8].upper(), "state": {"values": state}},
    }
    status, _, body = post(bot.events_url, bot.secret, interaction_body(payload))
    return status, body


def renamed(metadata: str, old: str, new: str) -> str:
    """The metadata with every "key": old replaced by new, left as it was otherwise (a seal,
    if it has one, is kept as it is: the attacker cannot sign)."""

    def swap(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: (new if k == "key" and v == old else swap(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    swapped = json.dumps(swap(json.loads(metadata)), separators=(",", ":"))
    assert new in swapped, metadata
    assert old not in swapped, metadata
    return swapped


def forged_rfi(world: World, how: str) -> dict[str, Any]:
    """An RFI view naming the victim's onboarding, made in one of three ways."""
    view = world.guest_rfi_view
    if how == "unsealed":  # written by hand, as the bot wrote metadata before it sealed it
        return {**view, "private_metadata": json.dumps({"key": world.victim.key, "keep": []})}
    if how == "tampered":  # the guest's own sealed form, its key changed
        meta = renamed(view["private_metadata"], world.attacker.key, world.victim.key)
        return {**view, "private_metadata": meta}
    assert how == "replayed"  # the engineer's form for the victim, submitted by someone else
    return world.engineer_rfi_view


@pytest.mark.parametrize("how", ["unsealed", "tampered", "replayed"])
def test_an_rfi_form_naming_another_customers_key_is_refused(
    bot: BotProcess, slack: SlackStandIn, db: Engine, world: World, intruder: Intruder, how: str
) -> None:
    untouched = Untouched(bot, slack, db, world.victim)
    view = forged_rfi(world, how)

    status, body = submit_rfi(bot, view, ATTACKER_ANSWERS, user=intruder.user, team=intruder.team)

    assert status == 200
    untouched.check()  # the answers among the rest: each test judges its own attempt
    assert body, "a refused form is answered in the ack"
    answer = json.loads(body)
    assert answer["response_action"] == "errors"
    (error,) = answer["errors"].values()
    assert FORM_REFUSED in error
    assert world.victim.key not in error


def test_the_attackers_own_rfi_form_saves_for_their_own_onboarding(
    bot: BotProcess, slack: SlackStandIn, db: Engine, world: World
) -> None:
    """The positive control: the same view, its seal intact, saves where it was opened."""
    untouched = Untouched(bot, slack, db, world.victim)
    before = len(world.attacker.thread.replies())

    status, body = submit_rfi(
        bot, world.guest_rfi_view, ATTACKER_ANSWERS, user=world.guest, team=GUEST_TEAM
    )

    assert (status, body) == (200, b"")
    world.attacker.thread.wait_replies(before + 1)
    saved = answers(db, world.attacker.key)
    assert saved["contacts"][0]["email"] == "mallory@evil.example"
    assert saved["outbound_ips"] == [{"address": "127.0.0.66"}]
    untouched.check()


# --- 2. the credentials form, submitted with someone else's key --------------------------------


def forged_login(world: World, how: str) -> dict[str, Any]:
    view = world.guest_login_view
    if how == "unsealed":
        return {**view, "private_metadata": json.dumps({"key": world.victim.key, "kind": "pop"})}
    if how == "tampered":
        meta = renamed(view["private_metadata"], world.attacker.key, world.victim.key)
        return {**view, "private_metadata": meta}
    assert how == "replayed"
    return world.engineer_login_view


@pytest.mark.parametrize("how", ["unsealed", "tampered", "replayed"])
@pytest.mark.parametrize(
    "password",
    [
        pytest.param("", id="keeping-the-stored-password"),
        pytest.param("Attacker-Pa55", id="with-a-new-password"),
    ],
)
def test_a_credentials_form_naming_another_customers_key_is_refused(
    bot: BotProcess,
    slack: SlackStandIn,
    db: Engine,
    world: World,
    intruder: Intruder,
    how: str,
    password: str,
) -> None:
    """The nastiest form of it: the victim's stored password, kept, sent to a host the attacker
    chose. Refused under the host field, whatever the metadata, and the login stays."""
    untouched = Untouched(bot, slack, db, world.victim)
    login = login_of(db, world.victim.key)
    fields = {
        "host": ATTACKER_HOST,
        "security": "pop3s",
        "port": "",
        "username": "mallory@evil.example",
        "password": password,
    }

    status, body = submit_view(bot, forged_login(world, how), fields, user=intruder.user)

    assert status == 200
    assert login_of(db, world.victim.key) == login
    untouched.check()
    assert body, "a refused form is answered in the ack"
    answer = json.loads(body)
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"host"}
    assert FORM_REFUSED in answer["errors"]["host"]
    assert world.victim.key not in answer["errors"]["host"]
    assert not [c for c in untouched.since() if ATTACKER_HOST in json.dumps(c.params, default=str)]


def test_the_attackers_own_credentials_form_saves_for_their_own_onboarding(
    bot: BotProcess, slack: SlackStandIn, db: Engine, world: World
) -> None:
    untouched = Untouched(bot, slack, db, world.victim)
    fields = {
        "host": "127.0.0.62",
        "security": "pop3s",
        "port": "",
        "username": "journal@attacker.example",
        "password": "Own-Pa55-" + uuid.uuid4().hex,
    }

    assert submit_view(bot, world.guest_login_view, fields, user=world.guest) == (200, b"")

    slack.wait_for(lambda c: is_login_post(c, world.attacker.channel), 1, WAIT)
    saved = login_of(db, world.attacker.key)
    assert saved is not None
    assert (saved["host"], saved["username"], saved["set_by"]) == (
        "127.0.0.62",
        "journal@attacker.example",
        world.guest,
    )
    untouched.check()


# --- 3. buttons carrying another onboarding's key, thread, batch or reminder -------------------


def own_message(world: World) -> Call:
    """A bot message in the attacker's own channel to click on: its RFI message."""
    return world.attacker.thread.root


def test_the_rfi_form_button_with_another_customers_key_opens_nothing(
    bot: BotProcess, slack: SlackStandIn, db: Engine, world: World, intruder: Intruder
) -> None:
    untouched = Untouched(bot, slack, db, world.victim)
    forged = {"action_id": "rfi_form", "value": json.dumps({"key": world.victim.key})}
    trigger = new_trigger()

    press(
        bot,
        slack,
        own_message(world),
        forged,
        user=intruder.user,
        team=intruder.team,
        channel=intruder.channel,
        trigger_id=trigger,
    )

    # The modal opened at once (before anything was looked up) says no, and shows no form.
    refused = opened_view(slack, trigger)
    assert "callback_id" not in refused
    assert NOT_YOURS in modal_text(refused)
    assert world.victim.key not in modal_text(refused)
    untouched.check()


def test_rfi_choice_and_next_buttons_with_another_customers_thread_do_nothing(
    bot: BotProcess, slack: SlackStandIn, db: Engine, world: World, intruder: Intruder
) -> None:
    untouched = Untouched(bot, slack, db, world.victim)
    victim = world.victim.thread
    # The victim's thread waits on the domains list: Next would move it on, a choice would be
    # told the thread has moved on; both would post in the victim's thread.
    question = victim.replies()[-1]
    forged = [
        {"action_id": "rfi_next", "value": "{}"},
        {
            "action_id": "rfi_choice:0",
            "value": json.dumps({"key": victim.key, "q": "platform", "a": "Microsoft 365"}),
        },
    ]
    for button in forged:
        press(
            bot,
            slack,
            question,
            button,
            user=intruder.user,
            team=intruder.team,
            channel=intruder.channel,
            thread_ts=victim.ts,
        )

    untouched.check(attempts=len(forged))

    # The positive control: the same Next in the attacker's own thread is answered there.
    own = world.attacker.thread
    before = len(own.replies())
    press(
        bot,
        slack,
        own.replies()[-1],
        forged[0],
        user=world.guest,
        channel=own.channel,
        thread_ts=own.ts,
    )
    own.wait_replies(before + 1)


@pytest.mark.parametrize("action", ["recipients_import_valid", "recipients_discard"])
@pytest.mark.parametrize("named", ["victims-key", "attackers-key"])
def test_import_buttons_with_another_customers_batch_are_refused(
    bot: BotProcess,
    slack: SlackStandIn,
    db: Engine,
    world: World,
    intruder: Intruder,
    action: str,
    named: str,
) -> None:
    untouched = Untouched(bot, slack, db, world.victim)
    key = world.victim.key if named == "victims-key" else world.attacker.key
    value = json.dumps({"key": key, "batch": str(world.victim.batch)})
    message = own_message(world)

    name = press(
        bot,
        slack,
        message,
        {"action_id": action, "value": value},
        user=intruder.user,
        team=intruder.team,
        channel=intruder.channel,
    )

    (refusal,) = slack.wait_for(lambda c: c.method == "response_url" and c.name == name, 1, WAIT)
    assert refusal.params["response_type"] == "ephemeral"
    assert world.victim.key not in refusal.params["text"]
    untouched.check()
    batches = owned(db, world.victim.key)[RecipientBatch.__name__]
    assert [(b["id"], b["state"]) for b in batches] == [(world.victim.batch, "staged")]
    assert stored(db, world.victim.key) == set()
    assert updates_of(untouched.since(), message) == []


def test_the_attackers_own_import_button_imports_their_own_batch(
    bot: BotProcess, slack: SlackStandIn, db: Engine, world: World
) -> None:
    untouched = Untouched(bot, slack, db, world.victim)
    report = world.attacker.report
    (button,) = [b for b in buttons(report) if b["action_id"] == "recipients_import_valid"]

    press(bot, slack, report, button, user=world.guest, channel=world.attacker.channel)

    (updated,) = slack.wait_for(
        lambda c: c.method == "chat.update" and c.params.get("ts") == report.response["ts"],
        1,
        WAIT,
    )
    assert "Imported 2 recipients" in updated.params["text"]
    assert stored(db, world.attacker.key) == {"ann@acme.example", "dee@acme.example"}
    untouched.check()


@pytest.mark.parametrize("action", ["reminder_done", "reminder_snooze_1d", "reminder_snooze_1w"])
def test_reminder_buttons_with_another_customers_reminder_are_refused(
    bot: BotProcess, slack: SlackStandIn, db: Engine, world: World, intruder: Intruder, action: str
) -> None:
    untouched = Untouched(bot, slack, db, world.victim)
    message = own_message(world)
    forged = {"action_id": action, "value": str(world.victim.reminder)}

    name = press(
        bot,
        slack,
        message,
        forged,
        user=intruder.user,
        team=intruder.team,
        channel=intruder.channel,
    )

    (refusal,) = slack.wait_for(lambda c: c.method == "response_url" and c.name == name, 1, WAIT)
    assert refusal.params["response_type"] == "ephemeral"
    # Another customer's reminder is answered like one that does not exist: nothing leaks.
    assert f"There is no reminder #{world.victim.reminder}" in refusal.params["text"]
    assert world.victim.key not in refusal.params["text"]
    untouched.check()
    assert updates_of(untouched.since(), message) == []


def test_the_attackers_own_reminder_button_acts_on_their_own_reminder(
    bot: BotProcess, slack: SlackStandIn, db: Engine, world: World
) -> None:
    untouched = Untouched(bot, slack, db, world.victim)
    message = own_message(world)
    done = {"action_id": "reminder_done", "value": str(world.attacker.reminder)}

    press(bot, slack, message, done, user=world.guest, channel=world.attacker.channel)

    (update,) = slack.wait_for(
        lambda c: c.method == "chat.update" and c.params.get("ts") == message.response["ts"],
        1,
        WAIT,
    )
    assert f"Done by <@{world.guest}>" in update.params["text"]
    (row,) = [r for r in owned(db, world.attacker.key)[Reminder.__name__] if r["kind"] == "manual"]
    assert (row["state"], row["done_by"]) == ("done", world.guest)
    untouched.check()


# --- 4. a stored login moved to another host without its password ------------------------------


def test_changing_a_stored_logins_host_asks_for_its_password_again(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    """The engineer who stored a login opens the form again (prefilled, the password field
    empty) and points it at another host: the stored password would go there, so the form asks
    for it under the password field, naming what changed, and nothing is saved."""
    thread = rfi_with_domains(bot, slack)
    first = login_view(bot, slack, thread.channel, user=ENGINEER, team="T0TEST")
    assert submit_view(bot, first, VICTIM_LOGIN) == (200, b"")
    slack.wait_for(lambda c: is_login_post(c, thread.channel), 1, WAIT)
    stored_login = login_of(db, thread.key)
    assert stored_login is not None
    acked = quiet(bot)
    posts = len(in_channel(slack, thread.channel))

    again = login_view(bot, slack, thread.channel, user=ENGINEER, team="T0TEST")
    prefilled = {
        b["block_id"]: b["element"].get("initial_value") or b["element"].get("initial_option")
        for b in again["blocks"]
        if b["type"] == "input"
    }
    assert prefilled["host"] == VICTIM_LOGIN["host"]
    moved = {**VICTIM_LOGIN, "host": "127.0.0.61", "password": ""}

    status, body = submit_view(bot, again, moved)

    assert status == 200
    assert body, "a refused form is answered in the ack"
    answer = json.loads(body)
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"password"}
    assert "host" in answer["errors"]["password"]
    settle(bot, acked + 2)  # the command that opened the form, then the submission
    assert login_of(db, thread.key) == stored_login
    assert len(in_channel(slack, thread.channel)) == posts

    # Given again, the password goes with the new host.
    assert submit_view(bot, again, {**moved, "password": VICTIM_SECRET}) == (200, b"")
    slack.wait_for(lambda c: is_login_post(c, thread.channel), 2, WAIT)
    saved = login_of(db, thread.key)
    assert saved is not None
    assert saved["host"] == "127.0.0.61"
    assert saved["sealed_secret"] != stored_login["sealed_secret"]  # sealed afresh


@pytest.fixture(autouse=True)
def _no_secret_in_the_log(bot: BotProcess) -> Iterator[None]:
    yield
    assert VICTIM_SECRET not in bot.log_text()
