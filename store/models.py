"""SQLModel tables. Step states and services are plain strings here; commands/ owns what they
mean. Reminder states are the store's own (its claims and sends move them in SQL): ReminderState.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    Dialect,
    Index,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    inspect,
    text,
)
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend: SQLite forgets the zone, so reads re-attach it."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use UTC-aware datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)


def _utc_column(*, nullable: bool) -> Column[datetime]:
    return Column(UTCDateTime(), nullable=nullable)


def table_of(model: type[SQLModel]) -> Table:
    """A table model's Core table, i.e. `model.__table__` (which SQLModel does not declare for
    type checkers)."""
    table = inspect(model).local_table
    assert isinstance(table, Table)
    return table


class Onboarding(SQLModel, table=True):
    __tablename__ = "onboarding"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=40, unique=True, index=True)
    name: str = Field(max_length=200)
    service: str = Field(max_length=20)
    region: str | None = Field(default=None, max_length=20)
    team_id: str | None = Field(default=None, max_length=32)
    channel_id: str | None = Field(default=None, max_length=32, index=True)
    opened_by: str = Field(max_length=32)
    opened_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))
    closed_by: str | None = Field(default=None, max_length=32)
    closed_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    # Recognised from the MX and SPF seen when the domains were first checked.
    previous_provider_key: str | None = Field(default=None, max_length=40)
    previous_provider: str | None = Field(default=None, max_length=120)
    # Domain -> MX hosts that were not the gateway's at the first check: the hosts that must
    # stop accepting mail once the MX points at the gateway (inbound.old_mx_retired).
    old_mx_hosts: dict[str, list[str]] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )
    # The address the gateway gave the account for journal reports (set by an engineer).
    journal_address: str | None = Field(default=None, max_length=254)
    # Why the bot cannot work in its channel any more, as Slack told it ("archived": the channel
    # was archived; "removed": the bot left or was removed); None while it can. Since when.
    channel_state: str | None = Field(default=None, max_length=20)
    channel_state_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    # The onboarding's card: the message posted at open and updated in place as it moves
    # (bot/slack/features/card.py); its link, from chat.getPermalink, for status replies.
    card_channel_id: str | None = Field(default=None, max_length=32)
    card_ts: str | None = Field(default=None, max_length=32)
    card_url: str | None = Field(default=None, max_length=500)
    # The day the customer wants mail flowing through the gateway (a calendar day, no zone):
    # the go-live plan counts back from it.
    go_live: date | None = Field(default=None, sa_column=Column(Date, nullable=True))


class StepStatus(SQLModel, table=True):
    __tablename__ = "step_status"
    __table_args__ = (UniqueConstraint("onboarding_id", "step"),)

    id: int | None = Field(default=None, primary_key=True)
    onboarding_id: int = Field(foreign_key="onboarding.id", ondelete="CASCADE")
    step: str = Field(max_length=20)
    state: str = Field(max_length=20)
    changed_by: str | None = Field(default=None, max_length=32)
    changed_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_onboarding_at", "onboarding_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    onboarding_id: int | None = Field(default=None, foreign_key="onboarding.id", ondelete="CASCADE")
    at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))
    actor: str = Field(max_length=32)
    action: str = Field(max_length=40)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class RfiThread(SQLModel, table=True):
    """The Slack thread an onboarding's RFI conversation runs in, and where it stands."""

    __tablename__ = "rfi_thread"
    __table_args__ = (UniqueConstraint("channel_id", "thread_ts"),)

    id: int | None = Field(default=None, primary_key=True)
    onboarding_id: int = Field(foreign_key="onboarding.id", ondelete="CASCADE", unique=True)
    channel_id: str = Field(max_length=32)
    thread_ts: str = Field(max_length=32)
    started_by: str = Field(max_length=32)
    started_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))
    # The question the next reply answers; None once every question has been asked.
    current_question: str | None = Field(default=None, max_length=40)
    # The next reply replaces the current question's answer instead of adding to it.
    replacing: bool = False
    last_activity_at: datetime = Field(
        default_factory=utcnow, sa_column=_utc_column(nullable=False)
    )
    completed_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class RfiAnswer(SQLModel, table=True):
    """One reply's contribution to one question: a multi-value answer may span several replies."""

    __tablename__ = "rfi_answer"
    __table_args__ = (Index("ix_rfi_answer_onboarding_question", "onboarding_id", "question"),)

    id: int | None = Field(default=None, primary_key=True)
    onboarding_id: int = Field(foreign_key="onboarding.id", ondelete="CASCADE")
    question: str = Field(max_length=40)
    # The validated values as JSON; an empty list records an optional question skipped.
    values: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    answered_by: str = Field(max_length=32)
    answered_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))
    # The Slack message it came from (channel and ts), or the form / a button.
    source_channel: str | None = Field(default=None, max_length=32)
    source_ts: str | None = Field(default=None, max_length=32, index=True)


