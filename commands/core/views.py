"""The onboarding as every result shows it: its steps, progress and latest checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from commands.core.golive import GoLiveStanding, standing_of
from commands.core.process import Service, Step, StepState
from commands.rfi import answers as rfi_answers
from store import checks as check_store
from store import onboardings
from store import reminders as reminder_store
from store.models import Onboarding, utcnow


@dataclass(frozen=True)
class StepView:
    step: Step
    state: StepState
    changed_at: datetime
    changed_by: str | None

    @property
    def applies(self) -> bool:
        return self.state is not StepState.NOT_APPLICABLE


@dataclass(frozen=True)
class LastCheck:
    step: Step
    worst: str  # the worst status of the run: pass, warn, fail, unknown, skipped
    at: datetime


@dataclass(frozen=True)
class OnboardingView:
    key: str
    name: str
    service: Service
    region: str | None
    channel_id: str | None
    opened_by: str
    opened_at: datetime
    closed_by: str | None
    closed_at: datetime | None
    steps: tuple[StepView, ...]
    # The RFI questions answered in full so far (ids); how many are asked is the RFI's business, so
    # whoever shows the count asks commands.rfi.questions.
    rfi_answers: frozenset[str] = frozenset()
    previous_provider: str | None = None
    last_checks: tuple[LastCheck, ...] = ()
    # Recipients kept for the gateway: source ("directory" | "spreadsheet") -> count, and when
    # the newest set was stored.
    recipients: tuple[tuple[str, int], ...] = ()
    recipients_at: datetime | None = None

    @property
    def recipient_count(self) -> int:
        return sum(n for _, n in self.recipients)

    reminders: tuple[int, datetime | None] = (0, None)  # open reminders, and the next due
    reminders_failed: int = 0  # reminders Slack refused for good (the channel archived, ...)
    channel_state: str | None = None  # "archived", "removed": the bot cannot post there
    # The go-live date and where the steps stand against its plan (None: no date set).
    go_live: GoLiveStanding | None = None

    def last_check(self, step: Step) -> LastCheck | None:
        return next((c for c in self.last_checks if c.step is step), None)

    @property
    def applicable(self) -> int:
        return sum(1 for s in self.steps if s.applies)

    @property
    def done(self) -> int:
        return sum(1 for s in self.steps if s.state is StepState.DONE)

    @property
    def next_step(self) -> StepView | None:
        """The first applicable step, in the seed's order, that is not done."""
        return next((s for s in self.steps if s.applies and s.state is not StepState.DONE), None)


def view_of(session: Session, onboarding: Onboarding) -> OnboardingView:
    assert onboarding.id is not None
    rows = {r.step: r for r in onboardings.step_rows(session, onboarding.id)}
    extras = onboardings.status_extras(session, onboarding.id)
    steps = tuple(
        StepView(
            step=step,
            state=StepState(rows[step.value].state),
            changed_at=rows[step.value].changed_at,
            changed_by=rows[step.value].changed_by,
        )
        for step in Step
    )
    return OnboardingView(
        key=onboarding.key,
        name=onboarding.name,
        service=Service(onboarding.service),
        region=onboarding.region,
        channel_id=onboarding.channel_id,
        opened_by=onboarding.opened_by,
        opened_at=onboarding.opened_at,
        closed_by=onboarding.closed_by,
        closed_at=onboarding.closed_at,
        steps=steps,
        rfi_answers=rfi_answers.answered(session, onboarding.id),
        previous_provider=onboarding.previous_provider,
        last_checks=tuple(
            LastCheck(Step(run.step), run.worst, run.run_at)
            for run in check_store.latest_runs(session, onboarding.id).values()
        ),
        recipients=extras.recipients,
        recipients_at=extras.recipients_at,
        reminders=(extras.reminders_open, extras.reminders_next),
        reminders_failed=reminder_store.failed_count(session, onboarding.id),
        channel_state=onboarding.channel_state,
        go_live=standing_of(
            onboarding.go_live,
            Service(onboarding.service),
            {s.step: s.state for s in steps},
            utcnow().date(),
        ),
    )
