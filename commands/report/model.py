"""The onboarding report as plain data: what bot/render/report turns into HTML or Markdown.

Every string here may be someone's typed text (a company name, an answer, a reminder, a check's
evidence quoting a DNS record): whoever renders it escapes it. Nothing here is a secret: the
report is built without ever reading a sealed password (store/report.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from commands.core.process import Step, StepState
from commands.core.text import Text
from commands.core.views import OnboardingView


@dataclass(frozen=True)
class StepLine:
    step: Step
    state: StepState
    by: str | None  # who last moved it (who completed it, when it is done)
    at: datetime
    checks: str | None  # the worst status of its latest check run, if it has one


@dataclass(frozen=True)
class CheckLine:
    """A check's latest result for one subject (a domain, or the account)."""

    id: str
    step: str
    status: str  # pass, warn, fail, unknown, skipped
    subject: str | None
    summary: str
    evidence: tuple[str, ...]
    fix: str | None
    at: datetime
    run_by: str


@dataclass(frozen=True)
class DomainRecords:
    """What a domain was asked to publish, and what the checks last saw in its DNS."""

    domain: str
    asked: tuple[str, ...]
    seen: tuple[str, ...]
    seen_at: datetime | None  # when the DNS checks last looked; None: never


@dataclass(frozen=True)
class AnswerLine:
    question: str  # the question's title
    values: tuple[str, ...]
    state: str  # answered, skipped, missing
    by: str | None
    at: datetime | None


@dataclass(frozen=True)
class ReminderLine:
    id: int
    text: str
    due_at: datetime
    state: str
    created_by: str
    done_by: str | None
    done_at: datetime | None


@dataclass(frozen=True)
class Confirmation:
    """A manual item only a person can confirm (the old MX host retired, the previous
    provider cancelled), and who confirmed it."""

    item: str  # "inbound.old_mx_retired"
    title: str
    by: str | None  # None: not confirmed yet
    at: datetime | None
    reminder_id: int | None


@dataclass(frozen=True)
class LoginLine:
    """A stored login: where and as whom; never the password."""

    kind: str
    host: str
    port: int
    username: str
    set_by: str
    set_at: datetime


@dataclass(frozen=True)
class TrailLine:
    at: datetime
    actor: str
    text: Text


@dataclass(frozen=True)
class OnboardingReport:
    onboarding: OnboardingView
    generated_at: datetime
    generated_by: str
    steps: tuple[StepLine, ...]
    checks: tuple[CheckLine, ...]
    records: tuple[DomainRecords, ...]
    answers: tuple[AnswerLine, ...]
    reminders: tuple[ReminderLine, ...]
    confirmations: tuple[Confirmation, ...]
    logins: tuple[LoginLine, ...]
    members: tuple[tuple[str, str], ...]  # (user id, role label)
    trail: tuple[TrailLine, ...]
    trail_total: int  # events in all; the trail holds the newest of them
    public = True

    @property
    def trail_left_out(self) -> int:
        return self.trail_total - len(self.trail)

    @property
    def stem(self) -> str:
        """The report's file name without its extension: the key and the day it was made."""
        return f"onboarding-report-{self.onboarding.key}-{self.generated_at:%Y-%m-%d}"
