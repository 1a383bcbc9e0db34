"""The go-live date on SQLite and PostgreSQL: `set --go-live` records it and plans backwards
with the seed's rhythm, arming a reminder for the latest day each step must start; moving the
date re-plans, `none` clears, closing cancels; bad dates are refused and change nothing; status
shows the days left and "on track" or "behind by N days"."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import select

from bot.render.renderer import render
from commands.core import golive
from commands.core.context import Caller
from commands.core.process import Service, Step, StepState
from commands.core.roles import Role
from commands.reminders import rules
from commands.replies import Refusal, Status, Updated
from commands.router import Router
from commands.services import Services
from store.db import Database
from store.models import Onboarding, Reminder, ReminderState

ENGINEER = Caller("U0ENG", "C0ACME", "T0TEST", role=Role.ENGINEER)
DELAYS = rules.DEFAULT_DELAYS


def today() -> date:
    return datetime.now(UTC).date()


def go_live_reminders(database: Database, *, open_only: bool = True) -> list[Reminder]:
    with database.session() as session:
        rows = [
            r
            for r in session.exec(select(Reminder).order_by(Reminder.id))  # type: ignore[arg-type]
            if r.kind.startswith(rules.GO_LIVE)
        ]
    if open_only:
        return [r for r in rows if r.state == ReminderState.PENDING]
    return rows


def stored_go_live(database: Database) -> date | None:
    with database.session() as session:
        return session.exec(select(Onboarding)).one().go_live


def at_nine(day: date) -> datetime:
    return datetime.combine(day, time(DELAYS.working_hour_utc), tzinfo=UTC)


# --- the plan itself ---------------------------------------------------------------------------


def test_the_plan_counts_back_with_the_seeds_rhythm() -> None:
    day = date(2027, 1, 15)
    p = golive.plan(day, Service.BOTH, outbound_period_days=5, old_mx_days=3)
    by = {m.step: m for m in p.milestones}
    assert [m.step for m in p.milestones] == list(Step)
    # The MX change is done by the go-live day.
    assert by[Step.INBOUND].done_by == day
    # Several days of outbound-only mode before the inbound switch starts.
    assert by[Step.INBOUND].start_by - by[Step.OUTBOUND].done_by == timedelta(days=5)
    # Recipients and journaling are ready when the switch starts.
    assert by[Step.RECIPIENTS].done_by == by[Step.INBOUND].start_by
    assert by[Step.JOURNALING].done_by == by[Step.INBOUND].start_by
    # The RFI first: done before anything else must start.
    assert by[Step.RFI].done_by == min(m.start_by for m in p.milestones if m.step is not Step.RFI)
    assert by[Step.RFI].start_by < by[Step.OUTBOUND].start_by
    # The lockdown last, a few days after the MX change (when the ISP has confirmed).
    assert by[Step.FIREWALL].start_by == day + timedelta(days=3)
    assert all(m.start_by <= m.done_by for m in p.milestones)


def test_archiving_plans_only_its_steps() -> None:
    p = golive.plan(date(2027, 1, 15), Service.ARCHIVING, outbound_period_days=5, old_mx_days=3)
    assert [m.step for m in p.milestones] == [Step.RFI, Step.RECIPIENTS, Step.JOURNALING]
    assert p.milestones[-1].done_by == date(2027, 1, 15)


def test_standing_is_on_track_or_behind_by_the_largest_lag() -> None:
    day = date(2027, 1, 15)
    p = golive.plan(day, Service.BOTH, outbound_period_days=5, old_mx_days=3)
    outbound = p.milestone(Step.OUTBOUND)
    assert outbound is not None
    states = {s: StepState.NOT_STARTED for s in Step}
    early = golive.standing(p, states, p.milestones[0].start_by)
    assert early.on_track
    assert early.days_left == (day - p.milestones[0].start_by).days
    # Three days after outbound should have started, with nothing started at all: the RFI is
    # further behind (it should have been done by then).
    late = golive.standing(p, states, outbound.start_by + timedelta(days=3))
    assert not late.on_track
    assert late.late_step is Step.RFI
    assert (
        late.behind_days == (outbound.start_by + timedelta(days=3) - p.milestones[0].start_by).days
    )
    done_rfi = {**states, Step.RFI: StepState.DONE, Step.OUTBOUND: StepState.IN_PROGRESS}
    # Outbound in progress: behind only once its done-by day has passed.
    assert golive.standing(p, done_rfi, outbound.done_by).on_track
    assert golive.standing(p, done_rfi, outbound.done_by + timedelta(days=2)).behind_days == 2


# --- through the verb, on both databases ------------------------------------------------------


def test_set_go_live_records_the_date_and_arms_the_plan(database: Database) -> None:
    router = Router(Services.build(database))
    router.handle_text(ENGINEER, "open acme --service both --region eu")
    day = today() + timedelta(days=60)
    reply = router.handle_text(ENGINEER, f"set acme --go-live {day.isoformat()}")
    assert isinstance(reply, Updated), reply
    assert stored_go_live(database) == day
    p = golive.plan(day, Service.BOTH, outbound_period_days=5, old_mx_days=3)
    armed = go_live_reminders(database)
    # One reminder per step, due at 09:00 UTC on its latest start day, in the channel.
    assert sorted((r.kind, r.due_at) for r in armed) == sorted(
        (f"{rules.GO_LIVE}.{m.step.value}", at_nine(m.start_by)) for m in p.milestones
    )
    assert {r.channel_id for r in armed} == {"C0ACME"}
    outbound = next(r for r in armed if r.kind == f"{rules.GO_LIVE}.outbound")
    assert "Outbound" in outbound.text
    assert day.isoformat() not in outbound.text
    assert golive.day_label(day) in outbound.text

    # Status shows the days left and that it is on track.
    status = router.handle_text(ENGINEER, "status acme")
    assert isinstance(status, Status)
    text = render(status).text
    assert "Go-live" in text
    assert golive.day_label(day) in text
    assert "60 days left" in text
    assert "on track" in text
    # And so does the onboarding's card.
    card = Services.build(database).onboardings.cards.by_key("acme")
    assert card is not None
    shown = render(card).text
    assert f"Go-live* {golive.day_label(day)} · 60 days left · on track" in shown


def test_moving_the_date_re_plans_and_none_clears(database: Database) -> None:
    router = Router(Services.build(database))
    router.handle_text(ENGINEER, "open acme --service security --region eu")
    first, second = today() + timedelta(days=40), today() + timedelta(days=70)
    router.handle_text(ENGINEER, f"set acme --go-live {first.isoformat()}")
    before = go_live_reminders(database)
    router.handle_text(ENGINEER, f"set acme --go-live {second.isoformat()}")
    after = go_live_reminders(database)
    assert stored_go_live(database) == second
    assert len(after) == len(before)
    assert min(r.due_at for r in after) - min(r.due_at for r in before) == timedelta(days=30)
    # The first plan's reminders are cancelled, not left to fire.
    with database.session() as session:
        for r in before:
            row = session.get(Reminder, r.id)
            assert row is not None
            assert row.state == ReminderState.CANCELLED
    # Back to the first date: planned again (keys of a cancelled plan do not block it).
    router.handle_text(ENGINEER, f"set acme --go-live {first.isoformat()}")
    again = go_live_reminders(database)
    assert sorted(r.due_at for r in again) == sorted(r.due_at for r in before)

    cleared = router.handle_text(ENGINEER, "set acme --go-live none")
    assert isinstance(cleared, Updated), cleared
    assert stored_go_live(database) is None
    assert go_live_reminders(database) == []
    assert "Go-live" not in render(router.handle_text(ENGINEER, "status acme")).text


def test_a_step_started_drops_its_reminder_and_close_cancels_the_rest(database: Database) -> None:
    router = Router(Services.build(database))
    router.handle_text(ENGINEER, "open acme --service security --region eu")
    router.handle_text(ENGINEER, f"set acme --go-live {(today() + timedelta(days=50)).isoformat()}")
    kinds = {r.kind for r in go_live_reminders(database)}
    assert f"{rules.GO_LIVE}.outbound" in kinds
    router.handle_text(ENGINEER, "done acme outbound")
    assert f"{rules.GO_LIVE}.outbound" not in {r.kind for r in go_live_reminders(database)}
    router.handle_text(ENGINEER, "close acme --yes")
    assert go_live_reminders(database) == []


def test_behind_the_plan_is_shown(database: Database) -> None:
    router = Router(Services.build(database))
    router.handle_text(ENGINEER, "open acme --service both --region eu")
    # Nine days out: the RFI should have started days ago.
    day = today() + timedelta(days=9)
    router.handle_text(ENGINEER, f"set acme --go-live {day.isoformat()}")
    p = golive.plan(day, Service.BOTH, outbound_period_days=5, old_mx_days=3)
    lag = (today() - p.milestones[0].start_by).days
    assert lag > 0
    text = render(router.handle_text(ENGINEER, "status acme")).text
    assert f"behind by {lag} days" in text
    assert "9 days left" in text
    # Steps whose latest start has passed get no reminder (status says they are late).
    assert all(r.due_at >= at_nine(today()) for r in go_live_reminders(database))


def test_bad_dates_are_refused_and_change_nothing(database: Database) -> None:
    router = Router(Services.build(database))
    router.handle_text(ENGINEER, "open acme --service both --region eu")
    cases = {
        "tomorrow": "YYYY-MM-DD",
        "15/01/2027": "YYYY-MM-DD",
        "2027-02-30": "not a day of the calendar",
        (today() - timedelta(days=1)).isoformat(): "in the past",
        (today() + timedelta(days=golive.MAX_DAYS_AHEAD + 1)).isoformat(): "Check the year",
    }
    for value, why in cases.items():
        reply = router.handle_text(ENGINEER, f"set acme --go-live {value}")
        assert isinstance(reply, Refusal), (value, reply)
        assert why in render(reply).text, (value, render(reply).text)
    assert stored_go_live(database) is None
    assert go_live_reminders(database, open_only=False) == []
