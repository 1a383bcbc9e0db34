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

from commands.checks.result import CheckResult, CheckStatus
from commands.dns.resolver import DnsResolver
from commands.probes import checks as c
from commands.probes.guard import parse_ip
from commands.probes.pop import PopCredentials
from commands.probes.targets import DEFAULT_TIMEOUT, ProbeOptions
from commands.profiles import GatewayRegion

log = logging.getLogger(__name__)

PROBE_STEPS = frozenset({"outbound", "inbound", "journaling", "firewall"})
CHECKS: dict[str, tuple[str, ...]] = {
    "outbound": (c.SMART_HOSTS, c.AUTHORIZED_IPS),
    "inbound": (c.DELIVERY_ROUTES, c.OLD_MX_RETIRED),
    "journaling": (c.JOURNALING_SMTP, c.JOURNALING_POP),
    "firewall": (c.FIREWALL_LOCKDOWN, c.PREVIOUS_PROVIDER),
}
CHECK_ORDER = tuple(check for step in CHECKS.values() for check in step)


@dataclass(frozen=True)
class ProbePorts:
    """Ports per kind of target. Production: all 25. Tests: the fixtures' high ports."""

    gateway: int = 25  # the profile's smart hosts and journal hosts
    old_mx: int = 25
    lockdown: int = 25  # the port the firewall check tries on every customer address
    forwarding_default: int = 25  # a forwarding address given without a port


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
    host, sep, port = text.rpartition(":")
    if sep and port.isdigit():
        return host, int(port)
    return text, default_port


async def run_probe_checks_async(
    region: GatewayRegion,
    resolver: DnsResolver,
    steps: Collection[str] = PROBE_STEPS,
    *,
    outbound_ips: Sequence[str] = (),
    forwarding: Sequence[str | tuple[str, int | None]] = (),
    old_mx: Mapping[str, Sequence[str]] | None = None,
    journaling_method: str | None = None,
    journal_address: str | None = None,
    journal_address_format: str | None = None,
    pop: PopCredentials | None = None,
    platform: str | None = None,
    previous_provider: str | None = None,
    previous_provider_source: str | None = None,
    allow_private: bool = False,
    ca_file: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    helo_name: str | None = None,
    ports: ProbePorts | None = None,
    on_result: Callable[[CheckResult], None] | None = None,
) -> ProbeReport:
    """Every probe check of `steps`, concurrently; results in CHECK_ORDER (per domain for
    inbound.old_mx_retired, domains in the order of `old_mx`).

    old_mx: domain -> MX hosts recorded before the switch (the gateway's own are left out).
    journaling_method: "smtp" or "pop" from the RFI; None runs whichever has its input.
    """
    unknown = set(steps) - PROBE_STEPS
    if unknown:
        raise ValueError(f"unknown step(s): {', '.join(sorted(unknown))}")
    started = time.monotonic()
    ports = ports or ProbePorts()
    options = ProbeOptions(
        resolver=resolver.with_fresh_cache(),
        allow_private=allow_private,
        ca_file=ca_file,
        timeout=timeout,
        helo_name=helo_name,
    )
    routes = [parse_endpoint(item, ports.forwarding_default) for item in forwarding]
    old_mx = old_mx or {}
    jobs: list[tuple[tuple[int, int], Awaitable[CheckResult]]] = []

    def add(check_id: str, job: Awaitable[CheckResult], sub: int = 0) -> None:
        jobs.append(((CHECK_ORDER.index(check_id), sub), job))

    if "outbound" in steps:
        add(c.SMART_HOSTS, c.check_smart_hosts(region, options, port=ports.gateway))
        add(c.AUTHORIZED_IPS, c.check_authorized_ips(outbound_ips, options))
    if "inbound" in steps:
        add(c.DELIVERY_ROUTES, c.check_delivery_routes(routes, options))
        for index, (domain, hosts) in enumerate(old_mx.items()):
            add(
                c.OLD_MX_RETIRED,
                c.check_old_mx_retired(
                    domain, hosts, options, gateway_hosts=region.mx_hosts, port=ports.old_mx
                ),
                index,
            )
    if "journaling" in steps:
        method = (journaling_method or "").lower() or None
        if method in (None, "smtp"):
            add(
                c.JOURNALING_SMTP,
                c.check_journaling_smtp(
                    region,
                    options,
                    journal_address=journal_address,
                    address_format=journal_address_format,
                    port=ports.gateway,
                ),
            )
        if method == "pop" or (method is None and pop is not None):
            add(c.JOURNALING_POP, c.check_journaling_pop(pop, options, platform=platform))
    if "firewall" in steps:
        endpoints = [(ip, ports.lockdown) for ip in outbound_ips if "/" not in ip]
        for host, port in routes:
            endpoints.append((host, ports.lockdown))
            if port != ports.lockdown:  # the gateway delivers to this port too: test it
                endpoints.append((host, port))
        add(c.FIREWALL_LOCKDOWN, c.check_firewall_lockdown(endpoints, options))
        add(
            c.PREVIOUS_PROVIDER,
            _ready(c.check_previous_provider(previous_provider, source=previous_provider_source)),
        )

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
    return ProbeReport(tuple(ordered), time.monotonic() - started)


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
    **inputs: object,
) -> ProbeReport:
    """Blocking form for worker threads (the bot runs checks after the ack). Same keyword inputs
    as run_probe_checks_async."""
    return asyncio.run(run_probe_checks_async(region, resolver, steps, **inputs))  # type: ignore[arg-type]
