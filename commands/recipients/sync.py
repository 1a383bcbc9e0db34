"""`/connect sync acme`: read the customer's directory and keep its recipients.

The directory is read with the stored `ldap` credentials through the same staged check as
`recipients.directory`; only a read that got through every stage is stored, and a re-sync
replaces the directory-sourced recipients in one transaction (a spreadsheet import is kept).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from commands.checks.directory import DirectoryReport, DirectorySettings, check_directory
from commands.checks.directory.stages import Recipient
from commands.checks.dns import DnsResolver
from commands.checks.result import CheckResult, CheckStatus
from commands.core import audit
from commands.core.access import find_onboarding
from commands.core.context import Caller, Refused
from commands.core.text import Command, Text
from commands.core.views import OnboardingView, view_of
from commands.credentials import CredentialService, LoginDetails
from commands.rfi.service import rfi_domains
from store import onboardings
from store import recipients as store
from store.db import Database
from store.models import utcnow

SOURCE = "directory"


@dataclass(frozen=True)
class Synced:
    onboarding: OnboardingView
    by: str
    at: datetime
    stored: int
    replaced: int  # directory recipients kept before this sync
    users: int
    groups: int
    per_domain: Mapping[str, int] = field(default_factory=dict)
    outside: tuple[str, ...] = ()
    outside_count: int = 0
    sample: tuple[Recipient, ...] = ()
    public = True


@dataclass(frozen=True)
class SyncFailed:
    """The directory could not be read whole: the stages say where it stopped."""

    onboarding: OnboardingView
    results: tuple[CheckResult, ...]
    public = True


def directory_settings(
    login: LoginDetails, domains: tuple[str, ...], *, allow_private: bool, timeout: float
) -> DirectorySettings:
    options = login.options
    return DirectorySettings(
        host=login.host,
        security=login.security,
        bind_dn=login.username,
        password=login.password,
        base_dn=str(options.get("base_dn") or ""),
        directory_type=str(options.get("directory_type") or "active_directory"),
        domains=domains,
        port=login.port,
        ca_pem=options.get("ca_pem") or None,
        allow_private=allow_private,
        timeout=timeout,
    )


NO_LDAP = (
    "{key} has no directory login yet: enter it with {credentials} (host, bind DN, password, "
    "base DN), then sync again. Without a directory, upload a spreadsheet of recipients "
    "(columns email and name) into the RFI thread instead."
)


class RecipientSync:
    def __init__(
        self,
        db: Database,
        credentials: CredentialService,
        resolver: Callable[[], DnsResolver],
        *,
        allow_private: bool = False,
        timeout: float = 10.0,
    ) -> None:
        self.db = db
        self.credentials = credentials
        self.resolver = resolver
        self.allow_private = allow_private
        self.timeout = timeout

    def sync(self, caller: Caller, key: str | None) -> Synced | SyncFailed:
        """Read the whole directory (network: runs after the ack), then replace the stored
        directory recipients in one transaction."""
        with self.db.session() as session:
            onboarding = find_onboarding(session, caller, key, verb="sync")
            if onboarding.closed_at is not None:
                raise Refused(Text("{key} is closed.", key=onboarding.key))
            domains = rfi_domains(session, onboarding)
        login = self.credentials.login(onboarding.key, "ldap")
        if login is None:
            raise Refused(
                Text(
                    NO_LDAP,
                    key=onboarding.key,
                    credentials=Command(f"credentials {onboarding.key} ldap"),
                )
            )
        settings = directory_settings(
            login, domains, allow_private=self.allow_private, timeout=self.timeout
        )
        report = asyncio.run(check_directory(settings, self.resolver()))
        return self._keep(onboarding.key, caller.user_id, report)

    def _keep(self, key: str, user_id: str, report: DirectoryReport) -> Synced | SyncFailed:
        now = utcnow()
        read_whole = report.recipients and all(
            r.status in (CheckStatus.PASS, CheckStatus.WARN) for r in report.results
        )
        with self.db.session(write=True) as session:
            onboarding = onboardings.get_by_key(session, key, for_update=True)
            if onboarding is None or onboarding.closed_at is not None:
                raise Refused(Text("{key} was closed during the sync; nothing was kept.", key=key))
            assert onboarding.id is not None
            if not read_whole:
                return SyncFailed(view_of(session, onboarding), report.results)
            replaced = store.count(session, onboarding.id, SOURCE)
            batch = store.start_batch(
                session, onboarding_id=onboarding.id, source=SOURCE, created_by=user_id
            )
            assert batch.id is not None
            staged = store.stage(
                session,
                batch.id,
                (
                    store.StagedRow(n, r.address, r.display_name or None, r.kind, r.groups)
                    for n, r in enumerate(report.recipients, start=1)
                ),
            )
            batch.rows = staged
            stored = store.import_batch(session, batch.id, by=user_id, at=now)
            batch.valid = stored  # what the batch left stored: status counts from it
            synced = audit.RecipientsSynced(stored, replaced, report.users)
            audit.record(session, onboarding.id, user_id, synced, at=now)
            return Synced(
                view_of(session, onboarding),
                user_id,
                now,
                stored,
                replaced,
                report.users,
                report.groups,
                dict(report.per_domain),
                report.outside,
                report.outside_count,
                report.sample,
            )
