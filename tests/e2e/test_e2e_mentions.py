"""`@connect` mentions end to end (issue 13): a real `connect-bot serve`, signed Events API
requests shaped as Slack sends them for a customer contact of another organisation in a Slack
Connect channel (app_mention, and the message event for the same message), the Slack stand-in
telling people apart by users.info, and a real NSD behind the checks.

A customer contact has no `/connect` (Slack offers an app's slash commands only to the
installing organisation; the stand-in refuses to deliver one, as Slack does): everything they
may do, they do by mention, by button and by thread reply. What the channel should see is
answered in the mention's thread, never channel-wide; a refusal or a usage error is a reply in
that thread addressed to them; what is theirs alone is an ephemeral message to them there.
"""

from __future__ import annotations

import json
import uuid

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from support.bot_process import BotProcess
from support.card import modal_for, modal_text
from support.credentials_form import submit_view
from support.dns_fixtures import DnsWorld, bot_env_for
from support.mentions import (
    AT,
    Mentioned,
    buttons_of,
    channel_wide,
    click_ephemeral,
    guest,
    idle,
    mention,
    thread_reply,
    wait,
)
from support.rfi_thread import answer_rows, answers
from support.slack_standin import Call, SlackStandIn, SlashCommandNotOffered
from support.slash_commands import (
    new_channel,
    new_key,
    onboarding_row,
    open_onboarding,
    send_ok,
    wait_posts,
)

from store.models import Credential, Member, Onboarding, Reminder

WAIT = 15.0
CONTACTS = "Jane Smith, jane@good.test, primary\nRaj Patel, raj@good.test, technical"


@pytest.fixture(scope="module")
def bot_env(dns_world: DnsWorld, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return bot_env_for(
        dns_world,
        tmp_path_factory.mktemp("profile"),
        CONNECT_SECRET_KEY=Fernet.generate_key().decode(),
    )


def opened(bot: BotProcess, slack: SlackStandIn, *, region: str = "eu") -> tuple[str, str, str]:
    """An onboarding opened by the engineer in a new shared channel: (key, channel, RFI ts)."""
    key, channel = new_key("men"), new_channel()
    open_onboarding(bot, slack, key, channel, extra=f"--region {region}")
    rfi = [c for c in channel_wide(slack, channel) if c.params["text"].startswith("Request for")]
    return key, channel, str(rfi[0].response["ts"])


def in_rfi(slack: SlackStandIn, channel: str, rfi_ts: str) -> list[Call]:
    return [
        c
        for c in slack.calls("chat.postMessage")
        if c.params.get("channel") == channel and c.params.get("thread_ts") == rfi_ts
    ]


def answer_rfi(
    bot: BotProcess, slack: SlackStandIn, who: tuple[str, str], channel: str, rfi_ts: str
) -> None:
    """The guest answers the RFI up to its domains (good.test), by plain thread replies."""
    user, team = who
    for text in (CONTACTS, "next", "127.0.0.40", "next", "good.test", "next"):
        before = len(in_rfi(slack, channel, rfi_ts))
        thread_reply(bot, text, user=user, team=team, channel=channel, thread_ts=rfi_ts)
        wait(slack, lambda c: c in in_rfi(slack, channel, rfi_ts), before + 1)


def only_reply(slack: SlackStandIn, asked: Mentioned) -> Call:
    """The one message the bot posted in the mention's thread."""
    (reply,) = wait(slack, asked.in_thread)
    return reply


# --- status, help, and what goes where -----------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(f"{AT} status", id="mention-first"),
        pytest.param(f"{AT}: status", id="mention-colon"),
        pytest.param(f"status {AT}", id="mention-last"),
        pytest.param(f"hi {AT} status", id="mention-inside"),
    ],
)
def test_a_guest_sees_the_status_in_a_thread_under_their_mention(
    bot: BotProcess, slack: SlackStandIn, text: str
) -> None:
    key, channel, _ = opened(bot, slack)
    user, team = guest(slack)
    posts = len(channel_wide(slack, channel))

    asked = mention(bot, text, user=user, team=team, channel=channel)

    reply = only_reply(slack, asked)
    assert reply.params["thread_ts"] == asked.ts  # a thread under the mention
    assert f"({key})" in reply.params["text"]
    assert "Request for information" in reply.params["text"]
    idle(bot)
    assert len(channel_wide(slack, channel)) == posts, "nothing is posted channel-wide"


