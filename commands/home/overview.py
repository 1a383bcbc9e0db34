"""What the Home tab says of each onboarding, and in which order: most urgent first.

Plain values built from the store's overview rows; bot/render/home.py turns them into blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from commands.core.golive import GoLiveStanding, standing_of
from commands.core.process import Service, Step, StepState
from store.home import OverviewRow

FAILING = ("fail", "unknown")  # a latest check result that holds a step back


class WaitingFor(StrEnum):
    RFI = "rfi"  # the customer's answer to an RFI question
    CHECK = "check"  # a failing (or inconclusive) check of the step in progress
    CONFIRMATION = "confirmation"  # a person's Done on a reminder (old MX retired, ...)


@dataclass(frozen=True)
class Waiting:
    what: WaitingFor
    days: int | None = None  # how long it has waited (the RFI)
    detail: str | None = None  # the question id, the check's worst status, the item


@dataclass(frozen=True)
class HomeItem:
    key: str
    name: str
    channel_id: str | None
    service: Service
    region: str | None
    opened_at: datetime
    closed_at: datetime | None
    done: int
    applicable: int
    current: Step | None  # the first applicable step not done
    current_state: StepState | None
    latest: tuple[str, datetime] | None  # the current step's latest check: worst, when
    waiting: tuple[Waiting, ...]
    reminders_overdue: int
    reminders_next: datetime | None
    go_live: GoLiveStanding | None

    @property
    def urgency(self) -> tuple[int, int, int, int, int, float]:
        """Sort key, most urgent first: behind the go-live plan, overdue reminders, a failing
        check, a go-live date close, an RFI waiting longest, then the oldest."""
        g = self.go_live
        failing = self.latest is not None and self.latest[0] in FAILING
        rfi = max((w.days or 0 for w in self.waiting if w.what is WaitingFor.RFI), default=0)
        return (
            -(g.behind_days if g else 0),
            -self.reminders_overdue,
            0 if failing else 1,
            g.days_left if g else 1_000_000,
            -rfi,
            self.opened_at.timestamp(),
        )


def item_of(row: OverviewRow, now: datetime) -> HomeItem:
    o = row.onboarding
    states = {Step(step): StepState(state) for step, (state, _) in row.steps.items()}
    applicable = [
        s for s in Step if states.get(s, StepState.NOT_APPLICABLE) is not StepState.NOT_APPLICABLE
    ]
    current = next((s for s in applicable if states[s] is not StepState.DONE), None)
    latest = row.latest_checks.get(current.value) if current else None
    waiting: list[Waiting] = []
    if current is Step.RFI and row.rfi_question and row.rfi_completed_at is None:
        since = row.rfi_last_activity_at or o.opened_at
        waiting.append(Waiting(WaitingFor.RFI, (now - since).days, row.rfi_question))
    if latest is not None and latest[0] in FAILING:
        waiting.append(Waiting(WaitingFor.CHECK, detail=latest[0]))
    for item in sorted(set(row.confirmations_waiting)):
        waiting.append(Waiting(WaitingFor.CONFIRMATION, detail=item))
    return HomeItem(
        key=o.key,
        name=o.name,
        channel_id=o.channel_id,
        service=Service(o.service),
        region=o.region,
        opened_at=o.opened_at,
        closed_at=o.closed_at,
        done=sum(1 for s in applicable if states[s] is StepState.DONE),
        applicable=len(applicable),
        current=current,
        current_state=states.get(current) if current else None,
        latest=latest,
        waiting=tuple(waiting),
        reminders_overdue=row.reminders_overdue,
        reminders_next=row.reminders_next,
        go_live=standing_of(o.go_live, Service(o.service), states, today(now)),
    )


def today(now: datetime) -> date:
    return now.date()


def most_urgent_first(items: list[HomeItem]) -> list[HomeItem]:
    return sorted(items, key=lambda item: item.urgency)
