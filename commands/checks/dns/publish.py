"""The records to publish for a domain (/connect dns acme): the region's MX lines and the SPF
record with the gateway's include merged into the customer's existing record.

The merge keeps the customer's mechanisms and qualifier on `all`, but not the gateway's include
for another region (after `/connect set acme --region de`, the EU include goes: the account sends
from the new region's ranges only). When the result would go over RFC 7208's 10 DNS-querying
terms, it avoids that where it safely can: it drops `ptr` (deprecated, RFC 7208 5.5), replaces the
domain's own `a`/`mx` terms with the addresses they resolve to today, and drops the include of the
provider being replaced; each step is listed in `notes`.

The MX records do not depend on anything the domain publishes today, so they are always given;
the SPF record is given only when today's TXT records could be read (a record merged with nothing
would drop what the domain has).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from commands.checks.dns.names import is_subdomain, normalize_host
from commands.checks.dns.resolver import DnsResolver, LookupStatus
from commands.checks.spf.record import (
    MAX_LOOKUPS,
    SpfNode,
    SpfSyntaxError,
    Term,
    is_spf,
    parse,
    spf_records,
    target_of,
    walk,
)
from commands.profiles import GatewayProfile, GatewayRegion, caveats

DEFAULT_TTL = 3600
TXT_CHUNK = 255  # one TXT string holds at most 255 bytes; longer records are split


@dataclass(frozen=True)
class MxLine:
    preference: int
    host: str


@dataclass(frozen=True)
class RecordsToPublish:
    domain: str
    mx: tuple[MxLine, ...]
    spf: str | None  # the record to publish (None when the profile has no include)
    current_spf: tuple[str, ...]  # the SPF record(s) published today
    spf_changed: bool
    lookups: int | None  # DNS-querying terms the new record uses, None if not known
    notes: tuple[str, ...] = field(default=())
    ttl: int = DEFAULT_TTL
    # What stands in the way, in plain text (the domain does not exist, its TXT records could
    # not be read); shown before the records.
    problem: str | None = None

    def zone_lines(self) -> tuple[str, ...]:
        """Zone-file lines, e.g. 'acme.com. 3600 IN MX 10 eu-smtp-inbound-1.mimecast.com.'."""
        lines = [f"{self.domain}. {self.ttl} IN MX {m.preference} {m.host}." for m in self.mx]
        if self.spf:
            lines.append(f"{self.domain}. {self.ttl} IN TXT {txt_strings(self.spf)}")
        return tuple(lines)


def txt_strings(record: str) -> str:
    """A TXT value as quoted strings of at most 255 bytes each."""
    chunks = [record[i : i + TXT_CHUNK] for i in range(0, len(record), TXT_CHUNK)] or [""]
    return " ".join('"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in chunks)


def _render(terms: Sequence[str]) -> str:
    return " ".join(["v=spf1", *terms])


def merge_spf(
    domain: str,
    current: Sequence[str],
    include: str,
    *,
    tree: SpfNode | None = None,
    include_lookups: int | None = None,
    drop_includes: Iterable[str] = (),
    other_includes: Mapping[str, str] | None = None,
) -> tuple[str, int | None, tuple[str, ...]]:
    """(new record, lookups it uses or None, notes). `tree` is the walk of the current record
    (counts and a/mx addresses); `include_lookups` what the gateway's include costs beneath
    itself; `drop_includes` suffixes of includes that may go (the previous provider's);
    `other_includes` the gateway's includes for its other regions (include -> region), which
    always go."""
    notes: list[str] = []
    include = normalize_host(include)
    terms: list[Term] = []
    for record in current:
        try:
            terms.extend(t for t in parse(record) if t.text not in {x.text for x in terms})
        except SpfSyntaxError as exc:
            notes.append(f"the current record has an error and was not merged: {exc}")
    if len(current) > 1:
        notes.append(f"merged the {len(current)} SPF records into one (two make SPF fail)")
    terms, retired_lookups = _without_other_regions(terms, include, other_includes, tree, notes)
    has_include = any(
        t.name == "include" and t.value and normalize_host(t.value) == include for t in terms
    )
    all_terms = [t for t in terms if t.name == "all" and not t.is_modifier]
    redirect = next((t for t in terms if t.is_modifier and t.name == "redirect"), None)
    body = [t for t in terms if not (t.name == "all" and not t.is_modifier) and t is not redirect]
    ending = all_terms[0].text if all_terms else None
    if redirect is not None and not all_terms:
        # A redirect applies only when nothing matched; keep it last, after our include.
        ending = redirect.text
    if ending is None:
        ending = "~all"
        if current:
            notes.append("added ~all: the record ended without an all term")
    if ending in ("all", "+all"):
        notes.append("changed +all to ~all: +all lets anyone send as the domain")
        ending = "~all"
    new_terms = [t.text for t in body]
    if not has_include:
        new_terms.insert(0, f"include:{include}")
    lookups = None
    if tree is not None and include_lookups is not None:
        base = tree.total_lookups - retired_lookups if tree.status == "ok" else 0
        lookups = base + (0 if has_include else 1 + include_lookups)
        if lookups > MAX_LOOKUPS:
            new_terms, lookups = _trim(domain, new_terms, body, tree, lookups, drop_includes, notes)
    record = _render([*new_terms, ending])
    if has_include and len(current) == 1 and record == current[0]:
        notes.append("the current record already includes the gateway")
    return record, lookups, tuple(notes)


def _without_other_regions(
    terms: list[Term],
    include: str,
    other_includes: Mapping[str, str] | None,
    tree: SpfNode | None,
    notes: list[str],
) -> tuple[list[Term], int]:
    """`terms` without the gateway's include (or redirect) for another region, and the DNS
    lookups those used. The account sends from its own region's ranges; another region's include
    would authorise senders that are not the customer's."""
    others = {normalize_host(k): v for k, v in (other_includes or {}).items()}
    others.pop(include, None)
    kept: list[Term] = []
    removed = 0
    for term in terms:
        gateway_term = (term.name == "include" and not term.is_modifier) or (
            term.name == "redirect" and term.is_modifier
        )
        target = normalize_host(term.value) if term.value else ""
        if not gateway_term or target not in others:
            kept.append(term)
            continue
        notes.append(
            f"dropped {term.text}: that is the gateway's include for region {others[target]}, "
            f"and this onboarding's region uses include:{include}"
        )
        child = next((c for c in tree.children if c.via == term.text), None) if tree else None
        if term.name == "include":
            removed += 1 + (child.total_lookups if child else 0)
        elif child is not None:  # a redirect is counted (and followed) only without an all term
            removed += 1 + child.total_lookups
    return kept, removed


def _trim(
    domain: str,
    new_terms: list[str],
    body: list[Term],
    tree: SpfNode,
    lookups: int,
    drop_includes: Iterable[str],
    notes: list[str],
) -> tuple[list[str], int]:
    """Bring the count under the limit where it is safe; note every change. In order of
    safety: drop ptr (deprecated), drop the previous provider's include, and last replace the
    domain's own a/mx terms with today's addresses (which can go stale)."""
    drop = [normalize_host(d) for d in drop_includes]
    for step in ("ptr", "previous", "flatten"):
        for term in body:
            if lookups <= MAX_LOOKUPS:
                return new_terms, lookups
            if step == "ptr" and term.name == "ptr":
                new_terms.remove(term.text)
                lookups -= 1
                notes.append(f"dropped {term.text}: ptr is slow and deprecated (RFC 7208 5.5)")
            elif (
                step == "previous"
                and term.name == "include"
                and term.value
                and any(is_subdomain(normalize_host(term.value), d) for d in drop)
            ):
                child = next((c for c in tree.children if c.via == term.text), None)
                new_terms.remove(term.text)
                lookups -= 1 + (child.total_lookups if child else 0)
                notes.append(f"dropped {term.text}: the previous provider no longer sends for you")
            elif (
                step == "flatten"
                and term.name in ("a", "mx")
                and not term.has_macro
                and term.qualifier == "+"
                and "/" not in (term.value or "")
                and is_subdomain(target_of(term, domain), domain)
                and (addresses := _addresses_for(tree, term)) is not None
            ):
                index = new_terms.index(term.text)
                new_terms[index : index + 1] = [
                    f"ip{'6' if ':' in a else '4'}:{a}" for a in addresses
                ]
                lookups -= 1
                notes.append(
                    f"replaced {term.text} with the addresses it has today "
                    f"({', '.join(addresses)}); update the record when those hosts change"
                )
    if lookups > MAX_LOOKUPS:
        notes.append(
            f"still {lookups} DNS lookups (limit {MAX_LOOKUPS}): remove includes you no longer "
            "use, or replace them with the ip4/ip6 ranges they list"
        )
    return new_terms, lookups


def _addresses_for(tree: SpfNode, term: Term) -> list[str] | None:
    """The addresses the walk resolved for this a/mx term, if it resolved any."""
    return tree.term_addresses.get(term.text) or None


def other_region_includes(profile: GatewayProfile, region: GatewayRegion) -> dict[str, str]:
    """The gateway's SPF includes for its regions other than `region`: include -> region key."""
    own = normalize_host(region.include) if region.include else None
    return {
        normalize_host(other.include): key
        for key, other in profile.regions.items()
        if other.include and normalize_host(other.include) != own
    }


def records_to_publish(
    domain: str,
    current_spf: Sequence[str] | str | None,
    region: GatewayRegion,
    *,
    tree: SpfNode | None = None,
    include_lookups: int | None = None,
    drop_includes: Iterable[str] = (),
    other_includes: Mapping[str, str] | None = None,
) -> RecordsToPublish:
    """Pure: the records for `domain` from what is published today (`current_spf`: the SPF
    record(s) or None). With `tree`/`include_lookups` (from `plan_records`) it also counts
    lookups and keeps the record under the limit where it can; `other_includes` (from
    `other_region_includes`) are taken out."""
    if isinstance(current_spf, str):
        current: tuple[str, ...] = (current_spf,)
    else:
        current = tuple(r for r in (current_spf or ()) if is_spf(r))
    mx = _mx_lines(region)
    notes = _mx_notes(region)
    if region.spf_include is None:
        return RecordsToPublish(
            domain, mx, None, current, False, None, (*notes, _no_include(region))
        )
    record, lookups, merge_notes = merge_spf(
        domain,
        current,
        region.spf_include.include,
        tree=tree,
        include_lookups=include_lookups,
        drop_includes=drop_includes,
        other_includes=other_includes,
    )
    changed = not (len(current) == 1 and current[0] == record)
    notes = (*notes, *caveats((region.spf_include,)), *merge_notes)
    return RecordsToPublish(domain, mx, record, current, changed, lookups, notes)


def _mx_lines(region: GatewayRegion) -> tuple[MxLine, ...]:
    return tuple(MxLine(pref, host) for pref, host in region.mx_lines())


def _mx_notes(region: GatewayRegion) -> tuple[str, ...]:
    """What to know about the MX lines: none known, or known from a source below `official`."""
    if not region.mx_hosts:
        return (
            f"no inbound MX hosts are known for region {region.key} ({region.name}): no public "
            "source gives them; take them from the gateway (the account's Connect Application) "
            "before you change the MX records",
        )
    return caveats(region.inbound_mx)


def _no_include(region: GatewayRegion) -> str:
    return (
        f"no SPF include is known for region {region.key} ({region.name}): the gateway "
        "publishes none that could be found; ask your gateway engineer which addresses to "
        "authorise before you change the SPF record"
    )


async def plan_records(
    domain: str,
    region: GatewayRegion,
    resolver: DnsResolver,
    *,
    drop_includes: Iterable[str] = (),
    other_includes: Mapping[str, str] | None = None,
) -> RecordsToPublish:
    """Reads today's SPF record and the include trees, then `records_to_publish`.

    Never raises for a DNS outcome. When today's TXT records cannot be read (a timeout, a
    server failure), only the MX records are given, and `problem` says why the SPF record is
    not: a record merged with nothing would tell people to publish an SPF record that drops what
    they have. When the domain does not exist (NXDOMAIN), `problem` says so; there is nothing to
    merge, so the records are the ones to publish once its zone exists."""
    txt = await resolver.lookup(domain, "TXT")
    if txt.status is LookupStatus.NXDOMAIN:
        problem: str | None = (
            f"{domain} does not exist in DNS (NXDOMAIN): check the domain in the RFI answers; "
            "if it is new, create its zone at your DNS host and publish these records there."
        )
    elif txt.status is not LookupStatus.OK and txt.status is not LookupStatus.NODATA:
        return RecordsToPublish(
            domain,
            _mx_lines(region),
            None,
            (),
            False,
            None,
            _mx_notes(region),
            problem=(
                f"could not read the TXT records of {domain} ({txt.describe()}), so its SPF "
                "record cannot be merged with the one it has yet: publish the MX records now, "
                "and run this again later for the SPF record."
            ),
        )
    else:
        problem = None
    current = spf_records(txt)
    gateway_tree: SpfNode | None = None
    tree: SpfNode | None = None
    jobs = []
    if region.include:
        jobs.append(walk(region.include, resolver))
    if len(current) == 1:
        jobs.append(walk(domain, resolver, record=current[0], txt=txt))
    done = await asyncio.gather(*jobs)
    if region.include:
        gateway_tree = done[0]
    if len(current) == 1:
        tree = done[-1]
    include_lookups = (
        gateway_tree.total_lookups if gateway_tree and gateway_tree.status == "ok" else None
    )
    if tree is None and not current and include_lookups is not None:
        tree = SpfNode(domain, None, "none")
    records = records_to_publish(
        domain,
        current,
        region,
        tree=tree,
        include_lookups=include_lookups,
        drop_includes=drop_includes,
        other_includes=other_includes,
    )
    return replace(records, problem=problem) if problem else records
