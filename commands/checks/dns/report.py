"""Run the DNS checks for an onboarding's domains: everything concurrently, one result per check
and domain, in a stable order (domains as given, then check order).

Every domain is checked in its own task and every query of a domain is in flight at once, so the
run takes about as long as the slowest domain, not the sum; a domain whose server times out costs
its own lifetime only. `on_result` sees each domain's results as soon as they are in (for a Slack
message that updates as checks finish).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

from commands.checks.dns.mx import (
    MX_GATEWAY,
    MX_LEFTOVERS,
    MxNow,
    check_mx_gateway,
    check_mx_leftovers,
    mx_hosts_to_resolve,
)
from commands.checks.dns.names import BadDomainName, to_a_label
from commands.checks.dns.propagation import MX_PROPAGATION, check_propagation
from commands.checks.dns.resolver import DnsResolver, Lookup
from commands.checks.result import CheckResult, CheckStatus
from commands.checks.spf.outbound import (
    OUTBOUND_SPF,
    GatewayRanges,
    check_spf,
    resolve_gateway_ranges,
)
from commands.checks.spf.record import spf_records
from commands.core.roles import Role
from commands.profiles import GatewayRegion
from commands.providers import Provider, recognise

STEPS = frozenset({"inbound", "outbound"})
CHECKS = {
    "inbound": (MX_GATEWAY, MX_LEFTOVERS, MX_PROPAGATION),
    "outbound": (OUTBOUND_SPF,),
}


@dataclass(frozen=True)
class DomainFindings:
    """What one domain's run saw besides the verdicts: the previous provider, the raw records."""

    domain: str
    previous_provider: Provider | None
    mx_hosts: tuple[str, ...]
    spf_record: str | None
    # The MX question got a definite answer (records, or none): mx_hosts is what the domain has,
    # not what a timeout left empty.
    mx_answered: bool = True


@dataclass(frozen=True)
class DnsReport:
    results: tuple[CheckResult, ...]
    findings: tuple[DomainFindings, ...] = field(default=())
    elapsed: float = 0.0  # seconds

    @property
    def previous_providers(self) -> dict[str, Provider | None]:
        return {f.domain: f.previous_provider for f in self.findings}

    def mx_now(self) -> dict[str, MxNow]:
        """Each domain's MX as this run saw it, with its inbound.mx_gateway verdict (inbound runs
        only): the one view of "where does the mail go now" that the probes of the same run
        go by."""
        hosts = {f.domain: f.mx_hosts for f in self.findings}
        return {
            r.subject: MxNow(r.subject, hosts.get(r.subject, ()), r)
            for r in self.results
            if r.id == MX_GATEWAY and r.subject is not None
        }


def previous_provider(
    mx: Lookup, txt: Lookup, *, gateway_key: str | None = None
) -> Provider | None:
    """The provider the domain used before the gateway, from its MX and SPF (None if unknown)."""
    hosts = mx_hosts_to_resolve(mx)
    records = spf_records(txt)
    return recognise(
        hosts, records[0] if records else None, exclude=(gateway_key,) if gateway_key else ()
    )


async def _check_domain(
    domain: str,
    region: GatewayRegion,
    resolver: DnsResolver,
    steps: Collection[str],
    gateway: asyncio.Task[GatewayRanges] | None,
    gateway_key: str | None,
    other_includes: Mapping[str, str],
    audience: Role,
) -> tuple[list[CheckResult], DomainFindings]:
    mx_task = asyncio.create_task(resolver.lookup(domain, "MX"))
    txt_task = asyncio.create_task(resolver.lookup(domain, "TXT"))
    propagation = (
        asyncio.create_task(check_propagation(domain, resolver)) if "inbound" in steps else None
    )
    mx, txt = await asyncio.gather(mx_task, txt_task)
    results: list[CheckResult] = []
    outbound: asyncio.Task[CheckResult] | None = None
    if "outbound" in steps and gateway is not None:
        outbound = asyncio.create_task(
            _outbound(domain, txt, region, gateway, resolver, other_includes, audience)
        )
    if "inbound" in steps:
        hosts = mx_hosts_to_resolve(mx)
        answers = await asyncio.gather(
            *(resolver.lookup(h, rdtype) for h in hosts for rdtype in ("A", "AAAA"))
        )
        addresses = {h: (answers[2 * i], answers[2 * i + 1]) for i, h in enumerate(hosts)}
        exclude = (gateway_key,) if gateway_key else ()
        results.append(check_mx_gateway(domain, mx, region, audience=audience))
        results.append(
            check_mx_leftovers(
                domain, mx, addresses, region, exclude_providers=exclude, audience=audience
            )
        )
        assert propagation is not None
        results.append(await propagation)
    if outbound is not None:
        results.append(await outbound)
    records = spf_records(txt)
    findings = DomainFindings(
        domain,
        previous_provider(mx, txt, gateway_key=gateway_key),
        tuple(mx_hosts_to_resolve(mx)),
        records[0] if len(records) == 1 else None,
        mx_answered=mx.ok or mx.missing,
    )
    return results, findings


