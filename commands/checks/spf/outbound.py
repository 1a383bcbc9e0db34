"""outbound.spf: may the gateway send as the domain?

Exactly one SPF record; within RFC 7208's limits (10 DNS-querying terms, 2 void lookups), with the
chain that used them up named when it is not; and check_host() (pyspf, through our resolver)
gives `pass` for the first and last address of every range the gateway's include lists today.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from commands.checks.dns.common import shown, unanswered
from commands.checks.dns.publish import records_to_publish, txt_strings
from commands.checks.dns.resolver import DnsResolver, Lookup
from commands.checks.gaps import not_checked
from commands.checks.result import CheckResult, CheckStatus
from commands.checks.spf.evaluate import SpfVerdict, check_host
from commands.checks.spf.record import (
    MAX_LOOKUPS,
    MAX_VOID,
    Network,
    SpfNode,
    chain_text,
    representative_addresses,
    spf_records,
    walk,
)
from commands.core.roles import Role
from commands.profiles import GatewayRegion, caveats

OUTBOUND_SPF = "outbound.spf"
PARALLEL_EVALUATIONS = 8  # pyspf runs in threads; enough to overlap the DNS waits


@dataclass(frozen=True)
class GatewayRanges:
    """The gateway's sending ranges for a region, read live from its SPF include."""

    include: str | None
    tree: SpfNode | None
    addresses: tuple[str, ...]  # first and last address of each range
    ranges: int
    problem: str | None  # why they could not be had (None when they could)

    @property
    def lookups(self) -> int | None:
        return self.tree.total_lookups if self.tree and self.tree.status == "ok" else None


async def resolve_gateway_ranges(region: GatewayRegion, resolver: DnsResolver) -> GatewayRanges:
    include = region.include
    if include is None:
        return GatewayRanges(None, None, (), 0, f"the profile has no SPF include for {region.key}")
    tree = await walk(include, resolver)
    failures = tree.all_failures
    if failures or tree.status != "ok":
        why = failures[0].describe() if failures else (tree.problem or tree.status)
        return GatewayRanges(include, tree, (), 0, f"could not read include:{include} ({why})")
    networks: list[Network] = [n for n in tree.all_networks if n.version == 4] or tree.all_networks
    if not networks:
        return GatewayRanges(include, tree, (), 0, f"include:{include} lists no address ranges")
    return GatewayRanges(
        include, tree, tuple(representative_addresses(networks)), len(networks), None
    )


async def check_spf(
    domain: str,
    txt: Lookup,
    region: GatewayRegion,
    gateway: GatewayRanges,
    resolver: DnsResolver,
    *,
    other_includes: Mapping[str, str] | None = None,
    audience: Role = Role.ENGINEER,
) -> CheckResult:
    """`other_includes`: the gateway's includes for its other regions (include -> region, from
    publish.other_region_includes), which the record to publish drops. Without the region's
    include nothing can be judged: skipped, naming the gap (`audience`: who the advice is for).
    A verdict or fix that relies on an include below `official` says so in its evidence."""
    if (early := unanswered(OUTBOUND_SPF, domain, txt, "TXT records")) is not None:
        return early
    if region.spf_include is None:
        judged = f"whether the gateway may send as {shown(domain)}"
        return CheckResult(
            OUTBOUND_SPF,
            CheckStatus.SKIPPED,
            domain,
            not_checked(region, judged, "SPF include", audience, plural=False),
            tuple(f"SPF record: {r}" for r in spf_records(txt)) or (txt.describe(),),
        )
    result = await _judge(domain, txt, region, gateway, resolver, other_includes)
    used = f"include:{region.spf_include.include}"
    if any(used in line for line in (result.fix or "", *result.evidence)):
        result = replace(result, evidence=(*caveats((region.spf_include,)), *result.evidence))
    return result