class ProcessedMessage(SQLModel, table=True):
    """Slack may deliver one event twice; a message (or an edit of it) is acted on once."""

    __tablename__ = "processed_message"

    key: str = Field(primary_key=True, max_length=120)
    at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))


class CheckRun(SQLModel, table=True):
    """One run of one step's checks: who ran it, when, and every result as plain JSON."""

    __tablename__ = "check_run"
    __table_args__ = (Index("ix_check_run_onboarding_step_at", "onboarding_id", "step", "run_at"),)

    id: int | None = Field(default=None, primary_key=True)
    onboarding_id: int = Field(foreign_key="onboarding.id", ondelete="CASCADE")
    step: str = Field(max_length=20)
    run_by: str = Field(max_length=32)
    run_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))
    worst: str = Field(max_length=10)
    elapsed_ms: int = 0
    results: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class Credential(SQLModel, table=True):
    """How to log in to a customer server (journal mailbox, directory); the secret is sealed."""

    __tablename__ = "credential"
    __table_args__ = (UniqueConstraint("onboarding_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    onboarding_id: int = Field(foreign_key="onboarding.id", ondelete="CASCADE")
    kind: str = Field(max_length=20)  # "pop", later "ldap"
    host: str = Field(max_length=255)
    port: int
    security: str = Field(max_length=20)
    username: str = Field(max_length=1024)  # a bind DN can be long
    # A Fernet token from commands.secrets: never the plain secret.
    sealed_secret: str = Field(max_length=4096)
    set_by: str = Field(max_length=32)
    set_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))
    # Kind-specific settings that are not secret (LDAP: base DN, directory type, CA PEM).
    options: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class RecipientBatch(SQLModel, table=True):
    """One directory sync or spreadsheet upload: staged, then imported or discarded."""

    __tablename__ = "recipient_batch"
    __table_args__ = (Index("ix_recipient_batch_onboarding", "onboarding_id", "state"),)

    id: int | None = Field(default=None, primary_key=True)
    onboarding_id: int = Field(foreign_key="onboarding.id", ondelete="CASCADE")
    source: str = Field(max_length=20)  # "directory" | "spreadsheet"
    state: str = Field(max_length=20)  # "staged" | "imported" | "discarded" | "replaced"
    filename: str | None = Field(default=None, max_length=255)
    rows: int = 0  # data rows read
    valid: int = 0  # rows that would be imported (first of each address)
    errors: int = 0  # rows refused, duplicates included
    duplicates: int = 0
    # The first row errors and the domains outside the RFI, for the report.
    report: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))
    imported_by: str | None = Field(default=None, max_length=32)
    imported_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class RecipientStaging(SQLModel, table=True):
    """Rows of a staged batch: kept in the database so memory does not grow with the file,
    and duplicates are found with SQL rather than a set in Python."""

    __tablename__ = "recipient_staging"
    __table_args__ = (
        Index("ix_recipient_staging_batch_key", "batch_id", "address_key", "file", "row"),
    )

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="recipient_batch.id", ondelete="CASCADE")
    file: int = Field(default=0, sa_column_kwargs={"server_default": "0"})  # of the upload's files
    row: int  # in its file
    address: str = Field(max_length=320)
    address_key: str = Field(max_length=320)  # lowercased, for duplicates
    domain: str = Field(max_length=255)
    display_name: str | None = Field(default=None, max_length=256)
    kind: str = Field(default="user", max_length=10)
    groups: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class Recipient(SQLModel, table=True):
    """A deliverable address the gateway may accept mail for."""

    __tablename__ = "recipient"
    __table_args__ = (
        UniqueConstraint("onboarding_id", "source", "address_key"),
        Index("ix_recipient_onboarding_domain", "onboarding_id", "domain"),
    )

    id: int | None = Field(default=None, primary_key=True)
    onboarding_id: int = Field(foreign_key="onboarding.id", ondelete="CASCADE")
    batch_id: int | None = Field(
        default=None, foreign_key="recipient_batch.id", ondelete="SET NULL"
    )
    source: str = Field(max_length=20)  # "directory" | "spreadsheet"
    address: str = Field(max_length=320)
    address_key: str = Field(max_length=320)
    domain: str = Field(max_length=255)
    display_name: str | None = Field(default=None, max_length=256)
    kind: str = Field(default="user", max_length=10)
    groups: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class ReminderState(StrEnum):
    """Where a reminder is. Stored as its value; a member compares equal to that string."""

    PENDING = "pending"  # waiting for its due time
    SENT = "sent"  # posted (a repeating one goes back to pending, due again later)
    DONE = "done"
    SNOOZED = "snoozed"  # due again at a later time
    CANCELLED = "cancelled"
    # Slack refused it for good (the channel archived or gone, the thread deleted, the message
    # invalid): never tried again; `failed_reason` says why.
    FAILED = "failed"


