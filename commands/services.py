"""The product's services, built once and handed to whoever needs them (verbs, Slack features,
the shell, the CLI). Nothing here is optional: every service exists in every process."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from commands.checks.dns import DnsResolver
from commands.checks.service import CheckService
from commands.core.roles import Role
from commands.credentials import CredentialService
from commands.history import HistoryService
from commands.members import MemberService
from commands.onboarding.service import OnboardingService
from commands.profiles import GatewayProfile, load_profile
from commands.recipients.importer import RecipientImporter
from commands.recipients.sync import RecipientSync
from commands.regions import REGIONS
from commands.reminders.rules import DEFAULT_DELAYS, ReminderDelays
from commands.reminders.service import ReminderService
from commands.rfi.service import RfiService
from commands.secrets import SecretBox
from store.db import Database


@dataclass(frozen=True)
class Services:
    db: Database
    onboardings: OnboardingService
    rfi: RfiService
    reminders: ReminderService
    checks: CheckService
    credentials: CredentialService
    sync: RecipientSync
    importer: RecipientImporter
    members: MemberService
    history: HistoryService

    @classmethod
    def build(
        cls,
        db: Database,
        *,
        allow_private_targets: bool = False,
        profile: GatewayProfile | None = None,
        resolver: Callable[[], DnsResolver] = DnsResolver,
        secret_key: str | None = None,
        delays: ReminderDelays = DEFAULT_DELAYS,
        role_of: Callable[[str], Role] | None = None,
        regions: Mapping[str, str] | None = None,
        checks: CheckService | None = None,
        credentials: CredentialService | None = None,
        sync: RecipientSync | None = None,
        importer: RecipientImporter | None = None,
    ) -> Services:
        """Every service on one database. `profile` defaults to the shipped gateway profile and
        `resolver` to the system's; `role_of` tells an invitee's role (users.info in Slack;
        without it, the lesser role); the services passed in (tests: their own ports, CA, time
        budget) are used as they are."""
        profile = profile or load_profile()
        private = allow_private_targets
        credentials = credentials or CredentialService(
            db, SecretBox(secret_key), allow_private=private
        )
        # The regions people may choose are the profile's (CONNECT_GATEWAY_PROFILE may add some).
        names = regions or (
            {key: r.name for key, r in profile.regions.items()} if profile.regions else REGIONS
        )
        return cls(
            db=db,
            onboardings=OnboardingService(db, regions=names, delays=delays),
            rfi=RfiService(db, allow_private=private, delays=delays),
            reminders=ReminderService(db, delays=delays),
            checks=checks
            or CheckService(
                db, profile, resolver, credentials=credentials, allow_private=private, delays=delays
            ),
            credentials=credentials,
            sync=sync or RecipientSync(db, credentials, resolver, allow_private=private),
            importer=importer or RecipientImporter(db),
            members=MemberService(db, role_of),
            history=HistoryService(db),
        )
