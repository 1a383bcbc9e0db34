"""The customer's whole side of an onboarding without one slash command (issue 13, done when):
a real `connect-bot serve`, signed requests shaped as Slack sends them in a Slack Connect
channel, the strict Slack stand-in (which refuses a slash command from another organisation, as
Slack does), and a real NSD behind the checks.

A customer contact of another team sees the status, answers the RFI in its thread and through
the form button, runs checks from the card and by mention, opens the DNS records, enters the POP
and directory logins from the card, sets and lists reminders by mention, and is refused, in a
thread reply, for an engineer's verb. The engineer invites a colleague by a plain mention."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from support.bot_process import BotProcess
from support.card import card_post, click, control, in_card_thread, modal_for, option
from support.credentials_form import submit_view
from support.dns_fixtures import DnsWorld, bot_env_for
from support.mentions import AT, guest, idle, mention, thread_reply, wait
from support.signing import interaction_body, post
from support.slack_standin import Call, SlackStandIn, SlashCommandNotOffered
from support.slash_commands import new_channel, new_key, open_onboarding

from store.models import Credential, Member, Onboarding, Reminder, StepStatus

CONTACTS = "Jane Smith, jane@good.test, primary\nRaj Patel, raj@good.test, technical"


@pytest.fixture(scope="module")
def bot_env(dns_world: DnsWorld, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return bot_env_for(
        dns_world,
        tmp_path_factory.mktemp("profile"),
        CONNECT_SECRET_KEY=Fernet.generate_key().decode(),
    )


def latest_card(slack: SlackStandIn, card: Call) -> Call:
    """The card as it stands: its last redraw, or the post itself."""
    ts = card.response["ts"]
    redraws = [c for c in slack.calls("chat.update") if c.params.get("ts") == ts]
    return redraws[-1] if redraws else card


def submit_rfi_form(
    bot: BotProcess, view: dict[str, Any], values: dict[str, str], *, user: str, team: str
) -> tuple[int, bytes]:
    """The RFI form submitted as Slack does, by a guest of `team`."""
    inputs = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    state = {
        block: {"value": {"type": "plain_text_input", "value": values.get(block, "")}}
        for block in inputs
    }
    payload = {
        "type": "view_submission",
        "user": {"id": user, "team_id": team},
        "team": {"id": "T0TEST"},
        "api_app_id": "A0CONNECT",
        "view": {**view, "id": "V0" + uuid.uuid4().hex[:8].upper(), "state": {"values": state}},
    }
    status, _, body = post(bot.events_url, bot.secret, interaction_body(payload))
    return status, body


def step_state(db: Engine, key: str, step: str) -> str:
    with Session(db) as session:
        row = session.exec(
            select(StepStatus)
            .join(Onboarding)
            .where(col(Onboarding.key) == key, col(StepStatus.step) == step)
        ).one()
        return row.state


def test_a_customer_contact_takes_the_whole_customer_side_without_a_slash_command(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    key, channel = new_key("jrn"), new_channel()
    open_onboarding(bot, slack, key, channel, extra="--region eu")
    card = card_post(slack, channel)
    rfi_root = next(
        c
        for c in slack.calls("chat.postMessage")
        if c.params.get("channel") == channel
        and c.params.get("text", "").startswith("Request for information")
    )
    rfi_ts = str(rfi_root.response["ts"])
    user, team = guest(slack, "acme")

    # Slack offers a member of another organisation no slash command of ours.
    with pytest.raises(SlashCommandNotOffered):
        bot.send(f"status {key}", channel_id=channel, user_id=user, team_id=team)

    # The status, by mention, in a thread under it.
    asked = mention(bot, f"{AT} status", user=user, team=team, channel=channel)
    (status,) = wait(slack, asked.in_thread)
    assert f"({key})" in status.params["text"]
    assert "/connect" not in status.params["text"]

    # The RFI: the first answers in its thread, the rest through the form button.
    def in_rfi(c: Call) -> bool:
        return c.method == "chat.postMessage" and c.params.get("thread_ts") == rfi_ts

    for text in (CONTACTS, "next", "127.0.0.40", "next"):
        before = len([c for c in slack.calls() if in_rfi(c)])
        thread_reply(bot, text, user=user, team=team, channel=channel, thread_ts=rfi_ts)
        wait(slack, in_rfi, before + 1)
    trigger = slack.issue_trigger()
    click(bot, slack, card, control(card, "rfi_form"), user=user, team=team, trigger_id=trigger)
    form = modal_for(slack, trigger)
    values = {
        "contacts": CONTACTS,
        "outbound_ips": "127.0.0.40",
        "domains": "good.test",
        "forwarding": "127.0.0.62",  # where the gateway delivers inbound mail (loopback here)
        "platform": "Microsoft 365",
        "previous_provider": "",
        "journaling": "pop",
        "directory": "ldap",
    }
    assert submit_rfi_form(bot, form, values, user=user, team=team) == (200, b"")
    wait(slack, lambda c: in_rfi(c) and "done" in c.params.get("text", ""))

    # Checks from the card, and by mention.
    picker = control(card, "card_check")
    click(bot, slack, card, picker, user=user, team=team, chosen=option(picker, "outbound"))
    progress = wait(slack, in_card_thread(card))[0]
    wait(
        slack,
        lambda c: (
            c.method == "chat.update"
            and c.params.get("ts") == progress.response["ts"]
            and c.params.get("text", "").startswith("Outbound checks for")
        ),
    )
    by_mention = mention(bot, f"{AT} check inbound", user=user, team=team, channel=channel)
    inbound = wait(slack, by_mention.in_thread)[0]
    wait(
        slack,
        lambda c: (
            c.method == "chat.update"
            and c.params.get("ts") == inbound.response["ts"]
            and c.params.get("text", "").startswith("Inbound checks for")
        ),
    )

    # The DNS records, from the card.
    click(bot, slack, card, control(card, "card_run:dns"), user=user, team=team)
    wait(
        slack,
        lambda c: (
            in_card_thread(card)(c) and "good.test. 3600 IN MX 10" in c.params.get("text", "")
        ),
    )

    # The POP and directory logins, from the card (its controls follow the RFI's answers).
    idle(bot)
    now = latest_card(slack, card)
    logins = {
        "credentials_form:pop": {
            "host": "127.0.0.61",
            "security": "pop3s",
            "port": "",
            "username": "journal@good.test",
            "password": "Pa55-" + uuid.uuid4().hex,
        },
        "credentials_form:ldap": {
            "host": "127.0.0.18",
            "security": "ldaps",
            "port": "",
            "username": "cn=reader,dc=good,dc=test",
            "base_dn": "dc=good,dc=test",
            "directory_type": "ldap",
            "ca_pem": "",
            "password": "Ld4p-" + uuid.uuid4().hex,
        },
    }
    for action, fields in logins.items():
        trigger = slack.issue_trigger()
        click(bot, slack, card, control(now, action), user=user, team=team, trigger_id=trigger)
        view = modal_for(slack, trigger)
        assert submit_view(bot, view, fields, user=user, team=team) == (200, b"")
    idle(bot)
    with Session(db) as session:
        stored = session.exec(
            select(Credential).join(Onboarding).where(col(Onboarding.key) == key)
        ).all()
    assert sorted((c.kind, c.set_by) for c in stored) == [("ldap", user), ("pop", user)]

    # Reminders, by mention: set one, list them.
    asked = mention(bot, f"{AT} remind in 3d call the ISP", user=user, team=team, channel=channel)
    wait(slack, asked.whispered)
    listed = mention(bot, f"{AT} reminders", user=user, team=team, channel=channel)
    (listing,) = wait(slack, listed.whispered)
    assert "call the ISP" in listing.params["text"]
    with Session(db) as session:
        mine = session.exec(select(Reminder).where(col(Reminder.created_by) == user)).all()
    assert [r.text for r in mine] == ["call the ISP"]

    # An engineer's verb: refused in a thread reply addressed to them; nothing changes.
    before = step_state(db, key, "outbound")
    refused = mention(bot, f"{AT} done outbound", user=user, team=team, channel=channel)
    (answer,) = wait(slack, refused.in_thread)
    assert answer.params["text"].startswith(f"<@{user}>")
    assert "Connect engineer" in answer.params["text"]
    idle(bot)
    assert step_state(db, key, "outbound") == before

    # The engineer invites a colleague by a plain mention.
    jane = "U0JANE" + uuid.uuid4().hex[:4].upper()
    slack.set_user(jane, team_id="T0TEST")
    invited = mention(bot, f"{AT} invite <@{jane}>", user="U0ENG", team="T0TEST", channel=channel)
    (said,) = wait(slack, invited.in_thread)
    assert f"invited <@{jane}>" in said.params["text"]
    with Session(db) as session:
        member = session.exec(select(Member).where(col(Member.user_id) == jane)).one()
    assert member.role == "engineer"
