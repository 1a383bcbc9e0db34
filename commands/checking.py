"""`/connect check` and `/connect dns`: run an onboarding's checks, keep the results, move steps.

Planning is quick and refuses what cannot run (no domains yet, no region, a step that does not
apply). Running talks to DNS, so the bot calls it after the ack, on its worker pool. The step
follows the results: every check passing makes it done, a failure puts it back in progress,
and an inconclusive run (a timeout, a warning) never undoes a done step.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from commands.checks import (
    CheckResult,
    CheckStatus,
    RecordsToPublish,
    plan_records,
    run_dns_report,
    worst,
)
from commands.checks.publish import RecordsUnknown
from commands.dns import DnsResolver
from commands.onboarding import (
    Caller,
    Refused,
    change_step,
    find_onboarding,
    step_state,
    view_of,
)
from commands.profiles import GatewayProfile, GatewayRegion
from commands.providers import load_catalogue
from commands.results import OnboardingView
from commands.rfi.service import current_answers
from commands.steps import STEP_ALIASES, Service, Step, StepState, applies
from commands.text import Code, Text
from store import checks as check_store
from store import queries
from store.db import Database
from store.models import CheckRun, Onboarding, utcnow

# The steps whose checks exist today, in the order they run and are shown.
CHECKED_STEPS: tuple[Step, ...] = (Step.OUTBOUND, Step.INBOUND)


@dataclass(frozen=True)
class CheckPlan:
    """What a `check` will do; the bot posts it as progress, then runs it."""

    onboarding: OnboardingView
    steps: tuple[Step, ...]
    domains: tuple[str, ...]
    region: str
    done_domains: tuple[str, ...] = ()
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
    ) -> None:
        self.db = db
        self.profile = profile
        self.resolver = resolver

    def plan(self, caller: Caller, key: str | None, step_name: str | None) -> CheckPlan:
        with self.db.session() as session:
            onboarding = find_onboarding(session, caller, key, verb="check")
            if onboarding.closed_at is not None:
                raise Refused(
                    Text("{key} is closed; there is nothing to check.", key=onboarding.key)
                )
            steps = _steps(Service(onboarding.service), step_name)
            region = self._region(onboarding)
            domains = _domains(session, onboarding)
            return CheckPlan(view_of(session, onboarding), steps, domains, region.key)

    def run(
        self,
        plan: CheckPlan,
        user_id: str,
        on_domain: Callable[[str, list[CheckResult]], None] | None = None,
    ) -> CheckReport:
        region = self.profile.region(plan.region)
        report = run_dns_report(
            plan.domains,
            region,
            self.resolver(),
            {s.value for s in plan.steps},
            on_result=on_domain,
        )
        now = utcnow()
        with self.db.session(write=True) as session:
            onboarding = queries.get_by_key(session, plan.onboarding.key, for_update=True)
            if onboarding is None or onboarding.closed_at is not None:
                raise Refused(
                    Text(
                        "{key} was closed while its checks ran; nothing was kept.",
                        key=plan.onboarding.key,
                    )
                )
            assert onboarding.id is not None
            moves = []
            for step in plan.steps:
                results = [r for r in report.results if r.step == step.value]
                verdict = worst(results) if results else CheckStatus.SKIPPED
                check_store.add_run(
                    session,
                    CheckRun(
                        onboarding_id=onboarding.id,
                        step=step.value,
                        run_by=user_id,
                        run_at=now,
                        worst=verdict.value,
                        elapsed_ms=round(report.elapsed * 1000),
                        results=[r.as_dict() for r in results],
                    ),
                )
                move = _follow(session, onboarding, step, verdict, user_id)
                if move is not None:
                    moves.append(move)
            recognised = self._remember_provider(session, onboarding, report.previous_providers)
            queries.record_event(
                session,
                onboarding_id=onboarding.id,
                actor=user_id,
                action="check.run",
                detail={
                    "steps": [s.value for s in plan.steps],
                    "results": dict(Counter(r.status.value for r in report.results)),
                },
                at=now,
            )
            return CheckReport(
                view_of(session, onboarding),
                plan.steps,
                report.results,
                report.elapsed,
                tuple(moves),
                recognised,
            )

    def records(self, caller: Caller, key: str | None) -> DnsRecords:
        """The MX and SPF records each domain should publish, merged with what it has today."""
        with self.db.session() as session:
            onboarding = find_onboarding(session, caller, key, verb="dns")
            region = self._region(onboarding)
            domains = _domains(session, onboarding)
            view = view_of(session, onboarding)
        resolver = self.resolver()
        drop = self._provider_includes(onboarding.previous_provider_key)

        async def all_domains() -> list[DomainRecords]:
            async def one(domain: str) -> DomainRecords:
                try:
                    return DomainRecords(
                        domain, await plan_records(domain, region, resolver, drop_includes=drop)
                    )
                except RecordsUnknown as exc:  # said per domain; the others still show
                    return DomainRecords(domain, None, str(exc))

            return list(await asyncio.gather(*(one(d) for d in domains)))

        return DnsRecords(view, region.key, tuple(asyncio.run(all_domains())))

    # --- internals -----------------------------------------------------------------------

    def _region(self, onboarding: Onboarding) -> GatewayRegion:
        known = ", ".join(sorted(self.profile.regions))
        if onboarding.region is None:
            raise Refused(
                Text(
                    "{key} has no region yet, and the checks compare against the "
                    "region's gateway hosts: {set} (regions: {known}).",
                    key=onboarding.key,
                    known=known,
                    set=Code(f"/connect set {onboarding.key} --region eu"),
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
        self, session: Any, onboarding: Onboarding, found: dict[str, Any]
    ) -> str | None:
        """Keep the provider seen at the first check that recognises one; later runs (after the
        MX switch) would see the gateway instead."""
        if onboarding.previous_provider_key is not None:
            return None
        provider = next((p for p in found.values() if p is not None), None)
        if provider is None:
            return None
        onboarding.previous_provider_key = provider.key
        onboarding.previous_provider = provider.name
        session.add(onboarding)
        queries.record_event(
            session,
            onboarding_id=onboarding.id,
            actor="connect-bot",
            action="provider.recognised",
            detail={"provider": provider.name, "matched_by": list(provider.matched_by)},
        )
        return provider.name

    def _provider_includes(self, provider_key: str | None) -> tuple[str, ...]:
        """The SPF includes of the provider being replaced, which the new record may drop."""
        patterns = [p for p in load_catalogue().providers if p.key == provider_key]
        return patterns[0].spf if patterns else ()


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
                steps="inbound, outbound",
            )
        )
    if not applies(service, step):
        raise Refused(
            Text("{step} does not apply to {service}.", step=step.title, service=service.title)
        )
    if step not in CHECKED_STEPS:
        raise Refused(
            Text(
                "There are no {step} checks yet; today {check} covers inbound and outbound (DNS).",
                step=step.title,
                check=Code("/connect check"),
            )
        )
    return (step,)


def _domains(session: Any, onboarding: Onboarding) -> tuple[str, ...]:
    domains = tuple(d.ascii for d in current_answers(session, onboarding).get("domains", []))
    if not domains:
        raise Refused(
            Text(
                "{key} has no domains yet: answer the RFI's domains question first ({rfi}).",
                key=onboarding.key,
                rfi=Code(f"/connect rfi {onboarding.key}"),
            )
        )
    return domains


def _follow(
    session: Any, onboarding: Onboarding, step: Step, verdict: CheckStatus, actor: str
) -> StepMove | None:
    before = step_state(session, onboarding, step)
    if verdict is CheckStatus.PASS:
        target = StepState.DONE
    elif verdict is CheckStatus.FAIL or (
        verdict is not CheckStatus.SKIPPED and before is StepState.NOT_STARTED
    ):
        target = StepState.IN_PROGRESS
    else:
        return None  # a warning or an unknown does not undo work already done
    if target is before:
        return None
    change_step(session, onboarding, step, target, actor, how="check")
    return StepMove(step, before, target)
