"""The records to publish for a domain (/connect dns acme): the region's MX lines and the SPF
record with the gateway's include merged into the customer's existing record.

The merge keeps the customer's mechanisms and qualifier on `all`. When the result would go over
RFC 7208's 10 DNS-querying terms, it avoids that where it safely can: it drops `ptr` (deprecated,
RFC 7208 5.5), replaces the domain's own `a`/`mx` terms with the addresses they resolve to today,
and drops the include of the provider being replaced; each step is listed in `notes`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

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
from commands.profiles import GatewayRegion

DEFAULT_TTL = 3600


class RecordsUnknown(Exception):
    """Today's records could not be read; the message says why, in plain text."""


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
) -> tuple[str, int | None, tuple[str, ...]]:
    """(new record, lookups it uses or None, notes). `tree` is the walk of the current record
    (counts and a/mx addresses); `include_lookups` what the gateway's include costs beneath
    itself; `drop_includes` suffixes of includes that may go (the previous provider's)."""
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
        base = tree.total_lookups if tree.status == "ok" else 0
        lookups = base + (0 if has_include else 1 + include_lookups)
        if lookups > MAX_LOOKUPS:
            new_terms, lookups = _trim(domain, new_terms, body, tree, lookups, drop_includes, notes)
    record = _render([*new_terms, ending])
    if has_include and len(current) == 1 and record == current[0]:
        notes.append("the current record already includes the gateway")
    return record, lookups, tuple(notes)


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


def records_to_publish(
    domain: str,
    current_spf: Sequence[str] | str | None,
    region: GatewayRegion,
    *,
    tree: SpfNode | None = None,
    include_lookups: int | None = None,
    drop_includes: Iterable[str] = (),
) -> RecordsToPublish:
    """Pure: the records for `domain` from what is published today (`current_spf`: the SPF
    record(s) or None). With `tree`/`include_lookups` (from `plan_records`) it also counts
    lookups and keeps the record under the limit where it can."""
    if isinstance(current_spf, str):
        current: tuple[str, ...] = (current_spf,)
    else:
        current = tuple(r for r in (current_spf or ()) if is_spf(r))
    mx = tuple(MxLine(pref, host) for pref, host in region.mx_lines())
    notes: tuple[str, ...] = ()
    if not region.mx_hosts:
        notes += (f"the profile has no inbound MX hosts for region {region.key}",)
    if region.include is None:
        return RecordsToPublish(
            domain,
            mx,
            None,
            current,
            False,
            None,
            (*notes, f"the profile has no SPF include for region {region.key}"),
        )
    record, lookups, merge_notes = merge_spf(
        domain,
        current,
        region.include,
        tree=tree,
        include_lookups=include_lookups,
        drop_includes=drop_includes,
    )
    changed = not (len(current) == 1 and current[0] == record)
    return RecordsToPublish(domain, mx, record, current, changed, lookups, notes + merge_notes)


async def plan_records(
    domain: str,
    region: GatewayRegion,
    resolver: DnsResolver,
    *,
    drop_includes: Iterable[str] = (),
) -> RecordsToPublish:
    """Reads today's SPF record and the include trees, then `records_to_publish`.

    Raises RecordsUnknown when today's TXT records cannot be read: a record merged with
    nothing would tell people to publish an SPF record that drops what they have."""
    txt = await resolver.lookup(domain, "TXT")
    if txt.status not in (LookupStatus.OK, LookupStatus.NODATA):
        raise RecordsUnknown(
            f"could not read the TXT records of {domain} ({txt.describe()}), so its SPF "
            "record cannot be merged yet; run this again later"
        )
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
    return records_to_publish(
        domain,
        current,
        region,
        tree=tree,
        include_lookups=include_lookups,
        drop_includes=drop_includes,
    )
