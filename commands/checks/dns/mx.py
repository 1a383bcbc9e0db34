"""inbound.mx_gateway and inbound.mx_leftovers: does all inbound mail reach the gateway?"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from commands.checks.dns.common import mx_records, shown, unanswered
from commands.checks.dns.names import normalize_host
from commands.checks.dns.resolver import Lookup
from commands.checks.gaps import fact_gap
from commands.checks.result import CheckResult, CheckStatus
from commands.core.roles import Role
from commands.profiles import GatewayRegion, caveats
from commands.providers import recognise

MX_GATEWAY = "inbound.mx_gateway"
MX_LEFTOVERS = "inbound.mx_leftovers"


def gateway_mx_lines(domain: str, region: GatewayRegion) -> str:
    return "\n".join(f"{domain}. MX {pref} {host}." for pref, host in region.mx_lines())


def profile_gap(region: GatewayRegion, audience: Role = Role.ENGINEER) -> str:
    """What is missing when a region has no inbound MX hosts, and who can fill it in."""
    return fact_gap(region, "inbound MX hosts", audience)


def _no_profile_hosts(
    check_id: str, domain: str, region: GatewayRegion, what: str, audience: Role
) -> CheckResult:
    return CheckResult(
        check_id,
        CheckStatus.SKIPPED,
        domain,
        f"Not checked: {what} cannot be told, because {profile_gap(region, audience)}.",
        (region.notes,) if region.notes else (),
    )


@dataclass(frozen=True)
class MxNow:
    """A domain's MX as one run read it, with that run's inbound.mx_gateway verdict: what the
    checks that must agree with it (inbound.old_mx_retired) go by."""

    domain: str
    hosts: tuple[str, ...]  # the MX hosts seen (empty when there are none or none were read)
    gateway: CheckResult  # this run's inbound.mx_gateway result for the domain

    @property
    def at_gateway(self) -> bool:
        """Every MX record points at one of the region's gateway hosts (and there is one)."""
        return self.gateway.status is CheckStatus.PASS


def check_mx_gateway(
    domain: str, mx: Lookup, region: GatewayRegion, *, audience: Role = Role.ENGINEER
) -> CheckResult:
    """Every MX host of the domain is one of the region's gateway hosts. The evidence says when
    those hosts are known from a source below `official`."""
    if (early := unanswered(MX_GATEWAY, domain, mx, "MX records")) is not None:
        return early
    if not region.mx_hosts:
        return _no_profile_hosts(
            MX_GATEWAY,
            domain,
            region,
            f"whether the MX records of {shown(domain)} point at the gateway",
            audience,
        )
    fix = gateway_mx_lines(domain, region)
    records = mx_records(mx)
    evidence = (mx.describe(), *caveats(region.inbound_mx))
    if not records:
        return CheckResult(
            MX_GATEWAY,
            CheckStatus.FAIL,
            domain,
            f"{shown(domain)} has no MX records: publish the gateway's MX records.",
            evidence,
            fix,
        )
    gateway = set(region.mx_hosts)
    others = [(pref, host) for pref, host in records if host not in gateway]
    if not others:
        hosts = ", ".join(host for _, host in records)
        return CheckResult(
            MX_GATEWAY,
            CheckStatus.PASS,
            domain,
            f"Every MX record of {shown(domain)} points at the gateway ({hosts}).",
            evidence,
        )
    listed = ", ".join(f"{host} (preference {pref})" for pref, host in others)
    if len(others) == len(records):
        summary = (
            f"No MX record of {shown(domain)} points at the gateway yet: replace {listed} "
            "with the gateway's MX records."
        )
    else:
        summary = (
            f"{len(others)} of {len(records)} MX records of {shown(domain)} do not point at the "
            f"gateway: remove {listed}."
        )
    return CheckResult(MX_GATEWAY, CheckStatus.FAIL, domain, summary, evidence, fix)


