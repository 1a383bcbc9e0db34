"""Everything a runner shares, built once from the settings: the migrated database, the
services, the command router and the pools that work runs on after Slack has its ack."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from bot.import_processes import ImportProcesses
from bot.settings import Settings, SettingsError
from commands.checks.dns import DnsResolver
from commands.core.roles import Role
from commands.profiles import ProfileError, load_profile
from commands.reminders.rules import ReminderDelays
from commands.router import Router
from commands.services import Services
from store.db import Database

WORK_THREADS = 8
# Imports wait here for each other, never on the pool that answers commands: a customer's
# spreadsheet must not delay everyone's status.
IMPORT_THREADS = 2


@dataclass
class Core:
    db: Database
    services: Services
    router: Router
    # The import threads wait here: the reading and checking run in child processes.
    import_processes: ImportProcesses
    work: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(WORK_THREADS, thread_name_prefix="work")
    )
    imports: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(IMPORT_THREADS, thread_name_prefix="import")
    )

    def shutdown(self) -> None:
        """Finish the work already acknowledged, then close the database."""
        self.work.shutdown(wait=True)
        self.imports.shutdown(wait=True)
        self.import_processes.shutdown()
        self.db.dispose()


def build_core(settings: Settings, *, role_of: Callable[[str], Role] | None = None) -> Core:
    """`role_of` tells an invitee's role (Slack: users.info; the shell: CONNECT_ENGINEERS)."""
    try:
        profile = load_profile(settings.connect_gateway_profile)
    except ProfileError as exc:
        raise SettingsError(f"CONNECT_GATEWAY_PROFILE: {exc}") from None
    db = Database(settings.database_url)
    db.upgrade()

    def resolver() -> DnsResolver:
        return DnsResolver(
            settings.connect_dns_nameservers, direct_port=settings.connect_dns_direct_port
        )

    services = Services.build(
        db,
        allow_private_targets=settings.connect_allow_private_targets,
        profile=profile,
        resolver=resolver,
        secret_key=settings.connect_secret_key,
        delays=ReminderDelays(
            outbound_period_days=settings.connect_outbound_period_days,
            old_mx_after_days=settings.connect_old_mx_after_days,
            rfi_nudge_working_days=settings.connect_rfi_nudge_working_days,
        ),
        role_of=role_of,
        regions={key: region.name for key, region in profile.regions.items()},
    )
    return Core(
        db=db,
        services=services,
        router=Router(services),
        import_processes=ImportProcesses(settings.database_url, workers=IMPORT_THREADS),
    )
