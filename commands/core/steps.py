"""How a step moves for an onboarding: read its state, change it (audited, with the hook that
lets the reminders follow). The process itself (services, steps, states) is core/process.py."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlmodel import Session

from commands.core import audit
from commands.core.process import Step, StepState, transition
from store import onboardings
from store.models import Onboarding, utcnow


class StepHook(Protocol):
    """What else happens when a step moves (the reminders feature arms and drops its reminders);
    every caller of change_step passes one, so no step moves without it."""

    def __call__(
        self,
        session: Session,
        onboarding: Onboarding,
        step: Step,
        before: StepState,
        after: StepState,
        *,
        now: datetime,
    ) -> None: ...


def step_state(session: Session, onboarding: Onboarding, step: Step) -> StepState:
    assert onboarding.id is not None
    row = next(r for r in onboardings.step_rows(session, onboarding.id) if r.step == step)
    return StepState(row.state)


def change_step(
    session: Session,
    onboarding: Onboarding,
    step: Step,
    target: StepState,
    actor: str,
    *,
    how: str,
    then: StepHook,
) -> StepState:
    """Move a step (raises TransitionError if it may not) and audit it; returns the old state."""
    assert onboarding.id is not None
    row = next(r for r in onboardings.step_rows(session, onboarding.id) if r.step == step)
    current = StepState(row.state)
    new = transition(step, current, target)
    now = utcnow()
    onboardings.set_step_state(session, row, new.value, actor, now)
    changed = audit.StepChanged(step.value, current.value, new.value, by=how)
    audit.record(session, onboarding.id, actor, changed, at=now)
    then(session, onboarding, step, current, new, now=now)
    return current