async def _judge(
    domain: str,
    txt: Lookup,
    region: GatewayRegion,
    gateway: GatewayRanges,
    resolver: DnsResolver,
    other_includes: Mapping[str, str] | None,
) -> CheckResult:
    """outbound.spf once the TXT records and the region's include are known."""
    records = spf_records(txt)
    if len(records) != 1:
        return _not_one_record(domain, txt, records, region, other_includes)
    record = records[0]
    tree = await walk(domain, resolver, record=record, txt=txt)
    if tree.status == "syntax":
        return CheckResult(
            OUTBOUND_SPF,
            CheckStatus.FAIL,
            domain,
            f"The SPF record of {shown(domain)} is invalid ({tree.problem}): receivers return "
            "permerror; fix the term.",
            (f"SPF record: {record}",),
        )
    evidence = [
        f"SPF record: {record}",
        f"{tree.total_lookups} of {MAX_LOOKUPS} DNS lookups, "
        f"{tree.total_void} of {MAX_VOID} void lookups",
    ]

    def fix() -> str | None:
        return _fix(domain, _merged_record(domain, record, region, tree, gateway, other_includes))

    if (over := _over_the_limits(domain, tree, evidence, fix)) is not None:
        return over
    if (unfollowed := _unusable_includes(domain, tree, evidence)) is not None:
        return unfollowed
    if gateway.problem:
        return CheckResult(
            OUTBOUND_SPF,
            CheckStatus.UNKNOWN,
            domain,
            f"Could not test {shown(domain)}: {gateway.problem}; run the check again later.",
            tuple(evidence),
        )
    verdicts = await _evaluate(domain, gateway.addresses, resolver)
    evidence.append(f"gateway ranges from include:{gateway.include}: {gateway.ranges}")
    evidence += [f"{v.ip}: {v.result}" for v in verdicts]
    if (failing := _failing_gateway_ranges(domain, verdicts, evidence, fix)) is not None:
        return failing
    return _how_the_record_ends(domain, tree, gateway, evidence, fix)


def _not_one_record(
    domain: str,
    txt: Lookup,
    records: tuple[str, ...],
    region: GatewayRegion,
    other_includes: Mapping[str, str] | None,
) -> CheckResult:
    """No SPF record, or several (which receivers treat as broken): the record to publish."""
    if not records:
        draft = records_to_publish(domain, None, region)
        return CheckResult(
            OUTBOUND_SPF,
            CheckStatus.FAIL,
            domain,
            f"{shown(domain)} has no SPF record: publish one that includes the gateway.",
            (txt.describe(),) if txt.ok else (f"{domain} TXT: no records",),
            _fix(domain, draft.spf),
        )
    draft = records_to_publish(domain, records, region, other_includes=other_includes)
    return CheckResult(
        OUTBOUND_SPF,
        CheckStatus.FAIL,
        domain,
        f"{shown(domain)} has {len(records)} SPF records, so receivers treat SPF as broken "
        "(permerror): merge them into one.",
        tuple(f"SPF record: {r}" for r in records),
        _fix(domain, draft.spf),
    )


def _merged_record(
    domain: str,
    record: str,
    region: GatewayRegion,
    tree: SpfNode,
    gateway: GatewayRanges,
    other_includes: Mapping[str, str] | None,
) -> str | None:
    """The record to publish in place of `record`, or None.

    Lookup-aware merge: keeps the record under the limit where that is safe. None when it would
    be the record already published (nothing safe to change automatically)."""
    merged = records_to_publish(
        domain,
        record,
        region,
        tree=tree,
        include_lookups=gateway.lookups,
        other_includes=other_includes,
    ).spf
    return merged if merged != record else None


def _over_the_limits(
    domain: str, tree: SpfNode, evidence: list[str], fix: Callable[[], str | None]
) -> CheckResult | None:
    """RFC 7208's limits: more than 10 DNS-querying terms, or more than 2 void lookups."""
    if tree.total_lookups > MAX_LOOKUPS:
        chain = chain_text(tree.heaviest_chain())
        return CheckResult(
            OUTBOUND_SPF,
            CheckStatus.FAIL,
            domain,
            f"The SPF record of {shown(domain)} needs {tree.total_lookups} DNS lookups (limit "
            f"{MAX_LOOKUPS}), so receivers return permerror; most are used by {chain}: remove "
            "includes you no longer use or replace them with their ip4/ip6 ranges.",
            tuple(evidence),
            fix(),
        )
    if tree.total_void > MAX_VOID:
        return CheckResult(
            OUTBOUND_SPF,
            CheckStatus.FAIL,
            domain,
            f"The SPF record of {shown(domain)} makes {tree.total_void} lookups that find nothing "
            f"(limit {MAX_VOID}), so receivers return permerror: remove the terms for names that "
            "no longer exist.",
            tuple(evidence + tree.problems()),
        )
    return None


