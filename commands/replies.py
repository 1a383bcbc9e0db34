"""What a verb replies: plain data for bot/ to render, in Slack or in the shell. `Reply` names
every reply, the features' own included (for type checkers only: the features import this)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TypeAlias

from commands.core.process import Service, Step, StepState
from commands.core.text import Text
from commands.core.views import OnboardingView
from commands.registry import Verb

if TYPE_CHECKING:
    from commands.checks.service import CheckPlan, DnsRecords
    from commands.credentials import CredentialForm
    from commands.history import History
    from commands.members import Members
    from commands.recipients.sync import Synced, SyncFailed
    from commands.report.model import OnboardingReport
    from commands.rfi.service import RfiBegin, Summary
    from commands.watch.views import WatchShown


@dataclass(frozen=True)
class ListItem:
    key: str
    name: str
    service: Service
    region: str | None
    opened_at: datetime
    closed_at: datetime | None
    done: int
    applicable: int


# Results. `public` ones are posted in the channel; the rest only to the person who asked.


@dataclass(frozen=True)
class Opened:
    onboarding: OnboardingView
    by_customer: bool = False  # self-service: the bot tells the engineers
    public = True


@dataclass(frozen=True)
class Status:
    onboarding: OnboardingView
    next: Text | None = None  # the next action, named as the reader can take it
    card_url: str | None = None  # the onboarding's card (its permalink), when it has one
    public = True


@dataclass(frozen=True)
class StepChanged:
    onboarding: OnboardingView
    step: Step
    previous: StepState
    by: str
    public = True


@dataclass(frozen=True)
class Closed:
    onboarding: OnboardingView
    # Not closed yet: asked to confirm (a button, or --yes), said to the person alone.
    asked: bool = False
    door: str = "/connect"  # how the reader types a command: "/connect" or "@connect"

    @property
    def public(self) -> bool:
        return not self.asked


@dataclass(frozen=True)
class Listing:
    items: tuple[ListItem, ...]
    total: int  # matching onboardings, of which `items` are the first
    closed_hidden: int  # closed ones left out because --all was not given
    scoped: bool = False  # a customer contact's own onboardings only
    door: str = "/connect"  # how the reader types a command: "/connect" or "@connect"
    public = False


@dataclass(frozen=True)
class Updated:
    onboarding: OnboardingView
    changes: tuple[str, ...]  # "region", "name"
    by: str
    public = True


@dataclass(frozen=True)
class Help:
    verbs: tuple[Verb, ...]
    single: bool  # help for one verb: show details and every example
    for_customer: bool = False  # a customer contact's list holds only the verbs they may use
    door: str = "/connect"  # how the reader types a verb: "/connect" or "@connect"
    public = False


@dataclass(frozen=True)
class Refusal:
    """The request was not carried out; nothing changed. `usage` adds a verb's usage line."""

    text: Text
    usage: Verb | None = None
    door: str = "/connect"  # how the usage line is spelled for the reader ("@connect" ...)
    public = False


@dataclass(frozen=True)
class Notice:
    """A word to the person alone about what was done (e.g. where a file went)."""

    text: Text
    public = False


Result = Opened | Status | StepChanged | Closed | Updated | Listing | Help | Refusal | Notice


# --- reminders -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReminderView:
    id: int
    key: str  # the onboarding's
    kind: str
    text: str
    due_at: datetime
    state: str
    created_by: str
    channel_id: str
    thread_ts: str | None = None
    repeat_seconds: int | None = None
    confirms: str | None = None
    done_by: str | None = None
    done_at: datetime | None = None
    failed_reason: str | None = None  # Slack's error, when it refused the reminder for good

    @property
    def manual(self) -> bool:
        return self.kind == "manual"


@dataclass(frozen=True)
class ReminderSet:
    reminder: ReminderView
    zone: str  # the time zone the due time was read in
    public = False


@dataclass(frozen=True)
class ReminderList:
    reminders: tuple[ReminderView, ...]
    total: int  # open reminders matching, of which `reminders` are the first
    key: str | None  # the onboarding listed, or None for all open onboardings
    public = False


@dataclass(frozen=True)
class ReminderCancelled:
    reminder: ReminderView
    by: str
    public = False


@dataclass(frozen=True)
class ReminderDone:
    """A Done click: the reminder's message is updated in place to say this."""

    reminder: ReminderView
    by: str
    at: datetime
    already: bool = False  # it was done before this click (by reminder.done_by)
    confirmed: str | None = None  # the manual item this Done confirmed
    step: Step | None = None  # the step that moved because of it
    step_state: StepState | None = None
    public = True


@dataclass(frozen=True)
class ReminderSnoozed:
    reminder: ReminderView
    by: str
    until: datetime
    public = True


ReminderResult = ReminderSet | ReminderList | ReminderCancelled | ReminderDone | ReminderSnoozed


@dataclass(frozen=True)
class CustomerOpened:
    """For the engineers: a customer contact opened an onboarding themselves (self-service)."""

    onboarding: OnboardingView
    public = True


if TYPE_CHECKING:
    Reply: TypeAlias = (
        Result
        | RfiBegin
        | Summary
        | CheckPlan
        | DnsRecords
        | CredentialForm
        | Synced
        | SyncFailed
        | ReminderResult
        | Members
        | History
        | OnboardingReport
        | WatchShown
    )
