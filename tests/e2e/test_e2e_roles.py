"""Roles end to end: signed requests to a real `connect-bot serve`, people told apart by the
Slack stand-in's users.info (engineers in the installing team T0TEST, customer contacts from
other organisations through Slack Connect), and the answers Slack would show them.

Engineers type `/connect`; a customer contact of another organisation has no slash command of
ours (Slack offers it only to the installing organisation, and the stand-in refuses to deliver
one), so they mention the bot, `@connect ...`, and click its buttons.

Every test uses its own keys, channels and users, so the users.info cache of the shared bot
never carries an answer from one test into another.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from support.bot_process import BotProcess
from support.card import modal_for
from support.mentions import AT, buttons_of, click_ephemeral, mention
from support.signing import interaction_body, post
from support.slack_standin import Call, SlackStandIn
from support.slash_commands import (
    NOT_YOURS,
    counts,
    events,
    new_channel,
    new_key,
    onboarding_row,
    open_onboarding,
    posts_in,
    send_ok,
    wait_posts,
    wait_responses,
)

from store.models import Member, Onboarding

ENGINEERS_CHANNEL = "C0ENGINEERS"
CONTRACTOR = "U0CONTRACT"  # from another organisation, made an engineer by CONNECT_ENGINEERS


@pytest.fixture(scope="module")
def bot_env() -> dict[str, str]:
    return {
        "CONNECT_ENGINEERS": CONTRACTOR,
        "CONNECT_ENGINEERS_CHANNEL": ENGINEERS_CHANNEL,
        "CONNECT_SECRET_KEY": Fernet.generate_key().decode(),
        "CONNECT_ALLOW_PRIVATE_TARGETS": "true",  # the form's host is on loopback
    }


def customer(slack: SlackStandIn, company: str) -> tuple[str, str]:
    """A new Slack Connect guest of `company`: (user id, their team id)."""
    user_id = "U0" + uuid.uuid4().hex[:8].upper()
    team_id = f"T0{company.upper()}"
    slack.set_user(user_id, team_id=team_id, is_stranger=True)
    return user_id, team_id


def answer_to(bot: BotProcess, slack: SlackStandIn, text: str, **kwargs: str) -> Call:
    """Send a command whose answer is private; return that one response_url post."""
    reply = send_ok(bot, text, **kwargs)
    (answer,) = wait_responses(slack, reply.response_name)
    assert answer.params["response_type"] == "ephemeral", answer
    return answer


def asked_by_mention(
    bot: BotProcess, slack: SlackStandIn, text: str, *, user: str, team: str, channel: str
) -> str:
    """Mention the bot with `text` as `user` of `team`; the one answer in the mention's thread
    (a reply there, or an ephemeral message to them), its text."""
    asked = mention(bot, f"{AT} {text}", user=user, team=team, channel=channel)
    (answer,) = slack.wait_for(lambda c: asked.in_thread(c) or asked.whispered(c), 1, 10)
    return str(answer.params["text"])


def contractor(slack: SlackStandIn) -> str:
    """The contractor, as Slack knows them: another organisation's, made an engineer here."""
    slack.set_user(CONTRACTOR, team_id="T0AGENCY", is_stranger=True)
    return CONTRACTOR