def test_help_by_mention_shows_a_guest_the_doors_they_have(
    bot: BotProcess, slack: SlackStandIn
) -> None:
    _, channel, _ = opened(bot, slack)
    user, team = guest(slack)

    asked = mention(bot, f"{AT} help", user=user, team=team, channel=channel)

    (help_,) = wait(slack, asked.whispered)  # theirs alone: an ephemeral message in the thread
    text = help_.params["text"]
    assert "`@connect status [customer]`" in text
    assert "/connect" not in text  # never a slash command they cannot run
    assert "`@connect close" not in text
    assert "buttons on my messages" in text
    idle(bot)
    assert not [c for c in slack.calls("chat.postMessage") if asked.in_thread(c)]


def test_a_bare_mention_is_answered_with_help(bot: BotProcess, slack: SlackStandIn) -> None:
    _, channel, _ = opened(bot, slack)
    user, team = guest(slack)
    asked = mention(bot, AT, user=user, team=team, channel=channel)
    (help_,) = wait(slack, asked.whispered)
    assert "`@connect help &lt;verb&gt;` explains one verb" in help_.params["text"]


# --- refusals and usage errors --------------------------------------------------------------


def test_a_guest_is_refused_an_engineers_verb_in_a_reply_addressed_to_them(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    key, channel, _ = opened(bot, slack)
    user, team = guest(slack)
    posts = len(channel_wide(slack, channel))

    asked = mention(bot, f"{AT} close {key}", user=user, team=team, channel=channel)

    reply = only_reply(slack, asked)
    text = reply.params["text"]
    assert text.startswith(f"<@{user}> ⚠️ Only a Connect engineer can use `@connect close`.")
    assert "`@connect help` lists what you can do here." in text
    assert "/connect" not in text
    section = next(b for b in reply.params["blocks"] if b["type"] == "section")
    assert section["text"]["text"].startswith(f"<@{user}> ⚠️")
    row = onboarding_row(db, key)
    assert row is not None
    assert row.closed_at is None
    idle(bot)
    assert len(channel_wide(slack, channel)) == posts
    assert not [c for c in slack.calls("chat.postEphemeral") if c.params.get("user") == user]


def test_a_usage_error_by_mention_is_a_thread_reply_and_nothing_channel_wide(
    bot: BotProcess, slack: SlackStandIn
) -> None:
    _, channel, _ = opened(bot, slack)
    user, team = guest(slack)
    posts = len(channel_wide(slack, channel))

    asked = mention(bot, f"{AT} stauts", user=user, team=team, channel=channel)

    text = only_reply(slack, asked).params["text"]
    assert text.startswith(f"<@{user}> ⚠️ I don't know the verb stauts.")
    assert "Usage: `@connect help [verb]`" in text
    idle(bot)
    assert len(channel_wide(slack, channel)) == posts


def test_what_a_guest_typed_is_shown_as_text_never_as_a_ping(
    bot: BotProcess, slack: SlackStandIn
) -> None:
    _, channel, _ = opened(bot, slack)
    user, team = guest(slack)
    asked = mention(bot, f"{AT} <!channel>&amp;co", user=user, team=team, channel=channel)
    text = only_reply(slack, asked).params["text"]
    assert "<!channel>" not in text
    assert "&lt;!channel&gt;&amp;co" in text


# --- the RFI thread --------------------------------------------------------------------------


def test_a_guest_answers_the_rfi_and_a_mention_in_its_thread_is_not_an_answer(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    key, channel, rfi_ts = opened(bot, slack)
    who = user, team = guest(slack)
    before = len(in_rfi(slack, channel, rfi_ts))
    thread_reply(bot, CONTACTS, user=user, team=team, channel=channel, thread_ts=rfi_ts)
    wait(slack, lambda c: c in in_rfi(slack, channel, rfi_ts), before + 1)
    assert [c["email"] for c in answers(db, key)["contacts"]] == [
        "jane@good.test",
        "raj@good.test",
    ]
    rows, replies = len(answer_rows(db, key)), len(in_rfi(slack, channel, rfi_ts))

    # Slack sends this message twice: as a message in the thread, and as a mention.
    asked = mention(
        bot,
        f"{AT} status",
        user=user,
        team=team,
        channel=channel,
        thread_ts=rfi_ts,
        also_message=True,
    )

    # Answered once, in the thread it was asked in.
    status = wait(slack, asked.in_thread, replies + 1)[-1]
    assert status.params["thread_ts"] == rfi_ts
    assert f"({key})" in status.params["text"]
    idle(bot)
    assert len(in_rfi(slack, channel, rfi_ts)) == replies + 1  # the status, nothing from the RFI
    assert len(answer_rows(db, key)) == rows
    # The thread goes on with plain replies.
    answer_rfi(bot, slack, who, channel, rfi_ts)
    assert [d["ascii"] for d in answers(db, key)["domains"]] == ["good.test"]


# --- checks and DNS records -------------------------------------------------------------------


def test_a_guest_runs_the_outbound_checks_and_sees_the_dns_records_by_mention(
    bot: BotProcess, slack: SlackStandIn
) -> None:
    _, channel, rfi_ts = opened(bot, slack)
    who = user, team = guest(slack)
    answer_rfi(bot, slack, who, channel, rfi_ts)
    posts = len(channel_wide(slack, channel))

    asked = mention(bot, f"{AT} check outbound", user=user, team=team, channel=channel)

    progress = only_reply(slack, asked)  # the progress message, in the mention's thread
    assert "Checking" in progress.params["text"]
    (final,) = slack.wait_for(
        lambda c: (
            c.method == "chat.update"
            and c.params.get("ts") == progress.response["ts"]
            and "⏳" not in c.params.get("text", "")
        ),
        1,
        WAIT,
    )
    assert final.params["text"].startswith("Outbound checks for")
    assert "`outbound.spf` · *good.test*" in final.params["text"]

    records = mention(bot, f"{AT} dns", user=user, team=team, channel=channel)
    text = only_reply(slack, records).params["text"]
    assert "good.test. 3600 IN MX 10 mx1.gateway.test." in text
    idle(bot)
    assert len(channel_wide(slack, channel)) == posts


# --- reminders --------------------------------------------------------------------------------


def reminders_of(db: Engine, key: str) -> list[Reminder]:
    with Session(db) as session:
        query = (
            select(Reminder)
            .join(Onboarding, col(Onboarding.id) == col(Reminder.onboarding_id))
            .where(Onboarding.key == key, Reminder.kind == "manual")
        )
        return list(session.exec(query))


def test_a_guest_sets_and_lists_reminders_by_mention(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    key, channel, _ = opened(bot, slack)
    user, team = guest(slack)
    posts = len(channel_wide(slack, channel))

    asked = mention(bot, f"{AT} remind in 3d call the ISP", user=user, team=team, channel=channel)

    (set_,) = wait(slack, asked.whispered)
    (row,) = reminders_of(db, key)
    assert (row.text, row.created_by, row.channel_id) == ("call the ISP", user, channel)
    assert f"#{row.id}" in set_.params["text"]
    listed = mention(bot, f"{AT} reminders", user=user, team=team, channel=channel)
    (listing,) = wait(slack, listed.whispered)
    assert "call the ISP" in listing.params["text"]
    idle(bot)
    assert len(channel_wide(slack, channel)) == posts
    assert not [c for c in slack.calls("chat.postMessage") if asked.in_thread(c)]


def test_a_mention_delivered_again_is_answered_once(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    key, channel, _ = opened(bot, slack)
    user, team = guest(slack)
    event_id = "Ev" + uuid.uuid4().hex[:10].upper()
    text = f"{AT} remind in 2d chase the MX"
    first = mention(bot, text, user=user, team=team, channel=channel, event_id=event_id)
    wait(slack, first.whispered)

    for retry in (1, 2):  # Slack's retries: the same event, the same message, a retry header
        mention(
            bot,
            text,
            user=user,
            team=team,
            channel=channel,
            ts=first.ts,
            event_id=event_id,
            retry=retry,
        )

    idle(bot)
    assert len(reminders_of(db, key)) == 1
    assert len([c for c in slack.calls("chat.postEphemeral") if first.whispered(c)]) == 1


# --- credentials: a mention has no trigger_id, so a button opens the form ----------------------


def test_a_guest_enters_a_login_through_the_button_their_mention_brings(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    key, channel, _ = opened(bot, slack)
    user, team = guest(slack)

    asked = mention(bot, f"{AT} credentials pop", user=user, team=team, channel=channel)

    (offer,) = wait(slack, asked.whispered)
    (button,) = buttons_of(offer)
    assert json.loads(button["value"]) == {"key": key, "kind": "pop"}
    trigger = "trig-" + uuid.uuid4().hex[:8]
    click_ephemeral(bot, slack, offer, button, user=user, team=team, trigger_id=trigger)
    view = modal_for(slack, trigger)  # a loading modal at once, then the form in it
    fields = {
        "host": "127.0.0.61",
        "security": "pop3s",
        "port": "",
        "username": "journal@good.test",
        "password": "Pa55-" + uuid.uuid4().hex,
    }
    assert submit_view(bot, view, fields, user=user) == (200, b"")
    wait(slack, lambda c: c.params.get("channel") == channel and "🔐" in c.params.get("text", ""))
    with Session(db) as session:
        stored = session.exec(
            select(Credential).join(Onboarding).where(col(Onboarding.key) == key)
        ).one()
    assert (stored.host, stored.set_by) == ("127.0.0.61", user)


def test_a_forged_form_button_opens_nothing_for_another_customer(
    bot: BotProcess, slack: SlackStandIn
) -> None:
    victim, _, _ = opened(bot, slack)
    _, channel, _ = opened(bot, slack)
    user, team = guest(slack)
    asked = mention(bot, f"{AT} credentials pop", user=user, team=team, channel=channel)
    (offer,) = wait(slack, asked.whispered)
    (button,) = buttons_of(offer)
    forged = {**button, "value": json.dumps({"key": victim, "kind": "pop"})}
    trigger = "trig-" + uuid.uuid4().hex[:8]

    name = click_ephemeral(bot, slack, offer, forged, user=user, team=team, trigger_id=trigger)

    # The modal opened at once (before anything was looked up) says no, and shows no form.
    refused = modal_for(slack, trigger)
    assert "callback_id" not in refused
    assert "I can't do that here" in modal_text(refused)
    assert victim not in modal_text(refused)
    idle(bot)
    assert not [c for c in slack.calls("response_url") if c.name == name]


# --- invites and Slack's markup ----------------------------------------------------------------


def members_of(db: Engine, key: str) -> list[tuple[str, str]]:
    with Session(db) as session:
        rows = session.exec(select(Member).join(Onboarding).where(col(Onboarding.key) == key))
        return [(m.user_id, m.role) for m in rows]


def test_an_engineer_invites_by_slash_command_and_by_mention(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    key, channel, _ = opened(bot, slack)
    jane, _ = guest(slack, "acme")
    omar = "U0" + uuid.uuid4().hex[:8].upper()  # the installing team: an engineer
    posts = len(channel_wide(slack, channel))

    # should_escape: true, so Slack sends `/connect invite @jane` with the person marked up.
    send_ok(bot, f"invite <@{jane}|jane>", channel_id=channel)
    invited = wait_posts(slack, channel, posts + 1)[-1]
    assert f"<@U0ENG> invited <@{jane}> (customer contact)" in invited.params["text"]

    asked = mention(bot, f"{AT} invite <@{omar}>", user="U0ENG", team="T0TEST", channel=channel)
    reply = only_reply(slack, asked)
    assert f"<@U0ENG> invited <@{omar}> (Connect engineer)" in reply.params["text"]
    assert (jane, "customer") in members_of(db, key)
    assert (omar, "engineer") in members_of(db, key)


@pytest.mark.parametrize("door", ["slash", "mention"])
def test_a_linked_address_is_read_as_the_address_typed(
    bot: BotProcess, slack: SlackStandIn, db: Engine, door: str
) -> None:
    key, channel, _ = opened(bot, slack)
    address = f"journal-{key}@example.com"
    # Slack's client links an e-mail address as it is typed, in a command's text as anywhere.
    typed = f"set --journal-address <mailto:{address}|{address}> --name Acme&amp;Co"
    posts = len(channel_wide(slack, channel))
    if door == "slash":
        send_ok(bot, typed, channel_id=channel)
        wait_posts(slack, channel, posts + 1)
    else:
        asked = mention(bot, f"{AT} {typed}", user="U0ENG", team="T0TEST", channel=channel)
        only_reply(slack, asked)
    row = onboarding_row(db, key)
    assert row is not None
    assert (row.journal_address, row.name) == (address, "Acme&Co")


# --- the stand-in is as strict as Slack ----------------------------------------------------------


def test_slack_delivers_no_slash_command_from_another_organisation(
    bot: BotProcess, slack: SlackStandIn
) -> None:
    user, team = guest(slack)
    with pytest.raises(SlashCommandNotOffered, match="only to members of the organisation"):
        bot.send("status", user_id=user, team_id=team)
    with pytest.raises(SlashCommandNotOffered, match="in another organisation"):
        bot.send("status", user_id=user)  # even through the installing team's workspace
    stranger = "U0" + uuid.uuid4().hex[:8].upper()
    slack.set_user(stranger, is_stranger=True)  # a guest account of the installing team
    with pytest.raises(SlashCommandNotOffered, match="is a stranger"):
        bot.send("status", user_id=stranger)
    with pytest.raises(SlashCommandNotOffered, match="typed in the workspace T0ELSEWHERE"):
        bot.send("status", user_id="U0NOBODYKNOWS", team_id="T0ELSEWHERE")
