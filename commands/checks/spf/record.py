"""SPF records as data: find them among TXT records, split them into terms, and walk the include
tree through the resolver to count what RFC 7208 section 4.6.4 limits (10 DNS-querying terms,
2 void lookups) and to collect the address ranges a record authorises.

Evaluation itself (does this address pass?) is pyspf's job (spf_eval.py); this module explains
*why*: which include chain used the lookups up, which include has no record.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Coroutine
from dataclasses import dataclass, field

from commands.checks.dns.names import normalize_host
from commands.checks.dns.resolver import DnsResolver, Lookup

MAX_LOOKUPS = 10  # RFC 7208 4.6.4
MAX_VOID = 2  # RFC 7208 4.6.4
MAX_DEPTH = 12  # includes deeper than this are not followed (a loop or a runaway chain)
MAX_RECORDS = 60  # TXT fetches per walk: enough to show "over the limit" without a crawl

LOOKUP_TERMS = frozenset({"include", "a", "mx", "ptr", "exists", "redirect"})
MECHANISMS = frozenset({"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"})
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def is_spf(text: str) -> bool:
    """A TXT string is an SPF record when it is "v=spf1" alone or followed by a space."""
    lowered = text.lower()
    return lowered == "v=spf1" or lowered.startswith("v=spf1 ")


def spf_records(txt: Lookup) -> tuple[str, ...]:
    return tuple(record for record in txt.records if is_spf(record)) if txt.ok else ()


@dataclass(frozen=True)
class Term:
    text: str  # as written
    qualifier: str  # "+", "-", "~", "?" ("" for modifiers)
    name: str  # mechanism or modifier name, lower-case
    value: str | None  # after ":" / "=" / "/" (None when absent)
    is_modifier: bool

    @property
    def queries_dns(self) -> bool:
        return self.name in LOOKUP_TERMS

    @property
    def has_macro(self) -> bool:
        return self.value is not None and "%" in self.value


class SpfSyntaxError(ValueError):
    pass


def parse(record: str) -> tuple[Term, ...]:
    """The terms after "v=spf1". Raises SpfSyntaxError on a term no receiver would accept."""
    if not is_spf(record):
        raise SpfSyntaxError("not an SPF record (it must start with v=spf1)")
    terms = []
    for text in record.split()[1:]:
        qualifier = text[0] if text[0] in "+-~?" else "+"
        body = text[1:] if text[0] in "+-~?" else text
        name, sep, rest = body.partition(":")
        modifier_name, eq, modifier_value = body.partition("=")
        if eq and (not sep or len(modifier_name) < len(name)):
            if text[0] in "+-~?":
                raise SpfSyntaxError(f"{text!r}: a modifier takes no qualifier")
            terms.append(Term(text, "", modifier_name.lower(), modifier_value, True))
            continue
        name = name.lower()
        value: str | None = rest if sep else None
        if not sep and "/" in name:  # "a/24", "mx/24"
            name, _, cidr = name.partition("/")
            value = None if not cidr else f"/{cidr}"
        if name not in MECHANISMS:
            raise SpfSyntaxError(f"{text!r} is not an SPF mechanism")
        if name in ("include", "exists", "ip4", "ip6") and not value:
            raise SpfSyntaxError(f"{text!r} needs a value after ':'")
        if name in ("ip4", "ip6") and value is not None:
            try:
                network = ipaddress.ip_network(value, strict=False)
            except ValueError:
                raise SpfSyntaxError(f"{text!r} is not a valid {name} network") from None
            if (name == "ip4") != (network.version == 4):
                raise SpfSyntaxError(f"{text!r}: wrong address family for {name}")
        terms.append(Term(text, qualifier, name, value, False))
    return tuple(terms)


def target_of(term: Term, current: str) -> str:
    """The domain a/mx/include/exists/redirect refers to (the current domain when omitted)."""
    if not term.value or term.value.startswith("/"):
        return current
    return normalize_host(term.value.split("/")[0])


@dataclass
class SpfNode:
    """One SPF record in the include tree.

    status: ok, none (no SPF record), multiple (two or more), void (the name has no TXT at all),
    failed (timeout/SERVFAIL: unknown), syntax, loop, macro (target needs a sender to expand),
    not_followed (depth or size cap).
    """

    domain: str
    via: str | None  # "include:x.test", "redirect=x.test"; None for the root
    status: str
    record: str | None = None
    lookup: Lookup | None = None
    terms: tuple[Term, ...] = ()
    own_lookups: int = 0  # DNS-querying terms in this record
    own_void: int = 0  # a/mx targets of this record that returned nothing
    children: list[SpfNode] = field(default_factory=list)
    networks: list[Network] = field(default_factory=list)  # ip4/ip6 and resolved a: addresses
    term_addresses: dict[str, list[str]] = field(default_factory=dict)  # a/mx term -> addresses
    failures: list[Lookup] = field(default_factory=list)  # timeouts/SERVFAILs below this node
    problem: str | None = None

    @property
    def total_lookups(self) -> int:
        return self.own_lookups + sum(child.total_lookups for child in self.children)

    @property
    def total_void(self) -> int:
        own = self.own_void + (1 if self.status == "void" and self.via else 0)
        return own + sum(child.total_void for child in self.children)

    @property
    def all_failures(self) -> list[Lookup]:
        found = list(self.failures)
        if self.status == "failed" and self.lookup is not None:
            found.append(self.lookup)
        for child in self.children:
            found.extend(child.all_failures)
        return found

    @property
    def all_networks(self) -> list[Network]:
        found = list(self.networks)
        for child in self.children:
            found.extend(child.all_networks)
        return found

    def problems(self) -> list[str]:
        """Broken includes anywhere below (no record, two records, syntax): each a sentence."""
        found = [self.problem] if self.problem and self.via else []
        for child in self.children:
            found.extend(child.problems())
        return found

    def heaviest_chain(self) -> list[SpfNode]:
        """From this node down, always into the child that used the most lookups: the chain to
        name when the record is over the limit."""
        chain = [self]
        node = self
        while node.children:
            node = max(node.children, key=lambda c: c.total_lookups)
            if node.total_lookups == 0:
                break
            chain.append(node)
        return chain

    def all_term(self) -> Term | None:
        return next((t for t in self.terms if t.name == "all" and not t.is_modifier), None)

    def redirect(self) -> Term | None:
        return next((t for t in self.terms if t.is_modifier and t.name == "redirect"), None)


class _Budget:
    def __init__(self, records: int) -> None:
        self.records = records


async def walk(
    domain: str,
    resolver: DnsResolver,
    *,
    record: str | None = None,
    txt: Lookup | None = None,
) -> SpfNode:
    """The include tree of `domain`'s SPF record (fetched unless `record`/`txt` is given)."""
    return await _walk(domain, None, resolver, record, txt, (), _Budget(MAX_RECORDS))


