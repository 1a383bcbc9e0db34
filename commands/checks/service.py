"""`/connect check` and `/connect dns`: run an onboarding's checks, keep the results, move steps.

Planning is quick and refuses what cannot run (no domains yet, no region, a step that does not
apply). Running talks to DNS and to the customer's and the gateway's servers, so the bot calls
it after the ack, on its worker pool. The step follows the results: every check passing makes
it done, a failure puts it back in progress, and an inconclusive run (a timeout, a warning, a
check still waiting for its input or for a person's confirmation) never marks it done nor
undoes a done step.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from sqlmodel import Session

from commands.checks.directory import DirectorySettings, check_directory
from commands.checks.dns import DnsResolver
from commands.checks.dns.mx import MxNow
from commands.checks.dns.publish import RecordsToPublish, other_region_includes, plan_records
from commands.checks.dns.report import DnsReport, DomainFindings, run_dns_report_async
from commands.checks.probes.pop import PopCredentials, PopSecurity
from commands.checks.probes.run import PROBE_STEPS, ProbeInputs, ProbePorts, run_probe_checks_async
from commands.checks.probes.targets import DEFAULT_TIMEOUT
from commands.checks.probes.verdicts import PREVIOUS_PROVIDER, check_previous_provider
from commands.checks.result import CheckResult, CheckStatus, worst
from commands.core import audit
from commands.core.access import find_onboarding
from commands.core.context import Caller, Refused
from commands.core.process import STEP_ALIASES, Service, Step, StepState, applies
from commands.core.roles import Role
from commands.core.steps import change_step, step_state
from commands.core.text import Command, Text
from commands.core.views import OnboardingView, view_of
from commands.credentials import CredentialService
from commands.profiles import GatewayProfile, GatewayRegion
from commands.providers import Provider, load_catalogue
from commands.recipients.coverage import coverage
from commands.recipients.sync import directory_settings
from commands.reminders import confirmations, rules
from commands.reminders.rules import DEFAULT_DELAYS, ReminderDelays
from commands.rfi.service import current_answers, rfi_domains
from store import checks as check_store
from store import onboardings
from store import recipients as recipient_store
from store.db import Database
from store.models import CheckRun, Onboarding, utcnow

# The steps that have checks, in the seed's order; outbound and inbound also read DNS.
CHECKED_STEPS: tuple[Step, ...] = (
    Step.OUTBOUND,
    Step.RECIPIENTS,
    Step.JOURNALING,
    Step.INBOUND,
    Step.FIREWALL,
)
DNS_STEPS = frozenset({"outbound", "inbound"})
DOMAIN_STEPS = DNS_STEPS | {"recipients"}  # the steps that need the RFI's domains


@dataclass(frozen=True)
class CheckPlan:
    """What a `check` will do; the bot posts it as progress, then runs it."""

    onboarding: OnboardingView
    steps: tuple[Step, ...]
    domains: tuple[str, ...]
    region: str
    done_domains: tuple[str, ...] = ()
    # The role of whoever asked: the advice for a missing gateway fact speaks to them.
    audience: Role = Role.ENGINEER
    public = True


@dataclass(frozen=True)
class StepMove:
    step: Step
    before: StepState
    after: StepState


@dataclass(frozen=True)
class CheckReport:
    onboarding: OnboardingView
    steps: tuple[Step, ...]
    results: tuple[CheckResult, ...]
    elapsed: float
    moves: tuple[StepMove, ...] = ()
    previous_provider: str | None = None  # recognised by this run, for the first time
    run_ids: tuple[int, ...] = ()  # the check_run rows that keep this report's evidence
    public = True

    def count(self, status: CheckStatus) -> int:
        return sum(1 for r in self.results if r.status is status)


@dataclass(frozen=True)
class DomainRecords:
    domain: str
    records: RecordsToPublish | None
    problem: str | None = None


@dataclass(frozen=True)
class DnsRecords:
    onboarding: OnboardingView
    region: str
    domains: tuple[DomainRecords, ...] = field(default=())
    public = True


class CheckService:
    def __init__(
        self,
        db: Database,
        profile: GatewayProfile,
        resolver: Callable[[], DnsResolver],
        *,
        credentials: CredentialService | None = None,
        allow_private: bool = False,
        ports: ProbePorts | None = None,
        ca_file: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        delays: ReminderDelays = DEFAULT_DELAYS,
    ) -> None:
        """`ports` and `ca_file` are for tests: in production every probe uses port 25 (or the
        RFI's port for a forwarding address) and the system's trusted CAs."""
        self.db = db
        self.profile = profile
        self.resolver = resolver
        self.credentials = credentials
        self.allow_private = allow_private
        self.ports = ports
        self.ca_file = ca_file
        self.timeout = timeout
        self.delays = delays

    def plan(self, caller: Caller, key: str | None, step_name: str | None) -> CheckPlan:
        with self.db.session() as session:
            onboarding = find_onboarding(session, caller, key, verb="check")
            if onboarding.closed_at is not None:
                raise Refused(
                    Text("{key} is closed; there is nothing to check.", key=onboarding.key)
                )
            steps = _steps(Service(onboarding.service), step_name)
            region = self._region(onboarding)
            # Journaling and firewall do without the domains; the others need them.
            needs_domains = any(s.value in DOMAIN_STEPS for s in steps)
            domains = rfi_domains(session, onboarding) if needs_domains else ()
            view = view_of(session, onboarding)
            return CheckPlan(view, steps, domains, region.key, audience=caller.role)

    def run(
        self,
        plan: CheckPlan,
        user_id: str,
        on_domain: Callable[[str, list[CheckResult]], None] | None = None,
    ) -> CheckReport:
        """Run the plan's DNS checks and network probes together, then keep the results."""
        region = self.profile.region(plan.region)
        inputs = self._probe_inputs(plan.onboarding.key)
        steps = {s.value for s in plan.steps}
        recipients = (
            self._recipient_inputs(plan.onboarding.key, plan.domains)
            if "recipients" in steps
            else None
        )

        results, dns_report, elapsed = asyncio.run(
            self._gather(plan, region, steps, inputs, recipients, on_domain)
        )
        return self._keep(plan, user_id, results, dns_report, elapsed, region)

    async def _gather(
        self,
        plan: CheckPlan,
        region: GatewayRegion,
        steps: set[str],
        inputs: ProbeInputs,
        recipients: RecipientInputs | None,
        on_domain: Callable[[str, list[CheckResult]], None] | None,
    ) -> tuple[tuple[CheckResult, ...], DnsReport | None, float]:
        """The DNS checks, the probes and the directory read, side by side. The old MX probes
        alone wait for the DNS report: they judge nothing until its MX points at the gateway."""
        resolver = self.resolver()
        started = time.monotonic()
        dns_steps = steps & DNS_STEPS
        dns = (
            asyncio.create_task(
                run_dns_report_async(
                    plan.domains,
                    region,
                    resolver,
                    dns_steps,
                    on_result=on_domain,
                    other_includes=other_region_includes(self.profile, region),
                    audience=plan.audience,
                )
            )
            if dns_steps
            else None
        )
        probes = run_probe_checks_async(
            region,
            resolver,
            steps & PROBE_STEPS,
            mx_now=asyncio.create_task(_mx_now(dns)) if dns is not None else None,
            allow_private=self.allow_private,
            ports=self.ports,
            ca_file=self.ca_file,
            timeout=self.timeout,
            audience=plan.audience,
            **inputs,
        )
        directory = recipients.checks(resolver) if recipients else _nothing()
        if dns is None:
            probe_report, listed = await asyncio.gather(probes, directory)
            return (*probe_report.results, *listed), None, time.monotonic() - started
        dns_report, probe_report, listed = await asyncio.gather(dns, probes, directory)
        results = (*dns_report.results, *probe_report.results, *listed)
        return results, dns_report, time.monotonic() - started

    def _keep(
        self,
        plan: CheckPlan,
        user_id: str,
        results: tuple[CheckResult, ...],
        dns_report: DnsReport | None,
        elapsed: float,
        region: GatewayRegion,
    ) -> CheckReport:
        """Keep a run's results per step, move the steps they decide, and audit the run."""
        findings = dns_report.findings if dns_report is not None else ()
        now = utcnow()
        with self.db.session(write=True) as session:
            onboarding = onboardings.get_by_key(session, plan.onboarding.key, for_update=True)
            if onboarding is None or onboarding.closed_at is not None:
                raise Refused(
                    Text(
                        "{key} was closed while its checks ran; nothing was kept.",
                        key=plan.onboarding.key,
                    )
                )
            assert onboarding.id is not None
            # One previous provider per report: the footer and firewall.previous_provider both
            # say what is stored once this run's findings are in.
            recognised = self._remember_provider(session, onboarding, findings)
            if any(r.id == PREVIOUS_PROVIDER for r in results):
                provider = _provider_result(session, onboarding, recognised)
                results = tuple(provider if r.id == PREVIOUS_PROVIDER else r for r in results)
            _remember_old_mx(onboarding, findings, region)
            moves = []
            run_ids: list[int] = []
            kept: list[CheckResult] = []
            for step in plan.steps:
                # A manual item confirmed with a reminder's Done counts as passed.
                mine = confirmations.apply(
                    session, onboarding.id, [r for r in results if r.step == step.value]
                )
                kept += mine
                verdict = worst(mine) if mine else CheckStatus.SKIPPED
                run = check_store.add_run(
                    session,
                    CheckRun(
                        onboarding_id=onboarding.id,
                        step=step.value,
                        run_by=user_id,
                        run_at=now,
                        worst=verdict.value,
                        elapsed_ms=round(elapsed * 1000),
                        results=[r.as_dict() for r in mine],
                    ),
                )
                assert run.id is not None
                run_ids.append(run.id)
                move = follow(session, onboarding, step, mine, user_id, delays=self.delays)
                if move is not None:
                    moves.append(move)
            rules.on_check_results(session, onboarding, kept, now=now, delays=self.delays)
            ran = audit.ChecksRun(
                tuple(s.value for s in plan.steps), dict(Counter(r.status.value for r in kept))
            )
            audit.record(session, onboarding.id, user_id, ran, at=now)
            return CheckReport(
                view_of(session, onboarding),
                plan.steps,
                tuple(kept),
                elapsed,
                tuple(moves),
                recognised[1].name if recognised else None,
                tuple(run_ids),
            )

    def records(self, caller: Caller, key: str | None) -> DnsRecords:
        """The MX and SPF records each domain should publish, merged with what it has today."""
        with self.db.session() as session:
            onboarding = find_onboarding(session, caller, key, verb="dns")
            region = self._region(onboarding)
            domains = rfi_domains(session, onboarding)
            view = view_of(session, onboarding)
        resolver = self.resolver()
        drop = self._provider_includes(onboarding.previous_provider_key)
        # After a region change, the old region's include must not stay in the record.
        others = other_region_includes(self.profile, region)

        async def all_domains() -> list[DomainRecords]:
            async def one(domain: str) -> DomainRecords:
                # Said per domain (no such domain, TXT unreadable); the MX lines always show.
                records = await plan_records(
                    domain, region, resolver, drop_includes=drop, other_includes=others
                )
                return DomainRecords(domain, records, records.problem)

            return list(await asyncio.gather(*(one(d) for d in domains)))

        return DnsRecords(view, region.key, tuple(asyncio.run(all_domains())))

    # --- internals -----------------------------------------------------------------------

    def _probe_inputs(self, key: str) -> ProbeInputs:
        """What the probes need, read from the store: the RFI's answers, the MX hosts seen
        before the switch and the journal mailbox's login. The previous provider is not among
        them: it is decided once the run's DNS findings are in (_provider_result)."""
        with self.db.session() as session:
            onboarding = onboardings.get_by_key(session, key)
            if onboarding is None:
                raise Refused(Text("There is no onboarding {key}.", key=key))
            answers = current_answers(session, onboarding)
            old_mx = dict(onboarding.old_mx_hosts or {})
            journal_address = onboarding.journal_address
        platform = answers.get("platform") or []
        method = answers.get("journaling") or []
        login = self.credentials.login(key, "pop") if self.credentials else None
        return ProbeInputs(
            outbound_ips=[str(x.address) for x in answers.get("outbound_ips", [])],
            forwarding=[(x.host, x.port) for x in answers.get("forwarding", [])],
            old_mx=old_mx,
            journaling_method=method[0] if method else None,
            journal_address=journal_address,
            platform=platform[0].display() if platform else None,
            platform_kind=platform[0].kind if platform else None,
            # The form stores only a POP mode for "pop", and PopCredentials checks it again.
            pop=PopCredentials(
                login.host,
                login.port,
                cast(PopSecurity, login.security),
                login.username,
                login.password,
            )
            if login
            else None,
        )

    def _recipient_inputs(self, key: str, domains: tuple[str, ...]) -> RecipientInputs:
        """What the recipient checks need: the directory login (if any) and what is stored."""
        login = self.credentials.login(key, "ldap") if self.credentials else None
        with self.db.session() as session:
            onboarding = onboardings.get_by_key(session, key)
            if onboarding is None or onboarding.id is None:
                raise Refused(Text("There is no onboarding {key}.", key=key))
            stored = recipient_store.per_domain(session, onboarding.id)
            imported = recipient_store.latest_imported(session, onboarding.id, "spreadsheet")
            spreadsheet = (
                (imported.filename or "a spreadsheet", imported.valid, imported.imported_at)
                if imported
                else None
            )
        settings = (
            directory_settings(
                login, domains, allow_private=self.allow_private, timeout=self.timeout
            )
            if login
            else None
        )
        return RecipientInputs(domains, settings, stored, spreadsheet)

    def _region(self, onboarding: Onboarding) -> GatewayRegion:
        known = ", ".join(sorted(self.profile.regions))
        if onboarding.region is None:
            raise Refused(
                Text(
                    "{key} has no region yet, and the checks compare against the "
                    "region's gateway hosts: {set} (regions: {known}).",
                    key=onboarding.key,
                    known=known,
                    set=Command(f"set {onboarding.key} --region eu"),
                )
            )
        if onboarding.region not in self.profile.regions:
            raise Refused(
                Text(
                    "The gateway profile has no region {region} (it has {known}).",
                    region=onboarding.region,
                    known=known,
                )
            )
        return self.profile.region(onboarding.region)

    def _remember_provider(
        self, session: Session, onboarding: Onboarding, findings: Sequence[DomainFindings]
    ) -> tuple[str, Provider] | None:
        """Keep the provider seen at the first check that recognises one; later runs (after the
        MX switch) would see the gateway instead. Returns (domain, provider) when this run is
        the one that recognised it."""
        if onboarding.previous_provider_key is not None:
            return None
        domain, provider = next(
            ((f.domain, f.previous_provider) for f in findings if f.previous_provider), ("", None)
        )
        if provider is None:
            return None
        onboarding.previous_provider_key = provider.key
        onboarding.previous_provider = provider.name
        session.add(onboarding)
        recognised = audit.ProviderRecognised(provider.name, tuple(provider.matched_by))
        audit.record(session, onboarding.id, "connect-bot", recognised)
        return domain, provider

    def _provider_includes(self, provider_key: str | None) -> tuple[str, ...]:
        """The SPF includes of the provider being replaced, which the new record may drop."""
        patterns = [p for p in load_catalogue().providers if p.key == provider_key]
        return patterns[0].spf if patterns else ()


@dataclass(frozen=True)
class RecipientInputs:
    domains: tuple[str, ...]
    directory: DirectorySettings | None
    stored: dict[str, int]  # recipients kept per domain
    spreadsheet: tuple[str, int, datetime | None] | None  # the imported file, rows, when

    async def checks(self, resolver: DnsResolver) -> list[CheckResult]:
        """`recipients.directory` (or the imported spreadsheet standing in for it), then
        `recipients.coverage`."""
        read_now: dict[str, int] = {}
        if self.directory is not None:
            report = await check_directory(self.directory, resolver)
            results = list(report.results)
            if report.status in (CheckStatus.PASS, CheckStatus.WARN):
                read_now = dict(report.per_domain)
        elif self.spreadsheet is not None:
            filename, rows, at = self.spreadsheet
            results = [
                CheckResult(
                    "recipients.directory",
                    CheckStatus.PASS,
                    None,
                    f"No directory is read: the recipients come from {filename} "
                    f"({rows:,} addresses imported).",
                    (f"imported {at:%Y-%m-%d %H:%M} UTC",) if at else (),
                )
            ]
        else:
            results = [
                CheckResult(
                    "recipients.directory",
                    CheckStatus.SKIPPED,
                    None,
                    "No directory login and no spreadsheet yet: enter the directory's login "
                    "with /connect credentials ... ldap, or upload a spreadsheet of recipients "
                    "(columns email and name) into the RFI thread.",
                )
            ]
        return [*results, coverage(self.domains, self.stored, read_now)]


async def _nothing() -> list[CheckResult]:
    return []


async def _mx_now(dns: asyncio.Task[DnsReport]) -> dict[str, MxNow]:
    """Each domain's MX as the run's DNS report read it, once that report is in."""
    try:
        return (await asyncio.shield(dns)).mx_now()
    except Exception:  # the report's own error is raised where the run gathers it
        return {}


def _provider_result(
    session: Session, onboarding: Onboarding, recognised: tuple[str, Provider] | None
) -> CheckResult:
    """firewall.previous_provider from the one provider of the report: the one stored (just
    recognised by this run, or at an earlier check), else the one the RFI names."""
    stated = current_answers(session, onboarding).get("previous_provider") or []
    named = str(stated[0]) if stated else None
    name = onboarding.previous_provider
    if name is None:
        return check_previous_provider(named, source="named in the RFI" if named else None)
    if recognised is not None:
        domain, provider = recognised
        source = f"recognised in this run from the records of {domain}: " + ", ".join(
            provider.matched_by
        )
    else:
        source = "recognised from the MX/SPF records at an earlier check"
    notes = (
        (f"the RFI names {named} as the previous provider",)
        if named and named.casefold() != name.casefold()
        else ()
    )
    return check_previous_provider(name, source=source, notes=notes)


def _steps(service: Service, name: str | None) -> tuple[Step, ...]:
    if name is None or name.lower() == "all":
        steps = tuple(s for s in CHECKED_STEPS if applies(service, s))
        if not steps:
            raise Refused(
                Text(
                    "{service} has no DNS steps to check; the journaling and "
                    "recipient checks come with the network probes.",
                    service=service.title,
                )
            )
        return steps
    step = STEP_ALIASES.get(name.lower())
    if step is None:
        raise Refused(
            Text(
                "{name} is not a step; checks exist for {steps}.",
                name=name,
                steps=", ".join(s.value for s in CHECKED_STEPS),
            )
        )
    if not applies(service, step):
        raise Refused(
            Text("{step} does not apply to {service}.", step=step.title, service=service.title)
        )
    if step not in CHECKED_STEPS:
        raise Refused(
            Text(
                "{step} has no checks: it is done when its questions are answered. {check} "
                "covers {steps}.",
                step=step.title,
                check=Command("check"),
                steps=", ".join(s.value for s in CHECKED_STEPS),
            )
        )
    return (step,)


def _remember_old_mx(
    onboarding: Onboarding, findings: Sequence[DomainFindings], region: GatewayRegion
) -> None:
    """At a domain's first check whose MX question was answered, keep its MX hosts that are not
    the gateway's: after the switch, those are the hosts that must stop accepting mail. A
    timeout records nothing, so the next run still can."""
    known = dict(onboarding.old_mx_hosts or {})
    gateway = {h.lower().rstrip(".") for h in region.mx_hosts}
    new = {
        f.domain: [h for h in f.mx_hosts if h.lower().rstrip(".") not in gateway]
        for f in findings
        if f.mx_answered and f.domain not in known
    }
    if new:
        onboarding.old_mx_hosts = {**known, **new}  # a new dict, so the JSON column is saved


def follow(
    session: Session,
    onboarding: Onboarding,
    step: Step,
    results: list[CheckResult],
    actor: str,
    *,
    delays: ReminderDelays = DEFAULT_DELAYS,
) -> StepMove | None:
    """Move the step after a run. Done needs every result to pass: a skipped check (no input
    yet, or one a person confirms, like the previous provider's cancellation) keeps it open."""
    before = step_state(session, onboarding, step)
    statuses = {r.status for r in results}
    if statuses == {CheckStatus.PASS}:
        target = StepState.DONE
    elif CheckStatus.FAIL in statuses or (
        before is StepState.NOT_STARTED and statuses - {CheckStatus.SKIPPED}
    ):
        target = StepState.IN_PROGRESS
    else:
        return None  # a warning or an unknown does not undo work already done
    if target is before:
        return None
    change_step(session, onboarding, step, target, actor, how="check", then=rules.step_hook(delays))
    return StepMove(step, before, target)
