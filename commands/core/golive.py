"""The go-live date and the plan that counts back from it (issue 15, section 4).

The go-live date is the day the customer wants mail flowing through the gateway: the inbound
switch (the MX change) is done by then. The plan counts back from it with the seed's rhythm:
the RFI first; outbound set up, then several days of outbound-only mode before the inbound
switch; recipient validation and journaling ready before the switch; and after the MX change a
few days before the ISP is asked about the old host, the firewall lockdown last. Each step gets
the latest day it must start and the day it must be done by; "behind by N days" is the largest
lag of a step not done behind those days.

It lives in core because every view of an onboarding shows it (status, the card, the Home tab)
and the reminder rules arm it; it reads no store, only dates and step states.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from commands.core.context import Refused
from commands.core.process import Service, Step, StepState, initial_state
from commands.core.text import Code, Text

# How long each piece of work takes in the plan, in days. The outbound-only period and the wait
# after the MX change are those of the process's own reminders by default (DEFAULT_DELAYS in
# commands/reminders/rules.py); status, Home and the go-live reminders all plan with these, so
# they never disagree.
OUTBOUND_ONLY_DAYS = 5  # the seed: "usually run for several days"
OLD_MX_WAIT_DAYS = 3  # the seed: "within a few days of the MX record update, ask your ISP"
RFI_DAYS = 3  # the customer answers the questionnaire
OUTBOUND_SETUP_DAYS = 2  # connectors, SPF, firewall access for the gateway's ranges
RECIPIENTS_DAYS = 2  # directory sync or a spreadsheet, checked
JOURNALING_DAYS = 2  # the journal rule and mailbox, checked
INBOUND_DAYS = 1  # the MX change at the ISP, propagated by the go-live day
FIREWALL_DAYS = 1  # the lockdown

# A date further ahead than this is a typo (2207 for 2027), not a plan.
MAX_DAYS_AHEAD = 730
CLEAR = "none"
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Milestone:
    step: Step
    start_by: date  # the latest day the step must start
    done_by: date  # the day it must be done by


@dataclass(frozen=True)
class GoLivePlan:
    go_live: date
    milestones: tuple[Milestone, ...]  # applicable steps, in the seed's order

    def milestone(self, step: Step) -> Milestone | None:
        return next((m for m in self.milestones if m.step is step), None)


@dataclass(frozen=True)
class GoLiveStanding:
    """Where an onboarding stands against its plan on a given day."""

    plan: GoLivePlan
    today: date
    behind_days: int  # 0: on track
    late_step: Step | None  # the step furthest behind, when behind
    next: Milestone | None  # the next start or finish the plan asks for, from today

    @property
    def go_live(self) -> date:
        return self.plan.go_live

    @property
    def days_left(self) -> int:
        """Days until the go-live date (negative once it has passed)."""
        return (self.plan.go_live - self.today).days

    @property
    def on_track(self) -> bool:
        return self.behind_days == 0

    @property
    def left(self) -> str:
        """The days left as people say it: "12 days left", "today", "3 days ago"."""
        n = self.days_left
        if n == 0:
            return "today"
        unit = "day" if abs(n) == 1 else "days"
        return f"{n} {unit} left" if n > 0 else f"{-n} {unit} ago"

    @staticmethod
    def day(day: date) -> str:
        return day_label(day)


def plan(
    go_live: date,
    service: Service,
    *,
    outbound_period_days: int = OUTBOUND_ONLY_DAYS,
    old_mx_days: int = OLD_MX_WAIT_DAYS,
) -> GoLivePlan:
    """Each applicable step's latest start and finish, counted back from `go_live`."""
    applies = {s for s in Step if initial_state(service, s) is not StepState.NOT_APPLICABLE}
    spans: dict[Step, tuple[date, date]] = {}  # step -> (start_by, done_by)
    switch = go_live - timedelta(days=INBOUND_DAYS)  # the MX change starts here
    if Step.INBOUND in applies:
        spans[Step.INBOUND] = (switch, go_live)
    if Step.FIREWALL in applies:
        # After the MX change, a few days before the ISP confirms the old host is gone.
        start = go_live + timedelta(days=old_mx_days)
        spans[Step.FIREWALL] = (start, start + timedelta(days=FIREWALL_DAYS))
    ready_by = switch if Step.INBOUND in applies else go_live
    for step, days in ((Step.RECIPIENTS, RECIPIENTS_DAYS), (Step.JOURNALING, JOURNALING_DAYS)):
        if step in applies:
            spans[step] = (ready_by - timedelta(days=days), ready_by)
    if Step.OUTBOUND in applies:
        # Outbound-only mode runs for the whole period before the inbound switch.
        done = ready_by - timedelta(days=outbound_period_days)
        spans[Step.OUTBOUND] = (done - timedelta(days=OUTBOUND_SETUP_DAYS), done)
    if Step.RFI in applies:
        first = min((start for start, _ in spans.values()), default=go_live)
        spans[Step.RFI] = (first - timedelta(days=RFI_DAYS), first)
    return GoLivePlan(go_live, tuple(Milestone(s, *spans[s]) for s in Step if s in spans))


