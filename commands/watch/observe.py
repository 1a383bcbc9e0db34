"""What one watch run asks DNS, through the checks the `check` verb runs (nothing re-judged
here): inbound.mx_gateway and inbound.mx_propagation in cut-over mode, inbound.mx_gateway and
outbound.spf in regression mode. Every domain is asked at once; the run has one time budget,
and a domain not answered within it is `unknown`, like a timeout."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from commands.checks.dns.common import mx_records
from commands.checks.dns.mx import MX_GATEWAY, check_mx_gateway
from commands.checks.dns.propagation import MX_PROPAGATION, check_propagation
from commands.checks.dns.resolver import DnsResolver
from commands.checks.result import CheckResult, CheckStatus
from commands.checks.spf.outbound import (
    OUTBOUND_SPF,
    GatewayRanges,
    check_spf,
    resolve_gateway_ranges,
)
from commands.profiles import GatewayRegion
from commands.watch.schedule import Mode

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DomainLook:
    """One domain as one run saw it."""

    domain: str
    mx_gateway: CheckResult
    propagation: CheckResult | None = None  # cut-over mode
    spf: CheckResult | None = None  # regression mode
    mx_hosts: tuple[str, ...] = ()
    mx_ttl: int | None = None
    name_servers: int = 0

    @property
    def results(self) -> tuple[CheckResult, ...]:
        return tuple(r for r in (self.mx_gateway, self.propagation, self.spf) if r is not None)


def _out_of_time(domain: str, mode: Mode, seconds: float) -> DomainLook:
    def unknown(check_id: str) -> CheckResult:
        return CheckResult(
            check_id,
            CheckStatus.UNKNOWN,
            domain,
            f"No answer for {domain} within the watch's budget of {seconds:g} s; "
            "the next run asks again.",
        )

    if mode is Mode.CUTOVER:
        return DomainLook(domain, unknown(MX_GATEWAY), propagation=unknown(MX_PROPAGATION))
    return DomainLook(domain, unknown(MX_GATEWAY), spf=unknown(OUTBOUND_SPF))


async def _look(
    domain: str,
    mode: Mode,
    region: GatewayRegion,
    resolver: DnsResolver,
    gateway: asyncio.Task[GatewayRanges] | None,
) -> DomainLook:
    mx_task = asyncio.create_task(resolver.lookup(domain, "MX"))
    if mode is Mode.CUTOVER:
        ns = await resolver.lookup(domain, "NS")
        propagation = await check_propagation(domain, resolver, ns=ns)
        mx = await mx_task
        return DomainLook(
            domain,
            check_mx_gateway(domain, mx, region),
            propagation=propagation,
            mx_hosts=tuple(host for _, host in mx_records(mx)),
            mx_ttl=mx.ttl if mx.ok else None,
            name_servers=len(ns.records) if ns.ok else 0,
        )
    assert gateway is not None
    txt = await resolver.lookup(domain, "TXT")
    spf = await check_spf(domain, txt, region, await gateway, resolver)
    mx = await mx_task
    return DomainLook(
        domain,
        check_mx_gateway(domain, mx, region),
        spf=spf,
        mx_hosts=tuple(host for _, host in mx_records(mx)),
        mx_ttl=mx.ttl if mx.ok else None,
    )


async def observe(
    domains: Sequence[str],
    mode: Mode,
    region: GatewayRegion,
    resolver: DnsResolver,
    *,
    budget: float,
) -> dict[str, DomainLook]:
    """Each domain's look, in the order given; within `budget` seconds whatever happens."""
    resolver = resolver.with_fresh_cache()  # a change shows at the next run, not a TTL later
    gateway = (
        asyncio.create_task(resolve_gateway_ranges(region, resolver))
        if mode is Mode.REGRESSION
        else None
    )
    tasks = {d: asyncio.create_task(_look(d, mode, region, resolver, gateway)) for d in domains}
    if tasks:
        await asyncio.wait(tasks.values(), timeout=budget)
    looks: dict[str, DomainLook] = {}
    for domain, task in tasks.items():
        if task.done() and not task.cancelled() and task.exception() is None:
            looks[domain] = task.result()
        else:
            if task.done() and not task.cancelled():
                # A check that raised: said as unknown, like a timeout, and logged for us.
                log.warning("watching %s failed", domain, exc_info=task.exception())
            task.cancel()
            looks[domain] = _out_of_time(domain, mode, budget)
    if gateway is not None and not gateway.done():
        gateway.cancel()
    return looks
