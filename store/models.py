"""SQLModel tables. States and services are plain strings here; commands/ owns what they mean."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Dialect, Index, TypeDecorator, UniqueConstraint
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


def _utc_column(*, nullable: bool) -> Any:
    return Column(UTCDateTime(), nullable=nullable)


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
    username: str = Field(max_length=255)
    # A Fernet token from commands.secrets: never the plain secret.
    sealed_secret: str = Field(max_length=4096)
    set_by: str = Field(max_length=32)
    set_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))


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
