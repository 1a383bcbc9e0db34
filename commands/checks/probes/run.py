"""Run the network probes of an onboarding: every check of the asked steps at once, each check's
probes at once, results in a stable order (CHECK_ORDER, then domains as given).

Inputs are plain values (strings, tuples, the region, a credentials object): the lead's service
layer reads them from the store and the RFI. Ports come from here (the profile's hosts use 25 in
production, the RFI's forwarding addresses carry their own), never from free text; tests pass
high ports.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TypedDict, Unpack

from commands.checks.dns.mx import MxNow
from commands.checks.dns.resolver import DnsResolver
from commands.checks.probes import verdicts as c
from commands.checks.probes.egress import EgressProbe, egress_hosts
from commands.checks.probes.guard import parse_ip
from commands.checks.probes.old_mx import OLD_MX_RETIRED, check_old_mx_retired
from commands.checks.probes.pop import PopCredentials
from commands.checks.probes.targets import DEFAULT_TIMEOUT, ProbeOptions
from commands.checks.result import CheckResult, CheckStatus
from commands.core.roles import Role
from commands.profiles import GatewayRegion

log = logging.getLogger(__name__)

PROBE_STEPS = frozenset({"outbound", "inbound", "journaling", "firewall"})
CHECKS: dict[str, tuple[str, ...]] = {
    "outbound": (c.SMART_HOSTS, c.AUTHORIZED_IPS),
    "inbound": (c.DELIVERY_ROUTES, OLD_MX_RETIRED),
    "journaling": (c.JOURNALING_SMTP, c.JOURNALING_POP),
    "firewall": (c.FIREWALL_LOCKDOWN, c.PREVIOUS_PROVIDER),
}
CHECK_ORDER = tuple(check for step in CHECKS.values() for check in step)
Job = tuple[tuple[int, int], Awaitable[CheckResult]]  # (CHECK_ORDER index, domain index), check


@dataclass(frozen=True)
class ProbePorts:
    """Ports per kind of target. Production: all 25. Tests: the fixtures' high ports."""

    gateway: int = 25  # the profile's smart hosts and journal hosts
    old_mx: int = 25
    lockdown: int = 25  # the port the firewall check tries on every customer address
    forwarding_default: int = 25  # a forwarding address given without a port


class ProbeInputs(TypedDict, total=False):
    """The customer's side of a probe run, read from the store and the RFI by the service layer
    and passed as keywords to run_probe_checks(_async); a key left out takes the default."""

    outbound_ips: Sequence[str]
    forwarding: Sequence[str | tuple[str, int | None]]
    old_mx: Mapping[str, Sequence[str]] | None
    journaling_method: str | None
    journal_address: str | None
    journal_address_format: str | None
    pop: PopCredentials | None
    platform: str | None
    platform_kind: str | None  # the RFI's platform kind ("m365", "exchange", ...)
    previous_provider: str | None
    previous_provider_source: str | None


class ProbeKeywords(ProbeInputs, total=False):
    """Every keyword of run_probe_checks_async: the inputs, the same run's MX view, and how the
    probes run."""

    mx_now: Mapping[str, MxNow] | Awaitable[Mapping[str, MxNow]] | None
    allow_private: bool
    ca_file: str | None
    timeout: float
    helo_name: str | None
    audience: Role
    ports: ProbePorts | None
    on_result: Callable[[CheckResult], None] | None


@dataclass(frozen=True)
class ProbeReport:
    results: tuple[CheckResult, ...]
    elapsed: float = 0.0  # seconds


def parse_endpoint(value: str | tuple[str, int | None], default_port: int) -> tuple[str, int]:
    """("mail.acme.com", 2525) or "mail.acme.com:2525" / "[2001:db8::1]:25" / "192.0.2.1" ->
    (host, port). The RFI validator already checked the text; this only splits it."""
    if isinstance(value, tuple):
        host, port = value
        return host, port or default_port
    text = value.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else default_port
    if parse_ip(text) is not None:  # a bare IPv6 literal has colons but no port
        return text, default_port
    host, sep, digits = text.rpartition(":")
    if sep and digits.isdigit():
        return host, int(digits)
    return text, default_port