def check_mx_leftovers(
    domain: str,
    mx: Lookup,
    addresses: Mapping[str, tuple[Lookup, Lookup]],
    region: GatewayRegion,
    *,
    exclude_providers: tuple[str, ...] = (),
    audience: Role = Role.ENGINEER,
) -> CheckResult:
    """Names each MX host that is not the gateway's (mail can bypass the gateway through it) and
    each MX host that is a CNAME (RFC 2181 10.3) or has no address.

    addresses: MX host -> (A lookup, AAAA lookup), asked through the resolver. A host passes
    only when one of them answered with an address. Without the region's gateway hosts the
    leftovers cannot be told: the result is skipped and names that gap, unless a host's
    address already says something is wrong.
    """
    if (early := unanswered(MX_LEFTOVERS, domain, mx, "MX records")) is not None:
        return early
    records = mx_records(mx)
    if not records:
        return CheckResult(
            MX_LEFTOVERS,
            CheckStatus.SKIPPED,
            domain,
            f"{shown(domain)} has no MX records, so nothing is left over; see inbound.mx_gateway.",
            (mx.describe(),),
        )
    gateway = set(region.mx_hosts)
    evidence = [mx.describe(), *caveats(region.inbound_mx)]
    fails = _bypassing(records, gateway, exclude_providers) if gateway else []
    warns: list[str] = []
    unknowns: list[str] = []
    for _, host in records:
        a, aaaa = addresses.get(host, (None, None))
        if a is None or aaaa is None:
            unknowns.append(f"the addresses of {host} were not looked up")
            continue
        evidence += [answer.describe() for answer in (a, aaaa) if not answer.missing]
        if a.via_cname or aaaa.via_cname:
            target = a.canonical_name if a.via_cname else aaaa.canonical_name
            warns.append(
                f"MX host {host} is a CNAME (to {target}); point the MX at the host name itself "
                "(RFC 2181 10.3), some senders refuse CNAME targets"
            )
        if a.ok or aaaa.ok:
            continue
        if a.missing and aaaa.missing:
            fails.append(f"MX host {host} has no address (no A or AAAA record): senders skip it")
        else:
            unknowns.append(f"could not resolve {host} (A {a.status}, AAAA {aaaa.status})")
    if fails:
        status = CheckStatus.FAIL
    elif unknowns:
        status = CheckStatus.UNKNOWN
    elif warns:
        status = CheckStatus.WARN
    elif not gateway:
        return _no_profile_hosts(
            MX_LEFTOVERS,
            domain,
            region,
            f"whether an MX host of {shown(domain)} other than the gateway's is left",
            audience,
        )
    else:
        return CheckResult(
            MX_LEFTOVERS,
            CheckStatus.PASS,
            domain,
            f"{shown(domain)} has no MX host besides the gateway's, and every MX host resolves.",
            tuple(evidence),
        )
    problems = fails + unknowns + warns
    summary = "; ".join(problems) + "."
    summary = summary[0].upper() + summary[1:]
    if not gateway:
        gap = profile_gap(region, audience)
        summary += f" Whether any other MX host is left over cannot be told: {gap}."
    return CheckResult(MX_LEFTOVERS, status, domain, summary, tuple(evidence))


def _bypassing(
    records: list[tuple[int, str]], gateway: set[str], exclude_providers: tuple[str, ...]
) -> list[str]:
    """One line per MX host that is not the gateway's: mail can bypass the gateway through it."""
    gateway_prefs = [pref for pref, host in records if host in gateway]
    lines = []
    for pref, host in records:
        if host in gateway:
            continue
        provider = recognise([host], None, exclude=exclude_providers)
        who = f" ({provider.name})" if provider else ""
        where = (
            "a lower preference than the gateway"
            if gateway_prefs and pref > min(gateway_prefs)
            else "the same or a higher preference than the gateway"
            if gateway_prefs
            else "no gateway MX alongside"
        )
        lines.append(
            f"remove MX {pref} {host}{who}: it is not the gateway's ({where}), so mail can "
            "bypass the gateway through it"
        )
    return lines


def mx_hosts_to_resolve(mx: Lookup) -> list[str]:
    return [normalize_host(host) for _, host in mx_records(mx)]