async def _outbound(
    domain: str,
    txt: Lookup,
    region: GatewayRegion,
    gateway: asyncio.Task[GatewayRanges],
    resolver: DnsResolver,
    other_includes: Mapping[str, str],
    audience: Role,
) -> CheckResult:
    ranges = await gateway
    return await check_spf(
        domain, txt, region, ranges, resolver, other_includes=other_includes, audience=audience
    )


def _bad_domain(domain: str, steps: Collection[str], why: str) -> list[CheckResult]:
    return [
        CheckResult(
            check_id, CheckStatus.FAIL, domain, f"{why}: correct the domain in the answers."
        )
        for step in ("inbound", "outbound")
        if step in steps
        for check_id in CHECKS[step]
    ]


async def run_dns_report_async(
    domains: Sequence[str],
    region: GatewayRegion,
    resolver: DnsResolver,
    steps: Collection[str] = STEPS,
    *,
    gateway_key: str | None = None,
    on_result: Callable[[str, list[CheckResult]], None] | None = None,
    other_includes: Mapping[str, str] | None = None,
    audience: Role = Role.ENGINEER,
) -> DnsReport:
    """`other_includes`: the gateway's SPF includes of its other regions (include -> region), so
    the record outbound.spf asks to publish drops them, as `/connect dns` does. `audience`: the
    role of whoever ran the checks, to whom a missing gateway fact's advice speaks."""
    unknown = set(steps) - STEPS
    if unknown:
        raise ValueError(f"unknown step(s): {', '.join(sorted(unknown))}")
    started = time.monotonic()
    gateway_key = gateway_key or region.gateway_key
    resolver = resolver.with_fresh_cache()  # one cache per run: a fix shows at the next run
    gateway = (
        asyncio.create_task(resolve_gateway_ranges(region, resolver))
        if "outbound" in steps
        else None
    )

    async def one(raw: str) -> tuple[list[CheckResult], DomainFindings | None]:
        try:
            domain = to_a_label(raw)
        except BadDomainName as exc:
            found: tuple[list[CheckResult], DomainFindings | None] = (
                _bad_domain(raw, steps, str(exc)),
                None,
            )
        else:
            found = await _check_domain(
                domain,
                region,
                resolver,
                steps,
                gateway,
                gateway_key,
                other_includes or {},
                audience,
            )
        if on_result is not None:
            on_result(raw, found[0])
        return found

    done = await asyncio.gather(*(one(d) for d in domains))
    if gateway is not None and not gateway.done():
        gateway.cancel()
    return DnsReport(
        tuple(r for results, _ in done for r in results),
        tuple(f for _, f in done if f is not None),
        time.monotonic() - started,
    )


def run_dns_report(
    domains: Sequence[str],
    region: GatewayRegion,
    resolver: DnsResolver,
    steps: Collection[str] = STEPS,
    *,
    gateway_key: str | None = None,
    on_result: Callable[[str, list[CheckResult]], None] | None = None,
) -> DnsReport:
    """Blocking form for worker threads (the bot runs checks after the ack, off the listener)."""
    return asyncio.run(
        run_dns_report_async(
            domains, region, resolver, steps, gateway_key=gateway_key, on_result=on_result
        )
    )


def run_dns_checks(
    domains: Sequence[str],
    profile_region: GatewayRegion,
    resolver: DnsResolver,
    steps: Collection[str] = STEPS,
) -> list[CheckResult]:
    """The DNS check results for `domains` (A-labels or Unicode) in `profile_region`."""
    return list(run_dns_report(domains, profile_region, resolver, steps).results)