def test_an_external_user_is_refused_each_engineer_verb(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    key, channel = new_key("refused"), new_channel()
    open_onboarding(bot, slack, key, channel)
    guest, team = customer(slack, "acme")
    before, posts = counts(db), len(posts_in(slack, channel))

    for text in (
        "done outbound",
        f"done {key} rfi",
        f"reopen {key} rfi",
        f"close {key}",
        f"set {key} --region us",
        f"invite {key} <@U0FRIEND>",
    ):
        answer = asked_by_mention(bot, slack, text, user=guest, team=team, channel=channel)
        verb = text.split()[0]
        assert answer.startswith(f"<@{guest}> ⚠️ Only a Connect engineer can use `@connect {verb}`")
        assert key not in answer

    assert counts(db) == before
    assert len(posts_in(slack, channel)) == posts
    row = onboarding_row(db, key)
    assert row is not None
    assert row.closed_at is None
    # The same person's colleague from the installing team, and a listed contractor, may.
    send_ok(bot, f"done {key} outbound", channel_id=channel, user_id="U0TEAMMATE")
    wait_posts(slack, channel, posts + 1)  # one at a time: the pool runs commands in parallel
    changed = asked_by_mention(
        bot,
        slack,
        f"reopen {key} outbound",
        user=contractor(slack),
        team="T0AGENCY",
        channel=channel,
    )
    assert "Outbound" in changed
    actions = [(e.action, e.actor) for e in events(db, key)][-2:]
    assert actions == [("step.changed", "U0TEAMMATE"), ("step.changed", CONTRACTOR)]


def test_a_customer_cannot_reach_another_customers_onboarding_by_key(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    acme, acme_channel = new_key("acme"), new_channel()
    globex, globex_channel = new_key("globex"), new_channel()
    open_onboarding(bot, slack, acme, acme_channel)
    open_onboarding(bot, slack, globex, globex_channel)
    guest, team = customer(slack, "acme")
    before = counts(db)
    globex_posts = len(posts_in(slack, globex_channel))

    answers: dict[str, str] = {}
    for verb in ("status", "check", "dns", "rfi", "history", "members", "credentials"):
        args = " pop" if verb == "credentials" else ""
        for target in (globex, "no-such-customer", globex[:-1]):  # the last one is a near miss
            answers[f"{verb} {target}"] = asked_by_mention(
                bot, slack, f"{verb} {target}{args}", user=guest, team=team, channel=acme_channel
            )
    assert set(answers.values()) == {f"<@{guest}> ⚠️ {NOT_YOURS}"}, answers
    assert counts(db) == before
    assert len(posts_in(slack, globex_channel)) == globex_posts
    assert slack.calls("views.open") == []
    assert not [c for c in slack.calls("chat.postEphemeral") if c.params.get("user") == guest]

    # Their own onboarding works, with its key or without.
    for text in (f"status {acme}", "status"):
        status = asked_by_mention(bot, slack, text, user=guest, team=team, channel=acme_channel)
        assert f"({acme})" in status


def test_a_customer_opens_their_own_onboarding_and_the_engineers_are_told(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    key, channel = new_key("selfserve"), new_channel()
    guest, team = customer(slack, "newco")

    mention(
        bot,
        f"{AT} open {key} --service security --region eu",
        user=guest,
        team=team,
        channel=channel,
    )

    # The plan and the RFI are the channel's, whichever door opened the onboarding.
    plan, rfi = wait_posts(slack, channel, 2)[:2]
    assert "Onboarding: " in plan.params["text"]
    assert rfi.params["text"].startswith("Request for information:")
    (notice,) = slack.wait_for(
        lambda c: (
            c.method == "chat.postMessage"
            and c.params.get("channel") == ENGINEERS_CHANNEL
            and key in c.params.get("text", "")
        ),
        timeout=10,
    )
    assert f"Customer contact <@{guest}> opened" in notice.params["text"]
    assert f"<#{channel}>" in notice.params["text"]
    row = onboarding_row(db, key)
    assert row is not None
    assert (row.channel_id, row.opened_by) == (channel, guest)
    opened = events(db, key)[0]
    assert (opened.action, opened.actor, opened.detail["role"]) == (
        "onboarding.opened",
        guest,
        "customer",
    )
    with Session(db) as session:
        members = session.exec(
            select(Member).join(Onboarding).where(col(Onboarding.key) == key)
        ).all()
    assert [(m.user_id, m.role) for m in members] == [(guest, "customer")]
    # A second onboarding in that channel is refused. (One in a DM is refused too, see
    # tests/core/test_roles.py: Slack sends no app_mention from a DM, so no test sends one.)
    again = asked_by_mention(
        bot, slack, f"open {key}-2 --service both", user=guest, team=team, channel=channel
    )
    assert "already has its onboarding" in again
    assert onboarding_row(db, f"{key}-2") is None


def test_list_shows_a_customer_their_own_and_an_engineer_everything(
    bot: BotProcess, slack: SlackStandIn
) -> None:
    mine, mine_channel = new_key("mine"), new_channel()
    theirs, theirs_channel = new_key("theirs"), new_channel()
    open_onboarding(bot, slack, mine, mine_channel)
    open_onboarding(bot, slack, theirs, theirs_channel)
    guest, team = customer(slack, "mine")

    text = asked_by_mention(bot, slack, "list --all", user=guest, team=team, channel=mine_channel)
    assert f"*{mine}*" in text
    assert theirs not in text
    assert "Only your own onboardings are shown." in text

    everything = answer_to(bot, slack, "list", channel_id=mine_channel)
    assert f"*{mine}*" in everything.params["text"]
    assert f"*{theirs}*" in everything.params["text"]


def test_invite_and_members_by_role(bot: BotProcess, slack: SlackStandIn, db: Engine) -> None:
    key, channel = new_key("members"), new_channel()
    open_onboarding(bot, slack, key, channel)
    guest, team = customer(slack, "acme")
    colleague = "U0" + uuid.uuid4().hex[:8].upper()  # the installing team: an engineer

    send_ok(bot, f"invite {key} <@{guest}|jo> <@{colleague}|sam>", channel_id=channel)

    invited = wait_posts(slack, channel, 3)[-1].params["text"]
    assert f"<@U0ENG> invited <@{guest}> (customer contact), <@{colleague}> (Connect engineer)" in (
        invited
    )
    text = asked_by_mention(bot, slack, "members", user=guest, team=team, channel=channel)
    engineers, customers = text.split("*Customer contacts*")
    assert "<@U0ENG>" in engineers
    assert f"<@{colleague}>" in engineers
    assert f"<@{guest}>" in customers
    assert [(e.action, e.detail) for e in events(db, key) if e.action == "member.added"] == [
        ("member.added", {"user": guest, "role": "customer"}),
        ("member.added", {"user": colleague, "role": "engineer"}),
    ]
    # The invited customer now sees it in their list from anywhere, and only it.
    listing = asked_by_mention(bot, slack, "list", user=guest, team=team, channel=new_channel())
    assert f"*{key}*" in listing


def test_history_is_paged_newest_first(bot: BotProcess, slack: SlackStandIn) -> None:
    key, channel = new_key("history"), new_channel()
    open_onboarding(bot, slack, key, channel)  # 3 events: opened, RFI step, RFI thread
    posts = len(posts_in(slack, channel))
    for _ in range(9):  # 18 more: 21 in all; one at a time (the pool runs commands in parallel)
        for verb in ("done", "reopen"):
            send_ok(bot, f"{verb} outbound", channel_id=channel)
            posts += 1
            wait_posts(slack, channel, posts)

    page_one = answer_to(bot, slack, f"history {key}", channel_id=channel).params["text"]
    lines = [line for line in page_one.splitlines() if "<!date^" in line]
    assert len(lines) == 20
    assert "21 changes recorded · page 1 of 2 · newest first" in page_one
    assert "marked *Outbound* in progress (was done) with `reopen`" in lines[0]
    assert f"`/connect history {key} --page 2`" in page_one

    guest, team = customer(slack, "history")
    page_two = asked_by_mention(
        bot, slack, "history --page 2", user=guest, team=team, channel=channel
    )
    lines = [line for line in page_two.splitlines() if "<!date^" in line]
    assert len(lines) == 1
    assert "opened it (both, region not set)" in lines[0]
    assert "beginning of the history" in page_two


def test_a_customer_sets_credentials_and_the_history_keeps_no_secret(
    bot: BotProcess, slack: SlackStandIn
) -> None:
    key, channel = new_key("creds"), new_channel()
    open_onboarding(bot, slack, key, channel, service="archiving")
    guest, team = customer(slack, "creds")
    secret = "Pa55-" + uuid.uuid4().hex
    trigger = "trig-" + uuid.uuid4().hex[:8]

    # A mention has no trigger_id: its answer carries the button that opens the form.
    asked = mention(bot, f"{AT} credentials pop", user=guest, team=team, channel=channel)
    (offer,) = slack.wait_for(asked.whispered, 1, 10)
    (button,) = buttons_of(offer)
    click_ephemeral(bot, slack, offer, button, user=guest, team=team, trigger_id=trigger)
    view = modal_for(slack, trigger, 10)  # a loading modal at once, then the form in it
    fields = {"host": "127.0.0.61", "port": "", "username": "journal@creds.example"}
    values = {b: {"value": {"type": "plain_text_input", "value": v}} for b, v in fields.items()}
    values["password"] = {"value": {"type": "plain_text_input", "value": secret}}
    values["security"] = {"value": {"type": "static_select", "selected_option": {"value": "pop3s"}}}
    payload = {
        "type": "view_submission",
        "user": {"id": guest, "team_id": team},
        "team": {"id": team},
        "api_app_id": "A0CONNECT",
        "view": {**view, "id": "V0" + uuid.uuid4().hex[:8].upper(), "state": {"values": values}},
    }
    status, _, body = post(bot.events_url, bot.secret, interaction_body(payload))
    assert (status, body) == (200, b"")
    slack.wait_for(
        lambda c: c.params.get("channel") == channel and "🔐" in c.params.get("text", ""), 1, 10
    )

    history = asked_by_mention(bot, slack, "history", user=guest, team=team, channel=channel)
    (line,) = [x for x in history.splitlines() if "login" in x]
    assert (
        f"<@{guest}> set the pop login: journal@creds.example at 127.0.0.61:995 (new password)"
        in (line)
    )
    everything = json.dumps([(c.method, c.params) for c in slack.calls()], default=str)
    assert secret not in everything
    assert secret not in bot.log_text()
    database = Path(bot.database_url.removeprefix("sqlite:///"))
    for path in database.parent.glob(database.name + "*"):
        assert secret.encode() not in path.read_bytes()


def test_help_lists_what_each_person_may_use_through_the_door_they_have(
    bot: BotProcess, slack: SlackStandIn
) -> None:
    guest, team = customer(slack, "acme")
    engineer = bot.send("help", user_id="U0ENGHELP", team_id="T0TEST", channel_id=new_channel())
    assert engineer.status == 200, engineer
    texts = {"engineer": json.loads(engineer.body)["text"]}  # answered in the ack
    texts["guest"] = asked_by_mention(
        bot, slack, "help", user=guest, team=team, channel=new_channel()
    )
    texts["contractor"] = asked_by_mention(
        bot, slack, "help", user=contractor(slack), team="T0AGENCY", channel=new_channel()
    )
    assert "/connect close" in texts["engineer"]
    assert "Engineers only" in texts["engineer"]
    assert "@connect close" in texts["contractor"]  # an engineer, through the door they used
    assert "@connect close" not in texts["guest"]
    assert "Engineers only" not in texts["guest"]
    assert "@connect status" in texts["guest"]
    assert "/connect" not in texts["guest"]  # never a slash command they cannot run
    # The guest typing an engineer's verb is still refused.
    refused = asked_by_mention(bot, slack, "close nosuch", user=guest, team=team, channel="C0X")
    assert "Only a Connect engineer can use `@connect close`" in refused
