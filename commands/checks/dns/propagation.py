"""inbound.mx_propagation: do all the domain's authoritative name servers serve the same zone?

After an MX change the servers of a zone can disagree for a while (a secondary that has not
transferred the new serial, a forgotten server at the old DNS host). Each server is asked
directly, without recursion, for the SOA serial and the MX set; the ones behind are named, and the
old records' TTL says how long caches can keep serving the old answer once all servers agree.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from commands.checks.dns.common import mx_records, shown, unanswered
from commands.checks.dns.names import normalize_host
from commands.checks.dns.resolver import DnsResolver, Lookup
from commands.checks.result import CheckResult, CheckStatus

MX_PROPAGATION = "inbound.mx_propagation"


@dataclass(frozen=True)
class ServerView:
    name: str  # the NS host name
    address: str | None
    soa: Lookup | None
    mx: Lookup | None
    problem: str | None = None  # why this server gave no usable answer

    @property
    def serial(self) -> int | None:
        if self.soa is None or not self.soa.ok:
            return None
        return int(self.soa.rdata[0].serial)

    @property
    def mx_set(self) -> tuple[tuple[int, str], ...]:
        return tuple(mx_records(self.mx)) if self.mx is not None else ()

    @property
    def label(self) -> str:
        return f"{self.name} ({self.address})" if self.address else self.name

    def describe(self) -> str:
        if self.problem:
            return f"{self.label}: {self.problem}"
        mx = ", ".join(f"{p} {h}" for p, h in self.mx_set) or "no MX records"
        return f"{self.label}: serial {self.serial}, MX {mx}"


async def _server_view(domain: str, ns: str, resolver: DnsResolver) -> list[ServerView]:
    a = await resolver.lookup(ns, "A")
    if not a.ok:
        aaaa = await resolver.lookup(ns, "AAAA")
        if not aaaa.ok:
            why = "no address" if a.missing and aaaa.missing else f"address lookup {a.status}"
            return [ServerView(ns, None, None, None, why)]
        a = aaaa

    async def ask(address: str) -> ServerView:
        soa, mx = await asyncio.gather(
            resolver.lookup_at(address, domain, "SOA"), resolver.lookup_at(address, domain, "MX")
        )
        for answer in (soa, mx):
            if answer.failed or (answer is soa and not answer.ok):
                return ServerView(
                    ns,
                    address,
                    soa,
                    mx,
                    f"{answer.rdtype} {answer.status}"
                    + (f" ({answer.reason})" if answer.reason else ""),
                )
        return ServerView(ns, address, soa, mx)

    return list(await asyncio.gather(*(ask(address) for address in a.records)))


async def check_propagation(
    domain: str, resolver: DnsResolver, *, ns: Lookup | None = None, now: datetime | None = None
) -> CheckResult:
    ns = ns or await resolver.lookup(domain, "NS")
    if (early := unanswered(MX_PROPAGATION, domain, ns, "name servers (NS records)")) is not None:
        return early
    if not ns.ok:
        return CheckResult(
            MX_PROPAGATION,
            CheckStatus.UNKNOWN,
            domain,
            f"{shown(domain)} has no NS records of its own, so its name servers cannot be asked.",
            (ns.describe(),),
        )
    views = await _ask_every_server(domain, ns, resolver)
    evidence = tuple([ns.describe()] + [v.describe() for v in views])
    answered = [v for v in views if not v.problem]
    silent = [v for v in views if v.problem]
    if not answered:
        return CheckResult(
            MX_PROPAGATION,
            CheckStatus.UNKNOWN,
            domain,
            f"None of the {len(views)} name servers of {shown(domain)} answered; "
            "run the check again later.",
            evidence,
        )
    newest = max(v.serial or 0 for v in answered)
    reference_sets = {v.mx_set for v in answered if v.serial == newest}
    if len(reference_sets) > 1:
        return CheckResult(
            MX_PROPAGATION,
            CheckStatus.FAIL,
            domain,
            f"The name servers of {shown(domain)} serve serial {newest} with different MX "
            "records: the zone is edited in more than one place; make them one.",
            evidence,
        )
    reference = reference_sets.pop()
    stale = [v for v in answered if v.serial != newest or v.mx_set != reference]
    if stale:
        return _servers_behind(
            domain, stale, len(views), newest, evidence, now or datetime.now(UTC)
        )
    if silent:
        return _servers_silent(domain, silent, len(answered), newest, evidence)
    return CheckResult(
        MX_PROPAGATION, CheckStatus.PASS, domain, _all_agree(domain, len(views), newest), evidence
    )


async def _ask_every_server(domain: str, ns: Lookup, resolver: DnsResolver) -> list[ServerView]:
    """Every address of every NS host, asked directly, in the order of the sorted host names."""
    names = sorted(normalize_host(r) for r in ns.records)
    return [
        v
        for group in await asyncio.gather(*(_server_view(domain, n, resolver) for n in names))
        for v in group
    ]


def _servers_behind(
    domain: str,
    stale: list[ServerView],
    servers: int,
    newest: int,
    evidence: tuple[str, ...],
    now: datetime,
) -> CheckResult:
    """Name servers that still serve an older serial or other MX records; the old records' TTL
    says how long caches may keep them once all servers agree."""
    ttl = (
        max((v.mx.ttl or 0) for v in stale if v.mx is not None and v.mx.ok)
        if any(v.mx is not None and v.mx.ok for v in stale)
        else 0
    )
    names_text = ", ".join(f"{v.label} (serial {v.serial})" for v in stale)
    until = now + timedelta(seconds=ttl) if ttl else None
    tail = (
        f"; once they serve serial {newest}, caches holding the old MX records expire "
        f"within {_duration(ttl)} (TTL {ttl} s)"
        if ttl
        else ""
    )
    return CheckResult(
        MX_PROPAGATION,
        CheckStatus.FAIL,
        domain,
        f"{len(stale)} of {servers} name servers of {shown(domain)} still serve the old "
        f"zone: {names_text}; update them or ask your DNS host to{tail}.",
        evidence,
        until=until,
    )


def _servers_silent(
    domain: str, silent: list[ServerView], answered: int, newest: int, evidence: tuple[str, ...]
) -> CheckResult:
    """The servers that answered agree, but some gave no usable answer."""
    listed = ", ".join(f"{v.label} ({v.problem})" for v in silent)
    return CheckResult(
        MX_PROPAGATION,
        CheckStatus.UNKNOWN,
        domain,
        f"{answered} name servers of {shown(domain)} agree on serial {newest}, but "
        f"{listed} did not answer; check that server, then run the check again.",
        evidence,
    )


def _all_agree(domain: str, servers: int, newest: int) -> str:
    """The summary when every name server serves the newest serial and the same MX records."""
    return (
        (
            f"Both name servers of {shown(domain)}"
            if servers == 2
            else f"All {servers} name servers of {shown(domain)}"
            if servers > 2
            else f"The one name server of {shown(domain)}"
        )
        + f" serve{'s' if servers == 1 else ''} serial {newest}"
        + (" and the same MX records." if servers > 1 else ".")
    )


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} seconds"
    if seconds < 7200:
        return f"{round(seconds / 60)} minutes"
    if seconds < 2 * 86400:
        return f"{round(seconds / 3600)} hours"
    return f"{round(seconds / 86400)} days"