async def _walk(
    domain: str,
    via: str | None,
    resolver: DnsResolver,
    record: str | None,
    txt: Lookup | None,
    path: tuple[str, ...],
    budget: _Budget,
) -> SpfNode:
    if record is None:
        if txt is None:
            if budget.records <= 0:
                return SpfNode(domain, via, "not_followed", problem=f"{domain}: not followed")
            budget.records -= 1
            txt = await resolver.lookup(domain, "TXT")
        if txt.failed:
            return SpfNode(domain, via, "failed", lookup=txt)
        if txt.missing:
            return SpfNode(
                domain,
                via,
                "void",
                lookup=txt,
                problem=f"{via or domain}: {domain} has no SPF record",
            )
        found = spf_records(txt)
        if not found:
            return SpfNode(
                domain,
                via,
                "none",
                lookup=txt,
                problem=f"{via or domain}: {domain} has no SPF record",
            )
        if len(found) > 1:
            return SpfNode(
                domain,
                via,
                "multiple",
                lookup=txt,
                problem=f"{via or domain}: {domain} has {len(found)} SPF records",
            )
        record = found[0]
    node = SpfNode(domain, via, "ok", record=record, lookup=txt)
    try:
        node.terms = parse(record)
    except SpfSyntaxError as exc:
        node.status, node.problem = "syntax", f"{via or domain}: {exc}"
        return node
    has_all = node.all_term() is not None
    node.own_lookups = sum(
        1 for t in node.terms if t.queries_dns and not (t.name == "redirect" and has_all)
    )
    jobs: list[Coroutine[object, object, SpfNode | None]] = []
    for term in node.terms:
        if term.name in ("ip4", "ip6") and term.value:
            node.networks.append(ipaddress.ip_network(term.value, strict=False))
            continue
        if term.name not in ("include", "redirect", "a", "mx") or (
            term.name == "redirect" and has_all
        ):
            continue
        if term.has_macro:
            node.children.append(SpfNode(target_of(term, domain), term.text, "macro"))
            continue
        target = target_of(term, domain)
        if term.name in ("include", "redirect"):
            if target in path or target == domain:
                node.children.append(
                    SpfNode(target, term.text, "loop", problem=f"{term.text} loops back")
                )
            elif len(path) >= MAX_DEPTH:
                node.children.append(SpfNode(target, term.text, "not_followed"))
            else:
                jobs.append(_walk(target, term.text, resolver, None, None, (*path, domain), budget))
        else:
            jobs.append(_resolve_hosts(node, term, target, resolver))
    results = await asyncio.gather(*jobs)
    node.children.extend(child for child in results if isinstance(child, SpfNode))
    return node


