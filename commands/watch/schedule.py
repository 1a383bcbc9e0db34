"""When a watch exists and when it runs: the modes, the intervals and the back-off."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from commands.core.process import Step, StepState

WATCHED_STEP = Step.INBOUND


class Mode(StrEnum):
    CUTOVER = "cutover"  # inbound in progress: looking for the MX switch
    REGRESSION = "regression"  # inbound done: looking for a change that bypasses the gateway


@dataclass(frozen=True)
class WatchConfig:
    """How often and how much. `interval` is CONNECT_WATCH_INTERVAL (seconds)."""

    interval: float = 15 * 60
    regression_interval: float = 24 * 3600
    # Cut-over runs that see nothing new wait twice as long each time, up to this many doublings.
    max_doublings: int = 2
    lease_seconds: float = 120.0
    run_seconds: float = 20.0  # a run's DNS budget, all domains together
    max_domains: int = 20  # domains asked per run (the queries a run may make are bounded)

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.lease_seconds)


def mode_for(state: str | None, closed: bool) -> Mode | None:
    """Which watch an onboarding should have: cut-over while its inbound step is in progress,
    regression once it is done, none when it is closed or the step not started or not needed."""
    if closed or state is None:
        return None
    if state == StepState.IN_PROGRESS:
        return Mode.CUTOVER
    if state == StepState.DONE:
        return Mode.REGRESSION
    return None


def first_due(mode: Mode, now: datetime, config: WatchConfig) -> datetime:
    """A new watch (or one that changed mode) runs one interval later: whatever moved the step
    (a check run) has just looked at the same records."""
    return now + timedelta(seconds=interval_of(mode, 0, config))


def interval_of(mode: Mode, streak: int, config: WatchConfig) -> float:
    if mode is Mode.REGRESSION:
        return config.regression_interval
    return config.interval * 2 ** min(max(streak, 0), config.max_doublings)


def next_run(
    mode: Mode, streak: int, changed: bool, now: datetime, config: WatchConfig
) -> tuple[datetime, int]:
    """(when the next run is due, the new streak): a run that saw a change starts the back-off
    afresh; one that did not waits longer next time (cut-over mode only)."""
    streak = 0 if changed else streak + 1
    return now + timedelta(seconds=interval_of(mode, streak, config)), streak
