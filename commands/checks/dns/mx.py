"""inbound.mx_gateway and inbound.mx_leftovers: does all inbound mail reach the gateway?"""

from __future__ import annotations

from collections.abc import Mapping

from commands.checks.dns.common import mx_records, shown, unanswered
from commands.checks.dns.names import normalize_host
from commands.checks.dns.resolver import Lookup
from commands.checks.result import CheckResult, CheckStatus
from commands.profiles import GatewayRegion
from commands.providers import recognise

MX_GATEWAY = "inbound.mx_gateway"
MX_LEFTOVERS = "inbound.mx_leftovers"


def gateway_mx_lines(domain: str, region: GatewayRegion) -> str:
    return "\n".join(f"{domain}. MX {pref} {host}." for pref, host in region.mx_lines())


def _no_profile_hosts(check_id: str, domain: str, region: GatewayRegion) -> CheckResult:
    return CheckResult(
        check_id,
        CheckStatus.SKIPPED,
        domain,
        f"The gateway profile has no inbound MX hosts for region {region.key} ({region.name}); "
        "add them to the profile (CONNECT_GATEWAY_PROFILE) to run this check.",
        (region.notes,) if region.notes else (),
    )


def check_mx_gateway(domain: str, mx: Lookup, region: GatewayRegion) -> CheckResult:
    """Every MX host of the domain is one of the region's gateway hosts."""
    if (early := unanswered(MX_GATEWAY, domain, mx, "MX records")) is not None:
        return early
    if not region.mx_hosts:
        return _no_profile_hosts(MX_GATEWAY, domain, region)
    fix = gateway_mx_lines(domain, region)
    records = mx_records(mx)
    evidence = (mx.describe(),)
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
) -> CheckResult:
    """Names each MX host that is not the gateway's (mail can bypass the gateway through it) and
    each MX host that is a CNAME (RFC 2181 10.3) or has no address.

    addresses: MX host -> (A lookup, AAAA lookup), asked through the resolver.
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
    evidence = [mx.describe()]
    fails: list[str] = []
    warns: list[str] = []
    unknowns: list[str] = []
    gateway_prefs = [pref for pref, host in records if host in gateway]
    for pref, host in records:
        a, aaaa = addresses.get(host, (None, None))
        for answer in (a, aaaa):
            if answer is not None and not answer.missing:
                evidence.append(answer.describe())
        if host not in gateway and gateway:
            provider = recognise([host], None, exclude=exclude_providers)
            who = f" ({provider.name})" if provider else ""
            where = (
                "a lower preference than the gateway"
                if gateway_prefs and pref > min(gateway_prefs)
                else "the same or a higher preference than the gateway"
                if gateway_prefs
                else "no gateway MX alongside"
            )
            fails.append(
                f"remove MX {pref} {host}{who}: it is not the gateway's ({where}), so mail can "
                "bypass the gateway through it"
            )
        if a is None or aaaa is None:
            continue
        if a.failed and aaaa.failed:
            unknowns.append(f"could not resolve {host} ({a.status})")
            continue
        if a.via_cname or aaaa.via_cname:
            target = a.canonical_name if a.via_cname else aaaa.canonical_name
            warns.append(
                f"MX host {host} is a CNAME (to {target}); point the MX at the host name itself "
                "(RFC 2181 10.3), some senders refuse CNAME targets"
            )
        if a.missing and aaaa.missing:
            fails.append(f"MX host {host} has no address (no A or AAAA record): senders skip it")
    if fails:
        status = CheckStatus.FAIL
    elif unknowns:
        status = CheckStatus.UNKNOWN
    elif warns:
        status = CheckStatus.WARN
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
    return CheckResult(MX_LEFTOVERS, status, domain, summary, tuple(evidence))


def mx_hosts_to_resolve(mx: Lookup) -> list[str]:
    return [normalize_host(host) for _, host in mx_records(mx)]