async def _resolve_hosts(node: SpfNode, term: Term, target: str, resolver: DnsResolver) -> None:
    """a / mx terms: note the addresses (for ranges) and void answers (for the void limit)."""
    if term.name == "a":
        hosts = [target]
    else:
        mx = await resolver.lookup(target, "MX")
        if mx.failed:
            node.failures.append(mx)
            return
        if mx.missing:
            node.own_void += 1
            return
        hosts = [normalize_host(str(r.exchange)) for r in mx.rdata][:10]
    answers = await asyncio.gather(
        *(resolver.lookup(h, rdtype) for h in hosts for rdtype in ("A", "AAAA"))
    )
    addresses = node.term_addresses.setdefault(term.text, [])
    prefix4, prefix6 = _cidr(term.value)
    for index, answer in enumerate(answers):
        ipv4 = index % 2 == 0
        if answer.failed:
            if ipv4:  # IPv4 is what the gateway's ranges are checked with
                node.failures.append(answer)
        elif answer.ok:
            for address in answer.records:
                addresses.append(address)
                prefix = prefix4 if ipv4 else prefix6
                node.networks.append(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
        elif term.name == "a" and ipv4:
            node.own_void += 1


def _cidr(value: str | None) -> tuple[int, int]:
    """The dual-cidr-length of a/mx ("a:host/24//64"): (IPv4 prefix, IPv6 prefix)."""
    if not value or "/" not in value:
        return 32, 128
    _, _, lengths = value.partition("/")
    four, _, six = lengths.partition("//")
    if lengths.startswith("/"):  # only an IPv6 length
        four, six = "", lengths[1:]
    return int(four or 32), int(six or 128)


def chain_text(chain: list[SpfNode]) -> str:
    """ "include:a.test (7) > include:b.test (6)": each step with the lookups under it."""
    return " > ".join(f"{n.via} ({n.total_lookups})" for n in chain if n.via)


def representative_addresses(networks: list[Network]) -> list[str]:
    """First and last address of each distinct range, in order (a /32 gives one address)."""
    seen: list[str] = []
    for network in networks:
        for address in (network.network_address, network.broadcast_address):
            text = str(address)
            if text not in seen:
                seen.append(text)
    return seen