# Open: not yet posted for its current due time; the dispatcher delivers these when due.
OPEN_REMINDER_STATES = (ReminderState.PENDING, ReminderState.SNOOZED)
# The same as literal SQL (see Reminder's index).
DUE_STATES_SQL = f"state IN ('{ReminderState.PENDING}', '{ReminderState.SNOOZED}')"


class Reminder(SQLModel, table=True):
    """A dated chore posted to Slack by the dispatcher; claims let several workers share them."""

    __tablename__ = "reminder"
    # The due query reads this partial index in due order and stops at its LIMIT: no table scan
    # and no sort, however many reminders are sent or done. The query must spell the same
    # predicate literally (not as bound parameters) for the planners to pick the index.
    __table_args__ = (
        Index(
            "ix_reminder_due",
            "due_at",
            sqlite_where=text(DUE_STATES_SQL),
            postgresql_where=text(DUE_STATES_SQL),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    onboarding_id: int = Field(foreign_key="onboarding.id", ondelete="CASCADE", index=True)
    kind: str = Field(max_length=40)  # "manual", "outbound.period_complete", ...
    # Plain text as a person or a rule wrote it: escaped when rendered.
    text: str = Field(sa_column=Column(Text, nullable=False))
    due_at: datetime = Field(sa_column=_utc_column(nullable=False))
    channel_id: str = Field(max_length=32)
    thread_ts: str | None = Field(default=None, max_length=32)
    state: str = Field(default=ReminderState.PENDING, max_length=20)  # a ReminderState
    created_by: str = Field(max_length=32)  # a user id, or "bot"
    created_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))
    # Automatic reminders carry a key so that re-running a rule never adds a second one.
    key: str | None = Field(default=None, max_length=200, unique=True)
    # Repeating reminders go back to pending, due again this much later, until done or cancelled.
    repeat_seconds: int | None = None
    # The manual item a Done confirms ("inbound.old_mx_retired", "firewall.previous_provider").
    confirms: str | None = Field(default=None, max_length=60)
    occurrence: int = 0  # times sent
    # A worker's lease on the reminder while it posts it; an expired claim may be taken over.
    claimed_by: str | None = Field(default=None, max_length=80)
    claim_expires_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    claimed_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    # Claims taken since the last recorded send: above 1, a previous claim may have posted it.
    attempts: int = 0
    sent_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    message_ts: str | None = Field(default=None, max_length=32)
    done_by: str | None = Field(default=None, max_length=32)
    done_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    # Slack's error code when it refused the reminder for good (state failed), and when.
    failed_reason: str | None = Field(default=None, max_length=60)
    failed_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class Member(SQLModel, table=True):
    """A person taking part in an onboarding, and as what (role as the commands layer names it)."""

    __tablename__ = "member"
    __table_args__ = (UniqueConstraint("onboarding_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    onboarding_id: int = Field(foreign_key="onboarding.id", ondelete="CASCADE")
    user_id: str = Field(max_length=32, index=True)
    role: str = Field(max_length=20)
    added_by: str = Field(max_length=32)
    added_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))


class Watch(SQLModel, table=True):
    """The bot's own watch on an onboarding's DNS (the MX switch, then regressions), run by the
    watcher under a claim with a lease, like reminders, so that several workers share them."""

    __tablename__ = "watch"

    id: int | None = Field(default=None, primary_key=True)
    onboarding_id: int = Field(foreign_key="onboarding.id", ondelete="CASCADE", unique=True)
    mode: str = Field(max_length=20)  # commands/watch says what the modes mean
    due_at: datetime = Field(sa_column=_utc_column(nullable=False))
    streak: int = 0  # runs in a row that saw nothing new (the back-off)
    runs: int = 0
    paused_by: str | None = Field(default=None, max_length=32)
    paused_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    claimed_by: str | None = Field(default=None, max_length=80)
    claim_expires_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    last_run_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    # Domain -> what the last run saw (plain JSON the watch rules write and read).
    seen: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # Notices a run decided on and not yet posted: written with the run's conclusion, so that a
    # worker that dies before posting leaves them for the next one.
    outbox: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    pending: int = 0  # len(outbox): the claim query reads it
    next_seq: int = 0  # numbers the notices (their Slack metadata names watch and number)


class HomeViewer(SQLModel, table=True):
    """Someone who opened the app's Home tab, with the filters they chose: kept in the database
    so that every process republishes their view when an onboarding changes, and so that the
    bound on publishes (one per person per few seconds) holds across processes."""

    __tablename__ = "home_viewer"

    user_id: str = Field(primary_key=True, max_length=32)
    scope: str = Field(default="mine", max_length=10)  # "mine" | "all"
    closed: bool = False  # recently closed onboardings instead of open ones
    page: int = 0
    opened_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))
    published_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
