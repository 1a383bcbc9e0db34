"""The onboarding's card end to end (issue 13): a real `connect-bot serve`, signed HTTP requests
as Slack sends them, the Slack stand-in recording every Web API call, a real NSD behind checks.

The message posted at `open` is the card: pinned, linked from status, redrawn in place (one
coalesced chat.update for a burst of changes), and its controls run the same verbs as the
commands under the clicking person's role, for an engineer and for a customer contact of another
organisation alike (buttons reach them; slash commands do not). Modals from its buttons open
before any slow work, and a trigger Slack calls expired is told to the clicker.
"""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine
from support.bot_process import BotProcess
from support.card import (
    card_post,
    card_ts,
    click,
    control,
    in_card_thread,
    option,
    updates,
    wait_update,
)
from support.dns_fixtures import DnsWorld, bot_env_for
from support.mentions import AT, buttons_of, guest, idle, mention, thread_reply, wait
from support.slack_standin import Call, SlackStandIn, SlashCommandNotOffered
from support.slash_commands import (
    new_channel,
    new_key,
    onboarding_row,
    send_ok,
    step_rows,
    wait_responses,
)

WAIT = 15.0
CONTACTS = "Jane Smith, jane@good.test, primary\nRaj Patel, raj@good.test, technical"


@pytest.fixture(scope="module")
def bot_env(dns_world: DnsWorld, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return bot_env_for(
        dns_world,
        tmp_path_factory.mktemp("profile"),
        CONNECT_SECRET_KEY=Fernet.generate_key().decode(),
    )


def opened(bot: BotProcess, slack: SlackStandIn) -> tuple[str, str, Call, str]:
    """An onboarding an engineer opened in a new shared channel, its RFI started and the bot
    quiet: (key, channel, the card's post, the RFI message's ts)."""
    key, channel = new_key("card"), new_channel()
    send_ok(bot, f"open {key} --service both --region eu", channel_id=channel)
    rfi = wait(
        slack,
        lambda c: (
            c.method == "chat.postMessage"
            and c.params.get("channel") == channel
            and not c.params.get("thread_ts")
            and c.params["text"].startswith("Request for")
        ),
    )[0]
    rfi_ts = str(rfi.response["ts"])
    wait(slack, lambda c: c.params.get("thread_ts") == rfi_ts)  # the first question
    idle(bot)
    return key, channel, card_post(slack, channel), rfi_ts


def answer_rfi(
    bot: BotProcess, slack: SlackStandIn, who: tuple[str, str], channel: str, rfi_ts: str
) -> None:
    """The guest answers the RFI up to its domains (good.test), by plain thread replies."""
    user, team = who

    def in_rfi(c: Call) -> bool:
        return c.method == "chat.postMessage" and c.params.get("thread_ts") == rfi_ts

    for text in (CONTACTS, "next", "127.0.0.40", "next", "good.test", "next"):
        before = len([c for c in slack.calls("chat.postMessage") if in_rfi(c)])
        thread_reply(bot, text, user=user, team=team, channel=channel, thread_ts=rfi_ts)
        wait(slack, in_rfi, before + 1)


# --- the card at open, pinned, linked from status ----------------------------------------------


def test_open_posts_the_card_pins_it_and_status_shows_the_bar_next_and_link(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    key, channel, card, _ = opened(bot, slack)

    assert card.params["text"].startswith(f"Onboarding: {key} ({key})")
    assert "▱▱▱▱▱▱ 0/6 steps done" in card.params["text"]
    assert "*Next:* answer the open question in the RFI thread" in card.params["text"]
    assert "/connect" not in card.params["text"]  # the card is read by customers too
    ids = [e["action_id"] for e in buttons_of(card)]
    assert ids == [
        "card_check",
        "card_run:dns",
        "rfi_form",
        "credentials_form:ldap",
        "credentials_form:pop",
        "card_run:reminders",
        "card_run:report",
    ]
    labels = [e.get("text", e.get("placeholder"))["text"] for e in buttons_of(card)]
    assert labels[:3] == ["Run checks…", "DNS records", "Answer the RFI as a form"]
    (pin,) = [c for c in slack.calls("pins.add") if c.params.get("channel") == channel]
    assert pin.params["timestamp"] == card_ts(card)
    row = onboarding_row(db, key)
    assert row is not None
    assert (row.card_channel_id, row.card_ts) == (channel, card_ts(card))
    assert row.card_url is not None

    elsewhere = new_channel()
    send_ok(bot, f"status {key}", channel_id=elsewhere)
    (answer,) = wait(
        slack, lambda c: c.method == "chat.postMessage" and c.params.get("channel") == elsewhere
    )
    text = answer.params["text"]
    assert "▱▱▱▱▱▱ 0/6 steps done" in text
    assert (
        "*Next:* answer the open question in the RFI thread, or use *Answer the RFI as a "
        f"form* (`/connect rfi {key}`)."
    ) in text
    assert f"<{row.card_url}|the card>" in text


def test_a_guest_status_by_mention_names_buttons_and_mentions_never_the_slash_command(
    bot: BotProcess, slack: SlackStandIn
) -> None:
    _key, channel, _, _ = opened(bot, slack)
    user, team = guest(slack)

    asked = mention(bot, f"{AT} status", user=user, team=team, channel=channel)

    (reply,) = wait(slack, asked.in_thread)
    text = reply.params["text"]
    assert "▱▱▱▱▱▱ 0/6 steps done" in text
    assert "*Answer the RFI as a form* (`@connect rfi`)" in text
    assert "/connect" not in text


# --- redrawn in place, coalesced ----------------------------------------------------------------


def test_a_burst_of_step_changes_redraws_the_card_at_most_twice(
    bot: BotProcess, slack: SlackStandIn
) -> None:
    key, channel, card, _ = opened(bot, slack)
    before = len(updates(slack, card))

    # Three changes that do not depend on each other: the pool may run them in any order.
    for step in ("rfi", "outbound", "recipients"):
        send_ok(bot, f"done {key} {step}", channel_id=channel)
    final = wait_update(slack, card, "▰▰▰▱▱▱ 3/6", "*Outbound* · done")

    idle(bot)
    redraws = updates(slack, card)[before:]
    # The first change redraws at once; the rest of the burst waits and becomes one more.
    assert 1 <= len(redraws) <= 2, [c.params["text"][:80] for c in redraws]
    assert redraws[-1] is final
    assert "✅ *Request for information* · done" in final.params["text"]
    assert final.params["blocks"][-1]["type"] == "actions"  # the controls stay


def test_the_card_shows_a_check_run_and_the_step_change_it_brings(
    bot: BotProcess, slack: SlackStandIn
) -> None:
    key, channel, card, rfi_ts = opened(bot, slack)
    who = guest(slack)
    answer_rfi(bot, slack, who, channel, rfi_ts)
    send_ok(bot, f"done {key} rfi", channel_id=channel)
    send_ok(bot, f"check {key} outbound", channel_id=channel)

    redrawn = wait_update(slack, card, "*Outbound* · in progress", "· last check")
    assert "▰▱▱▱▱▱ 1/6" in redrawn.params["text"]
    # The smart hosts cannot be reached from here: the next action says to look, then run again.
    assert (
        "*Next:* see what the last check report could not reach, then *Run checks* again."
    ) in redrawn.params["text"]


# --- the controls, for an engineer and for a customer contact of another team -------------------


@pytest.mark.parametrize("who", ["engineer", "guest"])
def test_each_card_control_runs_its_verb_for_the_clicker(
    bot: BotProcess, slack: SlackStandIn, who: str
) -> None:
    key, channel, card, rfi_ts = opened(bot, slack)
    if who == "guest":
        user, team = guest(slack)
        with pytest.raises(SlashCommandNotOffered):  # Slack does not offer them /connect
            bot.send(f"status {key}", channel_id=channel, user_id=user, team_id=team)
        answer_rfi(bot, slack, (user, team), channel, rfi_ts)
    else:
        user, team = "U0ENG", "T0TEST"
        answer_rfi(bot, slack, guest(slack), channel, rfi_ts)
    thread = in_card_thread(card)

    click(bot, slack, card, control(card, "card_run:dns"), user=user, team=team)
    (records,) = wait(slack, thread)
    assert "good.test. 3600 IN MX 10 mx1.gateway.test." in records.params["text"]

    select = control(card, "card_check")
    click(bot, slack, card, select, user=user, team=team, chosen=option(select, "outbound"))
    progress = wait(slack, thread, 2)[1]
    assert "Checking" in progress.params["text"]
    wait(
        slack,
        lambda c: (
            c.method == "chat.update"
            and c.params.get("ts") == progress.response["ts"]
            and c.params.get("text", "").startswith("Outbound checks for")
        ),
    )

    if who == "guest":
        mention(bot, f"{AT} remind in 3d call the ISP", user=user, team=team, channel=channel)
    else:
        send_ok(bot, f"remind {key} in 3d call the ISP", channel_id=channel)
    idle(bot)
    name = click(bot, slack, card, control(card, "card_run:reminders"), user=user, team=team)
    (listing,) = wait_responses(slack, name)  # theirs alone: through the click's response_url
    assert "call the ISP" in listing.params["text"]
    assert listing.params.get("response_type") != "in_channel"

    click(bot, slack, card, control(card, "card_run:report"), user=user, team=team)
    wait(
        slack,
        lambda c: (
            c.method == "files.completeUploadExternal" and c.params.get("channel_id") == channel
        ),
    )  # the report, shared in the onboarding's channel


def test_a_guest_cannot_do_an_engineers_verb_through_a_forged_card_button(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    key, _channel, card, _ = opened(bot, slack)
    user, team = guest(slack)
    forged = json.dumps({"key": key, "verb": "done", "args": "rfi"})
    dns = control(card, "card_run:dns")

    name = click(bot, slack, card, dns, user=user, team=team, value=forged)

    (refusal,) = wait_responses(slack, name)
    assert "engineer" in refusal.params["text"].lower()
    idle(bot)
    assert step_rows(db, key)["rfi"].state == "in_progress"
    # The same forged button works for an engineer: the verb, not the button, decides.
    click(bot, slack, card, dns, user="U0ENG", value=forged)
    wait_update(slack, card, "✅ *Request for information* · done")
    assert step_rows(db, key)["rfi"].state == "done"


# --- modals from buttons ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action_id", "callback"),
    [("rfi_form", "rfi_form"), ("credentials_form:pop", "credentials")],
)
def test_a_modal_opens_before_any_slow_work_then_fills(
    bot: BotProcess, slack: SlackStandIn, action_id: str, callback: str
) -> None:
    _, _, card, _ = opened(bot, slack)
    user, team = guest(slack)  # new to the bot: its role needs users.info
    trigger = slack.issue_trigger()

    click(bot, slack, card, control(card, action_id), user=user, team=team, trigger_id=trigger)

    (opened_view,) = wait(
        slack, lambda c: c.method == "views.open" and c.params.get("trigger_id") == trigger
    )
    view_id = opened_view.response["view"]["id"]
    (filled,) = wait(
        slack, lambda c: c.method == "views.update" and c.params.get("view_id") == view_id
    )
    calls = slack.calls()
    opened_at = calls.index(opened_view)
    looked_up = next(
        i for i, c in enumerate(calls) if c.method == "users.info" and c.params["user"] == user
    )
    assert opened_at < looked_up, "views.open must come before users.info"
    view = filled.params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["callback_id"] == callback


def test_an_expired_trigger_is_told_to_the_clicker(bot: BotProcess, slack: SlackStandIn) -> None:
    _, _, card, _ = opened(bot, slack)
    user, team = guest(slack)
    stale = slack.issue_trigger(age=5.0)  # Slack's trigger ids live 3 s

    name = click(
        bot, slack, card, control(card, "rfi_form"), user=user, team=team, trigger_id=stale
    )

    (told,) = wait_responses(slack, name)
    assert "Press the button again" in told.params["text"]
    assert told.params.get("response_type") == "ephemeral"
    refused = [c for c in slack.calls("views.open") if c.params.get("trigger_id") == stale]
    assert [c.response.get("error") for c in refused] == ["expired_trigger_id"]
    idle(bot)
    assert not [c for c in slack.calls("views.update") if c.params.get("view_id") is None]