async def run_probe_checks_async(
    region: GatewayRegion,
    resolver: DnsResolver,
    steps: Collection[str] = PROBE_STEPS,
    *,
    outbound_ips: Sequence[str] = (),
    forwarding: Sequence[str | tuple[str, int | None]] = (),
    old_mx: Mapping[str, Sequence[str]] | None = None,
    mx_now: Mapping[str, MxNow] | Awaitable[Mapping[str, MxNow]] | None = None,
    journaling_method: str | None = None,
    journal_address: str | None = None,
    journal_address_format: str | None = None,
    pop: PopCredentials | None = None,
    platform: str | None = None,
    platform_kind: str | None = None,
    previous_provider: str | None = None,
    previous_provider_source: str | None = None,
    allow_private: bool = False,
    ca_file: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    helo_name: str | None = None,
    audience: Role = Role.ENGINEER,
    ports: ProbePorts | None = None,
    on_result: Callable[[CheckResult], None] | None = None,
) -> ProbeReport:
    """Every probe check of `steps`, concurrently; results in CHECK_ORDER (per domain for
    inbound.old_mx_retired, domains in the order of `old_mx`).

    old_mx: domain -> MX hosts recorded before the switch (the gateway's own are left out).
    mx_now: domain -> its MX as the same run's DNS report read it (or a task giving that, for a
    report still running; awaited once per domain). inbound.old_mx_retired judges nothing
    until the domain's MX points at the gateway, so without it those checks are skipped.
    journaling_method: "smtp" or "pop" from the RFI; None runs whichever has its input.
    platform_kind "m365": the Microsoft 365 smart hosts. audience: who a gap's advice is for.

    The checks that read a refused or silent port as a verdict share one probe of the region's
    gateway hosts on the gateway port (can the bot reach port 25 at all?), asked once per run.
    """
    if unknown := set(steps) - PROBE_STEPS:
        raise ValueError(f"unknown step(s): {', '.join(sorted(unknown))}")
    started = time.monotonic()
    ports = ports or ProbePorts()
    options = ProbeOptions(
        resolver=resolver.with_fresh_cache(),
        allow_private=allow_private,
        ca_file=ca_file,
        timeout=timeout,
        helo_name=helo_name,
        audience=audience,
    )
    routes = [parse_endpoint(item, ports.forwarding_default) for item in forwarding]
    egress = EgressProbe(egress_hosts(region), ports.gateway, options)
    jobs: list[Job] = []
    if "outbound" in steps:
        platform_of = (platform, platform_kind)
        jobs += _outbound_jobs(region, options, ports.gateway, egress, outbound_ips, platform_of)
    if "inbound" in steps:
        routes_check = c.check_delivery_routes(routes, options, egress=egress)
        jobs.append(_job(c.DELIVERY_ROUTES, routes_check))
        jobs += _old_mx_jobs(region, old_mx or {}, mx_now, options, ports.old_mx, egress)
    if "journaling" in steps:
        jobs += _journaling_jobs(
            region,
            options,
            ports.gateway,
            egress,
            journaling_method=journaling_method,
            journal_address=journal_address,
            address_format=journal_address_format,
            pop=pop,
            platform=platform,
        )
    if "firewall" in steps:
        endpoints = _lockdown_endpoints(outbound_ips, routes, ports.lockdown)
        lockdown = c.check_firewall_lockdown(endpoints, options, egress=egress)
        jobs.append(_job(c.FIREWALL_LOCKDOWN, lockdown))
        provider = c.check_previous_provider(previous_provider, source=previous_provider_source)
        jobs.append(_job(c.PREVIOUS_PROVIDER, _ready(provider)))
    results = await _in_check_order(jobs, on_result)
    return ProbeReport(results, time.monotonic() - started)


def _job(check_id: str, job: Awaitable[CheckResult], sub: int = 0) -> Job:
    return (CHECK_ORDER.index(check_id), sub), job


def _outbound_jobs(
    region: GatewayRegion,
    options: ProbeOptions,
    port: int,
    egress: EgressProbe,
    outbound_ips: Sequence[str],
    platform: tuple[str | None, str | None],
) -> list[Job]:
    """The smart hosts (the Microsoft 365 pair for a Microsoft 365 platform; `platform` is the
    RFI's answer as shown and its kind) and the sending addresses."""
    shown, kind = platform
    smart = c.check_smart_hosts(
        region, options, port=port, egress=egress, platform_kind=kind, platform=shown
    )
    return [
        _job(c.SMART_HOSTS, smart),
        _job(c.AUTHORIZED_IPS, c.check_authorized_ips(outbound_ips, options)),
    ]


