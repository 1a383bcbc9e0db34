"""`/connect remind`, `reminders`, `remind cancel` and the button actions at the service level,
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.render.mrkdwn import text as render_text
from bot.render.mrkdwn import to_plain
from bot.render.renderer import render
from commands.core.context import Caller, Refused
from commands.core.roles import Role
from commands.replies import (
    Refusal,
    ReminderCancelled,
    ReminderDone,
    ReminderList,
    ReminderSet,
    ReminderSnoozed,
)
from commands.router import Router
from commands.services import Services
from store.db import Database
from store.models import AuditEvent, Reminder

LONDON = Caller("U0ENG", "C0ACME", "T0TEST", tz="Europe/London", role=Role.ENGINEER)
NEW_YORK = Caller("U0NYC", "C0ACME", "T0TEST", tz="America/New_York")
ELSEWHERE = Caller("U0ENG", "C0BETA", "T0TEST", role=Role.ENGINEER)


def opened(database: Database) -> Router:
    router = Router(Services.build(database))
    router.handle_text(LONDON, "open acme --service security")
    router.handle_text(ELSEWHERE, "open beta --service security")
    return router


def manual(database: Database) -> list[Reminder]:
    with database.session() as session:
        return list(session.exec(select(Reminder).where(Reminder.kind == "manual")))


def refused(result: object) -> str:
    assert isinstance(result, Refusal), result
    return to_plain(render_text(result.text))


def test_remind_stores_the_due_time_in_utc_and_the_text_as_typed(database: Database) -> None:
    router = opened(database)
    # A date ten days ahead of whatever the machine's clock says, in the winter or summer offset.
    day = (datetime.now(UTC) + timedelta(days=10)).date()
    result = router.handle_text(NEW_YORK, f"remind acme {day} 09:00 call the ISP; don't wait")
    assert isinstance(result, ReminderSet), result
    assert result.zone == "America/New_York"
    (row,) = manual(database)
    expected = datetime.combine(day, time(9), tzinfo=ZoneInfo("America/New_York"))
    assert row.due_at == expected.astimezone(UTC)
    assert row.text == "call the ISP; don't wait"
    assert (row.channel_id, row.created_by, row.state) == ("C0ACME", "U0NYC", "pending")
    message = render(result)
    assert f"<!date^{int(expected.timestamp())}^{{date_short_pretty}} {{time}}|" in message.text
    assert not message.public


def test_remind_in_a_bound_channel_needs_no_key(database: Database) -> None:
    router = opened(database)
    result = router.handle_text(LONDON, "remind in 3d chase <!channel> & co")
    assert isinstance(result, ReminderSet)
    (row,) = manual(database)
    assert row.text == "chase <!channel> & co"
    assert "chase &lt;!channel&gt; &amp; co" in render(result).text  # escaped when shown
    assert timedelta(days=2) < row.due_at - row.created_at < timedelta(days=4)


def test_bad_times_and_missing_text_change_nothing(database: Database) -> None:
    router = opened(database)
    assert "in the past" in refused(router.handle_text(LONDON, "remind acme yesterday call"))
    assert "no 31 February" in refused(router.handle_text(LONDON, "remind acme 2027-02-31 x"))
    assert "more than a year" in refused(router.handle_text(LONDON, "remind acme in 400d x"))
    assert "Say what" in refused(router.handle_text(LONDON, "remind acme in 3d"))
    assert "could not read" in refused(router.handle_text(LONDON, "remind acme soon x"))
    assert "no onboarding zeta" in refused(router.handle_text(LONDON, "remind zeta in 3d x"))
    long = "x" * 1_001
    assert "1,001 characters" in refused(router.handle_text(LONDON, f"remind acme in 3d {long}"))
    assert manual(database) == []


def test_list_and_cancel(database: Database) -> None:
    router = opened(database)
    router.handle_text(LONDON, "remind acme in 2d second")
    router.handle_text(LONDON, "remind acme in 1d first")
    router.handle_text(ELSEWHERE, "remind beta in 1d beta's")
    listed = router.handle_text(LONDON, "reminders")
    assert isinstance(listed, ReminderList)
    assert listed.key == "acme"
    texts = [r.text for r in listed.reminders if r.kind == "manual"]
    assert texts == ["first", "second"]  # soonest first
    everything = router.handle_text(Caller("U0ENG", "C0NONE", role=Role.ENGINEER), "reminders")
    assert isinstance(everything, ReminderList)
    assert everything.key is None
    assert {r.key for r in everything.reminders} == {"acme", "beta"}

    first = next(r for r in listed.reminders if r.text == "first")
    # From another onboarding's channel it is refused; from its own it works, once.
    assert "belongs to acme" in refused(router.handle_text(ELSEWHERE, f"remind cancel {first.id}"))
    cancelled = router.handle_text(LONDON, f"remind cancel #{first.id}")
    assert isinstance(cancelled, ReminderCancelled)
    assert "cancelled already" in refused(router.handle_text(LONDON, f"remind cancel {first.id}"))
    assert "no reminder #99999" in refused(router.handle_text(LONDON, "remind cancel 99999"))
    assert "by its number" in refused(router.handle_text(LONDON, "remind cancel soon"))
    after = router.handle_text(LONDON, "reminders acme")
    assert isinstance(after, ReminderList)
    assert [r.text for r in after.reminders if r.kind == "manual"] == ["second"]
    with database.session() as session:
        actions = [e.action for e in session.exec(select(AuditEvent))]
    assert actions.count("reminder.added") == 3
    assert actions.count("reminder.cancelled") == 1


def test_snooze_and_done_from_the_buttons(database: Database) -> None:
    router = opened(database)
    router.handle_text(LONDON, "remind acme in 1d ring them")
    (row,) = manual(database)
    now = datetime.now(UTC)
    snoozed = router.services.reminders.snooze(LONDON, row.id or 0, "1w", now=now)
    assert isinstance(snoozed, ReminderSnoozed)
    (row,) = manual(database)
    assert (row.state, row.due_at) == ("snoozed", now + timedelta(weeks=1))
    # A click in another channel (a forged value) is refused.
    with pytest.raises(Refused) as forged:
        router.services.reminders.done(ELSEWHERE, row.id or 0)
    assert "belongs to acme" in to_plain(render_text(forged.value.text))
    done = router.services.reminders.done(LONDON, row.id or 0, now=now)
    assert not done.already
    assert done.confirmed is None
    (row,) = manual(database)
    assert (row.state, row.done_by, row.done_at) == ("done", "U0ENG", now)
    message = render(done)
    assert "Done by <@U0ENG>" in message.text
    with pytest.raises(Refused) as late:
        router.services.reminders.snooze(LONDON, row.id or 0, "1d")
    assert "cannot be snoozed" in to_plain(render_text(late.value.text))


def test_free_text_verbs_keep_the_text_as_typed() -> None:
    from commands.grammar import parse
    from commands.verbs import VERBS

    command = parse('remind acme in 3d  don\'t   "forget" --all', VERBS)
    assert command.verb == "remind"
    assert command.args == ("acme", "in", "3d", "don't", '"forget"', "--all")
    assert command.text == 'acme in 3d  don\'t   "forget" --all'
    assert command.flags == {}
    assert parse("REMIND", VERBS).text == ""
    # Other verbs still parse flags and quotes as before.
    assert parse('open acme --name "Acme Ltd"', VERBS).flags == {"name": "Acme Ltd"}


def test_remind_usage_and_help(database: Database) -> None:
    router = opened(database)
    assert "Say when" in refused(router.handle_text(LONDON, "remind"))
    assert "Say which reminder" in refused(router.handle_text(LONDON, "remind cancel"))
    assert "Say which reminder" in refused(router.handle_text(LONDON, "remind done"))
    helped = render(router.handle_text(LONDON, "help remind"))  # type: ignore[arg-type]
    assert "/connect remind [customer] &lt;when&gt; &lt;text&gt;" in helped.text
    assert "tomorrow 09:00" in helped.text


def test_done_by_command_and_sent_confirmations_stay_listed(database: Database) -> None:
    router = opened(database)
    router.handle_text(LONDON, "done acme inbound")  # sets the provider reminder, due now
    with database.session(write=True) as session:
        row = session.exec(select(Reminder).where(Reminder.kind == "inbound.cancel_provider")).one()
        row.state = "sent"  # as the dispatcher leaves a one-off reminder it posted
        session.add(row)
    listed = router.handle_text(LONDON, "reminders")
    assert isinstance(listed, ReminderList)
    assert row.id in [r.id for r in listed.reminders]  # still waiting for its Done
    assert "belongs to acme" in refused(router.handle_text(ELSEWHERE, f"remind done {row.id}"))
    done = router.handle_text(LONDON, f"remind done {row.id}")
    assert isinstance(done, ReminderDone)
    assert done.confirmed == "firewall.previous_provider"
    assert done.public  # said in the channel, like the button's update
    after = router.handle_text(LONDON, "reminders")
    assert isinstance(after, ReminderList)
    assert row.id not in [r.id for r in after.reminders]