def _unusable_includes(domain: str, tree: SpfNode, evidence: list[str]) -> CheckResult | None:
    """An include without a usable SPF record (permerror), or one that could not be read."""
    if problems := tree.problems():
        return CheckResult(
            OUTBOUND_SPF,
            CheckStatus.FAIL,
            domain,
            f"The SPF record of {shown(domain)} includes a name without a usable SPF record "
            f"({problems[0]}), so receivers return permerror: remove or fix that include.",
            tuple(evidence + problems),
        )
    if failures := tree.all_failures:
        return CheckResult(
            OUTBOUND_SPF,
            CheckStatus.UNKNOWN,
            domain,
            f"Could not follow the SPF record of {shown(domain)} ({failures[0].describe()}); "
            "run the check again later.",
            tuple(evidence + [f.describe() for f in failures]),
        )
    return None


def _failing_gateway_ranges(
    domain: str, verdicts: list[SpfVerdict], evidence: list[str], fix: Callable[[], str | None]
) -> CheckResult | None:
    """Which gateway addresses do not get `pass` (fail), or hit DNS errors (unknown)."""
    temp = [v for v in verdicts if v.result == "temperror"]
    bad = [v for v in verdicts if v.result not in ("pass", "temperror")]
    if bad:
        first = bad[0]
        more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
        return CheckResult(
            OUTBOUND_SPF,
            CheckStatus.FAIL,
            domain,
            f"The gateway is not authorised to send as {shown(domain)} ({first.ip} gets "
            f"{first.result}{more}): publish the record below.",
            tuple(evidence),
            fix(),
        )
    if temp:
        return CheckResult(
            OUTBOUND_SPF,
            CheckStatus.UNKNOWN,
            domain,
            f"SPF evaluation for {shown(domain)} hit DNS errors ({temp[0].explanation}); run the "
            "check again later.",
            tuple(evidence),
        )
    return None


def _how_the_record_ends(
    domain: str,
    tree: SpfNode,
    gateway: GatewayRanges,
    evidence: list[str],
    fix: Callable[[], str | None],
) -> CheckResult:
    """Every gateway range passes: the all term decides (+all or none at all is a warning)."""
    ranges = f"{gateway.ranges} range{'s' if gateway.ranges != 1 else ''}"
    usage = f"{tree.total_lookups} of {MAX_LOOKUPS} lookups used"
    all_term = tree.all_term()
    if all_term is not None and all_term.qualifier == "+":
        return CheckResult(
            OUTBOUND_SPF,
            CheckStatus.WARN,
            domain,
            f"Every gateway range passes for {shown(domain)}, but {all_term.text} lets anyone send "
            "as the domain: end the record with ~all or -all.",
            tuple(evidence),
            fix(),
        )
    if all_term is None and tree.redirect() is None:
        return CheckResult(
            OUTBOUND_SPF,
            CheckStatus.WARN,
            domain,
            f"Every gateway range passes for {shown(domain)} ({ranges}; {usage}), but the record "
            "has no all term, so other senders get neutral: end it with ~all or -all.",
            tuple(evidence),
            fix(),
        )
    return CheckResult(
        OUTBOUND_SPF,
        CheckStatus.PASS,
        domain,
        f"Every gateway range passes for {shown(domain)} ({ranges}; {usage}).",
        tuple(evidence),
    )


async def _evaluate(
    domain: str, addresses: tuple[str, ...], resolver: DnsResolver
) -> list[SpfVerdict]:
    gate = asyncio.Semaphore(PARALLEL_EVALUATIONS)

    async def one(ip: str) -> SpfVerdict:
        async with gate:
            return await check_host(resolver, ip, f"postmaster@{domain}", domain)

    return list(await asyncio.gather(*(one(ip) for ip in addresses)))


def _fix(domain: str, record: str | None) -> str | None:
    if record is None:
        return None
    return f"{domain}. TXT {txt_strings(record)}"