def _old_mx_jobs(
    region: GatewayRegion,
    old_mx: Mapping[str, Sequence[str]],
    mx_now: Mapping[str, MxNow] | Awaitable[Mapping[str, MxNow]] | None,
    options: ProbeOptions,
    port: int,
    egress: EgressProbe,
) -> list[Job]:
    """One inbound.old_mx_retired check per domain, in the order of `old_mx`; each waits for the
    run's MX view first (the DNS report of the same run may still be reading it)."""

    async def one(domain: str, hosts: Sequence[str]) -> CheckResult:
        now = mx_now if mx_now is None or isinstance(mx_now, Mapping) else await mx_now
        return await check_old_mx_retired(
            domain,
            hosts,
            options,
            region=region,
            mx_now=(now or {}).get(domain),
            port=port,
            egress=egress,
        )

    return [
        _job(OLD_MX_RETIRED, one(domain, hosts), index)
        for index, (domain, hosts) in enumerate(old_mx.items())
    ]


def _journaling_jobs(
    region: GatewayRegion,
    options: ProbeOptions,
    port: int,
    egress: EgressProbe,
    *,
    journaling_method: str | None,
    journal_address: str | None,
    address_format: str | None,
    pop: PopCredentials | None,
    platform: str | None,
) -> list[Job]:
    """The journaling method the RFI names ("smtp" or "pop"); without one, SMTP, and POP too when
    there is a journal mailbox login."""
    method = (journaling_method or "").lower() or None
    jobs: list[Job] = []
    if method in (None, "smtp"):
        smtp = c.check_journaling_smtp(
            region,
            options,
            journal_address=journal_address,
            address_format=address_format,
            port=port,
            egress=egress,
        )
        jobs.append(_job(c.JOURNALING_SMTP, smtp))
    if method == "pop" or (method is None and pop is not None):
        jobs.append(_job(c.JOURNALING_POP, c.check_journaling_pop(pop, options, platform=platform)))
    return jobs


def _lockdown_endpoints(
    outbound_ips: Sequence[str], routes: Sequence[c.Endpoint], lockdown_port: int
) -> list[c.Endpoint]:
    """What the firewall check tries: every single sending address and forwarding host on the
    lockdown port, and a forwarding host's own port too when it is another."""
    endpoints = [(ip, lockdown_port) for ip in outbound_ips if "/" not in ip]
    for host, port in routes:
        endpoints.append((host, lockdown_port))
        if port != lockdown_port:  # the gateway delivers to this port too: test it
            endpoints.append((host, port))
    return endpoints


async def _in_check_order(
    jobs: list[Job], on_result: Callable[[CheckResult], None] | None
) -> tuple[CheckResult, ...]:
    """Every job at once; a check that crashes gives an `unknown` result. Sorted by CHECK_ORDER,
    then by domain."""

    async def one(check_id: str, job: Awaitable[CheckResult]) -> CheckResult:
        try:
            result = await job
        except Exception as exc:  # a bug in one check must not sink the others' results
            result = _crashed(check_id, exc)
        if on_result is not None:
            on_result(result)
        return result

    keys = [key for key, _ in jobs]
    results = await asyncio.gather(*(one(CHECK_ORDER[key[0]], job) for key, job in jobs))
    ordered = [result for _, result in sorted(zip(keys, results, strict=True), key=lambda x: x[0])]
    return tuple(ordered)


def _crashed(check_id: str, exc: Exception) -> CheckResult:
    if check_id == c.JOURNALING_POP:
        # The POP check holds a password: name the error's type only, never its text.
        log.error("check %s failed with %s", check_id, type(exc).__name__)
    else:
        log.exception("check %s failed", check_id)
    return CheckResult(
        check_id,
        CheckStatus.UNKNOWN,
        None,
        f"The check stopped on an internal error ({type(exc).__name__}); run it again, and "
        "report it if it persists.",
    )


async def _ready(result: CheckResult) -> CheckResult:
    return result


def run_probe_checks(
    region: GatewayRegion,
    resolver: DnsResolver,
    steps: Collection[str] = PROBE_STEPS,
    **inputs: Unpack[ProbeKeywords],
) -> ProbeReport:
    """Blocking form for worker threads (the bot runs checks after the ack). Same keyword inputs
    as run_probe_checks_async."""
    return asyncio.run(run_probe_checks_async(region, resolver, steps, **inputs))
