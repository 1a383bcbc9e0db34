"""Reminders end to end: a real `connect-bot serve` (its dispatcher running), signed slash
commands with good and bad times, listing and cancelling, and the Done / Snooze buttons clicked
as signed block_actions requests on the messages the dispatcher posted."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from support.bot_process import BotProcess
from support.rfi_thread import buttons
from support.signing import button_click, interaction_body, post
from support.slack_standin import Call, SlackStandIn

from store.models import AuditEvent, Onboarding, Reminder

WAIT = 15.0  # the dispatcher polls every 2 s and paces each channel to one post a second


@pytest.fixture(scope="module")
def bot_env() -> dict[str, str]:
    return {"CONNECT_REMINDER_POLL_SECONDS": "0.2"}


def new_key() -> str:
    return f"rem-{uuid.uuid4().hex[:8]}"


def new_channel() -> str:
    return "C" + uuid.uuid4().hex[:10].upper()


def responses(slack: SlackStandIn, name: str | None, count: int = 1) -> list[Call]:
    return slack.wait_for(lambda c: c.method == "response_url" and c.name == name, count, WAIT)


def command(bot: BotProcess, slack: SlackStandIn, text: str, channel: str, **kw: Any) -> str:
    """Run a command whose answer comes through response_url; return that answer's text."""
    reply = bot.send(text, channel_id=channel, **kw)
    assert reply.status == 200, reply
    (answer,) = responses(slack, reply.response_name)
    return str(answer.params.get("text", ""))


def open_onboarding(bot: BotProcess, slack: SlackStandIn, key: str, channel: str) -> None:
    reply = bot.send(f"open {key} --service security --region eu", channel_id=channel)
    assert reply.status == 200
    slack.wait_for(
        lambda c: (
            c.method == "chat.postMessage"
            and c.params.get("channel") == channel
            and str(c.params.get("text", "")).startswith("Request for information:")
        ),
        timeout=WAIT,
    )


def rows(db: Engine, key: str, kind: str | None = None) -> list[Reminder]:
    with Session(db) as session:
        query = (
            select(Reminder)
            .join(Onboarding, col(Onboarding.id) == col(Reminder.onboarding_id))
            .where(Onboarding.key == key)
            .order_by(col(Reminder.id))
        )
        if kind is not None:
            query = query.where(Reminder.kind == kind)
        return list(session.exec(query))


def reminder_post(slack: SlackStandIn, channel: str, reminder_id: int) -> Call:
    """The dispatcher's post of a reminder: the one whose buttons carry its id."""

    def is_it(call: Call) -> bool:
        return (
            call.method == "chat.postMessage"
            and call.params.get("channel") == channel
            and any(b.get("value") == str(reminder_id) for b in buttons(call))
        )

    return slack.wait_for(is_it, timeout=WAIT)[0]


def click(
    bot: BotProcess,
    slack: SlackStandIn,
    message: Call,
    action_id: str,
    *,
    user: str = "U0ENG",
    channel: str | None = None,
) -> str:
    """Click a button on a posted message, as Slack sends it; returns the response_url name."""
    (button,) = [b for b in buttons(message) if b["action_id"] == action_id]
    name = f"click-{uuid.uuid4().hex[:8]}"
    where = channel or message.params["channel"]
    payload = button_click(
        message,
        button,
        user=user,
        channel=where,
        response_url=slack.response_url(name),
        block_id="reminder_actions",
    )
    status, _, body = post(bot.events_url, bot.secret, interaction_body(payload))
    assert status == 200, body
    return name


def update_of(slack: SlackStandIn, message: Call) -> Call:
    ts = message.response["ts"]
    return slack.wait_for(
        lambda c: c.method == "chat.update" and c.params.get("ts") == ts, timeout=WAIT
    )[-1]


# --- slash commands ---------------------------------------------------------------------------