def standing(plan_: GoLivePlan, states: Mapping[Step, StepState], today: date) -> GoLiveStanding:
    """How far behind the plan the steps not yet done are on `today` (0: on track)."""
    behind, late = 0, None
    for m in plan_.milestones:
        state = states.get(m.step, StepState.NOT_STARTED)
        if state in (StepState.DONE, StepState.NOT_APPLICABLE):
            continue
        lag = (today - m.done_by).days
        if state is StepState.NOT_STARTED:
            lag = max(lag, (today - m.start_by).days)
        if lag > behind:
            behind, late = lag, m.step
    upcoming = [
        m
        for m in plan_.milestones
        if states.get(m.step, StepState.NOT_STARTED) is not StepState.DONE and m.done_by >= today
    ]
    upcoming.sort(key=lambda m: m.start_by if m.start_by >= today else m.done_by)
    return GoLiveStanding(plan_, today, behind, late, upcoming[0] if upcoming else None)


def standing_of(
    go_live: date | None, service: Service, states: Mapping[Step, StepState], today: date
) -> GoLiveStanding | None:
    """An onboarding's standing against its go-live plan (None: no date set)."""
    if go_live is None:
        return None
    return standing(plan(go_live, service), states, today)


def parse_go_live(value: str, today: date) -> date | None:
    """A go-live date as typed: an ISO day from today up to MAX_DAYS_AHEAD, or `none` (None:
    clear it). Anything else is refused with what to type."""
    text = value.strip()
    if text.lower() == CLEAR:
        return None
    example = Code(f"--go-live {(today + timedelta(days=42)).isoformat()}")
    if not _ISO_DAY.match(text):
        raise Refused(
            Text(
                "{value} is not a date: give the go-live day as YYYY-MM-DD, e.g. {example}, "
                "or {clear} to remove it.",
                value=text[:40],
                example=example,
                clear=Code(f"--go-live {CLEAR}"),
            )
        )
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise Refused(
            Text(
                "{value} is not a day of the calendar, e.g. {example}.", value=text, example=example
            )
        ) from None
    if day < today:
        raise Refused(
            Text(
                "{value} is in the past (today is {today}): give a go-live day from today on.",
                value=text,
                today=today.isoformat(),
            )
        )
    if (day - today).days > MAX_DAYS_AHEAD:
        raise Refused(
            Text(
                "{value} is more than {years} years ahead; a go-live date is at most {days} "
                "days from today. Check the year.",
                value=text,
                years=MAX_DAYS_AHEAD // 365,
                days=MAX_DAYS_AHEAD,
            )
        )
    return day


def day_label(day: date) -> str:
    """A calendar day as people read it ("Fri 15 Jan 2027"): a day, not an instant, so it is
    the same in every time zone and needs no `<!date>`."""
    return f"{day:%a} {day.day} {day:%b %Y}"