def test_remind_reads_the_time_in_the_persons_zone(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    key, channel = new_key(), new_channel()
    open_onboarding(bot, slack, key, channel)
    user = "U0NYC" + uuid.uuid4().hex[:4].upper()
    slack.set_user(user, tz="America/New_York", tz_offset=-18_000)
    day = (datetime.now(UTC) + timedelta(days=20)).date()
    answer = command(bot, slack, f"remind {key} {day} 09:00 call the ISP", channel, user_id=user)
    (row,) = rows(db, key, "manual")
    expected = datetime.combine(day, datetime.min.time().replace(hour=9))
    expected = expected.replace(tzinfo=ZoneInfo("America/New_York")).astimezone(UTC)
    assert row.due_at == expected
    assert (row.text, row.created_by, row.channel_id) == ("call the ISP", user, channel)
    assert f"Reminder *#{row.id}*" in answer
    assert f"<!date^{int(expected.timestamp())}^{{date_short_pretty}} {{time}}|" in answer
    assert "America/New_York" in answer

    # A second remind by the same person asks users.info no more (cached); the bound channel
    # needs no key, and the text keeps its quotes and apostrophes as typed.
    command(bot, slack, 'remind in 2h don\'t forget the "quote"', channel, user_id=user)
    asked = [c for c in slack.calls("users.info") if c.params.get("user") == user]
    assert len(asked) == 1
    texts = [r.text for r in rows(db, key, "manual")]
    assert texts == ["call the ISP", 'don\'t forget the "quote"']


@pytest.mark.parametrize(
    ("when", "says"),
    [
        ("yesterday", "yesterday is in the past"),
        ("2026-02-31 09:00", "has no 31 February"),
        ("in 2y", "needs a unit"),
        ("in 400d", "more than a year ahead"),
        ("2020-01-01", "in the past"),
    ],
)
def test_bad_times_are_refused_with_an_example(
    bot: BotProcess, slack: SlackStandIn, db: Engine, when: str, says: str
) -> None:
    key, channel = new_key(), new_channel()
    open_onboarding(bot, slack, key, channel)
    answer = command(bot, slack, f"remind {key} {when} call the ISP", channel)
    assert says in answer
    assert "/connect remind acme tomorrow 09:00 call the ISP" in answer
    assert rows(db, key, "manual") == []


def test_list_and_cancel(bot: BotProcess, slack: SlackStandIn, db: Engine) -> None:
    key, channel = new_key(), new_channel()
    open_onboarding(bot, slack, key, channel)
    command(bot, slack, f"remind {key} in 3d call the ISP", channel)
    command(bot, slack, f"remind {key} in 1w <!channel> check & tell", channel)
    first, second = rows(db, key, "manual")
    listing = command(bot, slack, f"reminders {key}", channel)
    assert listing.index(f"#{first.id}*") < listing.index(f"#{second.id}*")  # soonest first
    assert "check &amp; tell" in listing
    assert "<!channel>" not in listing  # escaped: nobody is pinged
    # The considerations set at open are listed too.
    assert "Implementation consideration" in listing

    answer = command(bot, slack, f"remind cancel {first.id}", channel)
    assert f"Reminder *#{first.id}*" in answer
    assert "cancelled" in answer
    assert rows(db, key, "manual")[0].state == "cancelled"
    again = command(bot, slack, f"remind cancel {first.id}", channel)
    assert "cancelled already" in again
    listing = command(bot, slack, "reminders", channel)
    assert f"#{first.id}*" not in listing
    assert f"#{second.id}*" in listing


# --- buttons ----------------------------------------------------------------------------------


def provider_reminder(bot: BotProcess, slack: SlackStandIn, db: Engine) -> tuple[str, str, Call]:
    """An onboarding whose inbound step is done: its cancel-the-provider reminder is due at
    once, so the dispatcher posts it with its buttons."""
    key, channel = new_key(), new_channel()
    open_onboarding(bot, slack, key, channel)
    reply = bot.send(f"done {key} inbound", channel_id=channel)
    assert reply.status == 200
    deadline = time.monotonic() + WAIT
    while not rows(db, key, "inbound.cancel_provider") and time.monotonic() < deadline:
        time.sleep(0.05)
    (row,) = rows(db, key, "inbound.cancel_provider")
    assert row.id is not None
    return key, channel, reminder_post(slack, channel, row.id)


def test_done_updates_the_message_and_confirms_the_manual_item(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    key, channel, message = provider_reminder(bot, slack, db)
    assert {b["action_id"] for b in buttons(message)} == {
        "reminder_done",
        "reminder_snooze_1d",
        "reminder_snooze_1w",
    }
    assert "your previous provider before the firewall lockdown" in message.params["text"]
    click(bot, slack, message, "reminder_done", user="U0CUST")
    update = update_of(slack, message)
    assert update.params["channel"] == channel
    assert "Done by <@U0CUST>" in update.params["text"]
    assert "firewall.previous_provider" in update.params["text"]
    assert buttons(update) == []  # nothing left to click
    (row,) = rows(db, key, "inbound.cancel_provider")
    assert (row.state, row.done_by, row.confirms) == (
        "done",
        "U0CUST",
        "firewall.previous_provider",
    )
    assert row.done_at is not None
    with Session(db) as session:
        actions = [
            e.action
            for e in session.exec(
                select(AuditEvent).where(AuditEvent.onboarding_id == row.onboarding_id)
            )
        ]
    assert "reminder.done" in actions

    # Clicking Done again (a second person, or Slack retrying) keeps the first one's name.
    click(bot, slack, message, "reminder_done", user="U0OTHER")
    slack.wait_for(
        lambda c: c.method == "chat.update" and c.params.get("ts") == message.response["ts"],
        count=2,
        timeout=WAIT,
    )
    assert "Done by <@U0CUST>" in update_of(slack, message).params["text"]


def test_snoozes_move_the_due_time(bot: BotProcess, slack: SlackStandIn, db: Engine) -> None:
    for action, span in (
        ("reminder_snooze_1d", timedelta(days=1)),
        ("reminder_snooze_1w", timedelta(weeks=1)),
    ):
        key, _channel, message = provider_reminder(bot, slack, db)
        before = datetime.now(UTC)
        click(bot, slack, message, action)
        update = update_of(slack, message)
        after = datetime.now(UTC)
        (row,) = rows(db, key, "inbound.cancel_provider")
        assert row.state == "snoozed"
        assert before + span <= row.due_at <= after + span
        assert "Snoozed by <@U0ENG> until" in update.params["text"]
        assert f"<!date^{int(row.due_at.timestamp())}^" in update.params["text"]


def test_a_click_from_another_channel_is_refused(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    key, _channel, message = provider_reminder(bot, slack, db)
    name = click(bot, slack, message, "reminder_done", channel=new_channel())
    (answer,) = responses(slack, name)
    assert "belongs to" in answer.params["text"]
    assert rows(db, key, "inbound.cancel_provider")[0].state != "done"


def test_without_users_read_the_time_is_read_in_utc(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    key, channel = new_key(), new_channel()
    open_onboarding(bot, slack, key, channel)
    user = "U0NOSCOPE" + uuid.uuid4().hex[:4].upper()
    # Without the scope every users.info fails: once for the role, once for the time zone.
    slack.fail_next("users.info", "missing_scope", count=2)
    day = (datetime.now(UTC) + timedelta(days=20)).date()
    answer = command(bot, slack, f"remind {key} {day} 09:00 call", channel, user_id=user)
    (row,) = rows(db, key, "manual")
    assert row.due_at == datetime.combine(day, datetime.min.time().replace(hour=9), tzinfo=UTC)
    assert "(read in UTC)" in answer
