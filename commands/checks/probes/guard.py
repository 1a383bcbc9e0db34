"""The network-target guard: a host a person typed is resolved first, and every address it
resolves to is classified before any connection is made.

A name that resolves to one public and one private address is refused as a whole (DNS answers can
change between two lookups, so "the first address is public" proves nothing). The probes connect
to the addresses returned here, never to the name again, so a second lookup cannot swap in an
internal address after the check (DNS rebinding).

An IPv6 address that carries an IPv4 one (mapped, IPv4-compatible, SIIT, NAT64, 6to4, Teredo,
ISATAP) is judged by the IPv4 address inside: 64:ff9b::a9fe:a9fe is the metadata endpoint.
`classify` is the one rule for what an address is; the RFI's validators use it too, so that an
address accepted in an answer is not refused only when the checks run.

allow_private (CONNECT_ALLOW_PRIVATE_TARGETS) lets loopback, private, shared (CGNAT), link-local,
unique-local, documentation and reserved addresses through, for tests and on-premise installs.
Cloud metadata endpoints, multicast, the unspecified address and broadcast are refused even then:
no mail server lives there, and a metadata endpoint is the one target an attacker wants.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass

from commands.checks.dns.names import normalize_host
from commands.checks.dns.resolver import DnsResolver, Lookup

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata and host-agent endpoints: refused whatever the setting.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, ...
        "169.254.169.253",  # AWS VPC DNS
        "169.254.169.123",  # AWS time sync
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.170.23",  # AWS EKS pod identity
        "169.254.0.23",  # Tencent Cloud
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud (classic)
        "168.63.129.16",  # Azure wire server (a public address, so listed by hand)
        "fd00:ec2::254",  # AWS IPv6
        "fd00:ec2::23",  # AWS EKS pod identity, IPv6
    )
)

# (network, kind) in the order they are tested; the first match names the address's kind. These
# are written out in full (the IANA special-purpose registries) rather than left to Python's
# is_global/is_private, whose answers changed between 3.11 and 3.13 (2002::/16, 3fff::/20,
# 64:ff9b:1::/48 and 2001::/23's exceptions among them): the rule must not depend on the runtime.
_V4_RANGES: tuple[tuple[ipaddress.IPv4Network, str], ...] = tuple(
    (ipaddress.IPv4Network(net), kind)
    for net, kind in (
        ("0.0.0.0/32", "unspecified"),
        ("0.0.0.0/8", "reserved"),  # "this network"
        ("127.0.0.0/8", "loopback"),
        ("10.0.0.0/8", "private"),
        ("172.16.0.0/12", "private"),
        ("192.168.0.0/16", "private"),
        ("100.64.0.0/10", "shared"),  # carrier-grade NAT
        ("169.254.0.0/16", "link-local"),
        ("192.0.0.0/24", "reserved"),  # IETF protocol assignments
        ("192.0.2.0/24", "documentation"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("192.88.99.0/24", "reserved"),  # former 6to4 relay anycast
        ("198.18.0.0/15", "reserved"),  # benchmarking
        ("224.0.0.0/4", "multicast"),
        ("255.255.255.255/32", "broadcast"),
        ("240.0.0.0/4", "reserved"),
    )
)
_V6_RANGES: tuple[tuple[ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.IPv6Network(net), kind)
    for net, kind in (
        ("100::/64", "reserved"),  # discard-only
        ("2001:db8::/32", "documentation"),
        ("2001::/23", "reserved"),  # IETF protocol assignments (Teredo, ORCHID, benchmarking...)
        ("3fff::/20", "documentation"),
        ("5f00::/16", "reserved"),  # SRv6 segment identifiers
        ("fc00::/7", "private"),  # unique local
        ("fe80::/10", "link-local"),
        ("fec0::/10", "private"),  # deprecated site-local
        ("ff00::/8", "multicast"),
    )
)
_V6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_OUTSIDE_UNICAST = "outside 2000::/3, the IPv6 unicast space in use"

# IPv6 forms that carry an IPv4 address. Connecting to one can reach that IPv4 address (through
# the kernel, a NAT64 or a tunnel), so each is judged first by the IPv4 address it carries: the
# worst of its candidates names its kind. When all it carries is public, `when_public` decides:
# "public" for the forms that stand for the IPv4 address itself (mapped; NAT64 well-known prefix,
# which DNS64 answers with on IPv6-only hosts), "ranges" for ordinary global addresses that may
# carry one (6to4, ISATAP), "reserved" for the rest: deprecated (IPv4-compatible, SIIT), a tunnel
# (Teredo), or local-use NAT64. Its prefix length only the local operator knows, so every RFC 6052
# decoding is a candidate, but not a certain one: a candidate counts only when its kind is refused
# even with CONNECT_ALLOW_PRIVATE_TARGETS (a metadata endpoint), and 0.0.0.0 never (the zero bits
# of a /96 address read with a shorter prefix); otherwise the whole /48 is reserved.
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_COMPATIBLE = ipaddress.IPv6Network("::/96")
_SIIT = ipaddress.IPv6Network("::ffff:0:0:0/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_TEREDO = ipaddress.IPv6Network("2001::/32")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")
_ISATAP_IDS = (0x00005EFE, 0x02005EFE)  # interface id 0:5efe:a.b.c.d or 200:5efe:a.b.c.d
# Where an RFC 6052 prefix of each length that fits in the /48 puts the IPv4 address's bits,
# as (first bit, bit count) pairs; bits 64-71 are the "u" octet, never part of it.
_NAT64_LOCAL_BITS = (
    ((48, 16), (72, 16)),  # /48
    ((56, 8), (72, 24)),  # /56
    ((72, 32),),  # /64
    ((96, 32),),  # /96
)


@dataclass(frozen=True)
class _Carried:
    form: str  # "6to4", "NAT64", ...
    network: str  # where the form lives
    ipv4: ipaddress.IPv4Address
    when_public: str  # "public" | "ranges" | "reserved": see above
    certain: bool = True  # False: one of several decodings (local-use NAT64)


def _bits(value: int, first: int, count: int) -> int:
    """`count` bits of a 128-bit value from bit `first` (bit 0 is the most significant)."""
    return (value >> (128 - first - count)) & ((1 << count) - 1)


def _carried(address: ipaddress.IPv6Address) -> list[_Carried]:
    """Every IPv4 address this IPv6 address carries, with the form that carries it."""
    value = int(address)
    low = ipaddress.IPv4Address(value & 0xFFFFFFFF)
    found: list[_Carried] = []
    if address in _MAPPED:
        found.append(_Carried("IPv4-mapped", str(_MAPPED), low, "public"))
    elif address in _COMPATIBLE:  # :: and ::1 are classified before this is asked
        found.append(_Carried("IPv4-compatible", str(_COMPATIBLE), low, "reserved"))
    elif address in _SIIT:
        found.append(_Carried("SIIT", str(_SIIT), low, "reserved"))
    elif address in _NAT64:
        found.append(_Carried("NAT64", str(_NAT64), low, "public"))
    elif address in _NAT64_LOCAL:
        for parts in _NAT64_LOCAL_BITS:
            packed = 0
            for first, count in parts:
                packed = (packed << count) | _bits(value, first, count)
            decoded = ipaddress.IPv4Address(packed)
            found.append(
                _Carried("local-use NAT64", str(_NAT64_LOCAL), decoded, "reserved", certain=False)
            )
    elif address in _TEREDO and address.teredo is not None:
        for ipv4 in address.teredo:  # the server, then the client (Python undoes the inversion)
            found.append(_Carried("Teredo", str(_TEREDO), ipv4, "reserved"))
    elif address in _SIX_TO_FOUR and address.sixtofour is not None:
        found.append(_Carried("6to4", str(_SIX_TO_FOUR), address.sixtofour, "ranges"))
    if _bits(value, 64, 32) in _ISATAP_IDS:
        found.append(_Carried("ISATAP", "interface id 0:5efe or 200:5efe", low, "ranges"))
    return found


# Kinds that CONNECT_ALLOW_PRIVATE_TARGETS lets through.
ALLOWED_WHEN_PRIVATE = frozenset(
    {"loopback", "private", "shared", "link-local", "documentation", "reserved"}
)

_WHY = {
    "metadata": "is a cloud metadata endpoint",
    "unspecified": "is the unspecified address",
    "loopback": "is a loopback address (this machine)",
    "private": "is a private address",
    "shared": "is in the carrier-grade NAT shared range (100.64.0.0/10)",
    "link-local": "is a link-local address",
    "documentation": "is a documentation address (not routable)",
    "multicast": "is a multicast address",
    "broadcast": "is the broadcast address",
    "reserved": "is in a reserved range",
}


class TargetRefused(Exception):
    """The target may not be probed; str() says which address and why (never a secret)."""

    def __init__(self, host: str, reason: str, addresses: tuple[IPAddress, ...] = ()) -> None:
        super().__init__(reason)
        self.host = host
        self.reason = reason
        self.addresses = addresses


class TargetUnresolved(Exception):
    """The name gave no address: `lookups` say whether it does not exist or DNS did not answer."""

    def __init__(self, host: str, reason: str, lookups: tuple[Lookup, ...], timeout: bool) -> None:
        super().__init__(reason)
        self.host = host
        self.reason = reason
        self.lookups = lookups
        self.timeout = timeout  # True: no answer could be had (unknown), not "does not exist"


@dataclass(frozen=True)
class Target:
    """A host cleared for probing: connect to `addresses`, verify TLS against `host`."""

    host: str  # the name as normalised, or the IP literal
    addresses: tuple[IPAddress, ...]
    is_literal: bool = False

    def describe(self) -> str:
        if self.is_literal:
            return self.host
        return f"{self.host} ({', '.join(str(a) for a in self.addresses)})"


@dataclass(frozen=True)
class AddressClass:
    """Why an address is not an ordinary public one: the one rule for the probes (`refusal`) and
    for the RFI's answers (commands/rfi/validators/addresses.py), so both judge an address alike."""

    kind: str  # a key of _WHY: "loopback", "metadata", "reserved", ...
    network: str  # the range that decided it: "10.0.0.0/8", "2002::/16", ...
    form: str | None = None  # for an IPv6 form judged by the IPv4 address inside: "6to4", ...
    carried: ipaddress.IPv4Address | None = None  # that IPv4 address


def _severity(found: AddressClass) -> tuple[bool, bool]:
    # Kinds refused even with CONNECT_ALLOW_PRIVATE_TARGETS first, a metadata endpoint first of all.
    return found.kind in ALLOWED_WHEN_PRIVATE, found.kind != "metadata"


def classify(address: IPAddress) -> AddressClass | None:
    """The class of a non-public address, None for an ordinary public one."""
    if address in METADATA_ADDRESSES:
        return AddressClass("metadata", "cloud metadata endpoints")
    if isinstance(address, ipaddress.IPv4Address):
        for net4, kind in _V4_RANGES:
            if address in net4:
                return AddressClass(kind, str(net4))
        return None
    if int(address) <= 1:  # :: and ::1, before ::/96 reads them as IPv4-compatible
        kind = "unspecified" if int(address) == 0 else "loopback"
        return AddressClass(kind, f"{address}/128")
    carried = _carried(address)
    judged = [
        (c, found)
        for c in carried
        if (found := classify(c.ipv4)) is not None
        and (c.certain or (found.kind not in ALLOWED_WHEN_PRIVATE and found.kind != "unspecified"))
    ]
    if judged:
        worst, found = min(judged, key=lambda pair: _severity(pair[1]))
        return AddressClass(found.kind, worst.network, worst.form, worst.ipv4)
    if carried and all(c.when_public == "public" for c in carried):
        return None  # it stands for the public IPv4 address inside
    for c in carried:
        if c.when_public == "reserved":
            return AddressClass("reserved", c.network, c.form)
    for net6, kind in _V6_RANGES:
        if address in net6:
            return AddressClass(kind, str(net6))
    if address not in _V6_GLOBAL_UNICAST:
        return AddressClass("reserved", _OUTSIDE_UNICAST)
    return None


def address_kind(address: IPAddress) -> str | None:
    """The kind of a non-public address ("loopback", "metadata", ...), None for a public one."""
    found = classify(address)
    return found.kind if found is not None else None


def describe(address: IPAddress, found: AddressClass, why: str) -> str:
    """`address` and why it is refused, naming the IPv4 address a form carries."""
    if found.carried is not None:
        return f"{address} is the {found.form} form of {found.carried}, which {why}"
    if found.form is not None:
        return f"{address} ({found.form}, {found.network}) {why}"
    return f"{address} {why}"


def refusal(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why `address` may not be probed, or None when it may."""
    found = classify(address)
    if found is None or (allow_private and found.kind in ALLOWED_WHEN_PRIVATE):
        return None
    text = describe(address, found, _WHY[found.kind])
    if found.kind in ALLOWED_WHEN_PRIVATE:
        text += " (probing it needs CONNECT_ALLOW_PRIVATE_TARGETS)"
    else:
        text += ", never probed"
    return text


def parse_ip(text: str) -> IPAddress | None:
    """An IP literal ("192.0.2.1", "::1", "[::1]"), None when the text is not one."""
    candidate = text.strip()
    if candidate.startswith("[") and candidate.endswith("]"):
        candidate = candidate[1:-1]
    try:
        return ipaddress.ip_address(candidate)
    except ValueError:
        return None


def _check_all(host: str, addresses: tuple[IPAddress, ...], allow_private: bool) -> None:
    reasons = [r for a in addresses if (r := refusal(a, allow_private=allow_private))]
    if reasons:
        # An IP literal speaks for itself; a name says which of its addresses was refused.
        literal = len(addresses) == 1 and str(addresses[0]) == host
        prefix = "" if literal else f"{host} resolves to "
        raise TargetRefused(host, prefix + "; ".join(reasons), addresses)


async def resolve_target(host: str, resolver: DnsResolver, *, allow_private: bool) -> Target:
    """Resolve `host` (a name or an IP literal) and clear every address it has.

    Raises TargetRefused (an address is not allowed) or TargetUnresolved (no address).
    """
    literal = parse_ip(host)
    if literal is not None:
        if isinstance(literal, ipaddress.IPv6Address) and literal.ipv4_mapped is not None:
            literal = literal.ipv4_mapped
        _check_all(str(literal), (literal,), allow_private)
        return Target(str(literal), (literal,), is_literal=True)
    name = normalize_host(host)
    lookups = await asyncio.gather(resolver.lookup(name, "A"), resolver.lookup(name, "AAAA"))
    addresses: list[IPAddress] = []
    for lookup in lookups:
        if lookup.ok:
            for record in lookup.records:
                address = parse_ip(record)
                if address is not None and address not in addresses:
                    addresses.append(address)
    if not addresses:
        timeout = any(lookup.failed for lookup in lookups)
        if timeout:
            reason = f"{name} could not be resolved: " + "; ".join(
                lookup.describe() for lookup in lookups if lookup.failed
            )
        else:
            reason = f"{name} has no address (no A or AAAA record)"
        raise TargetUnresolved(name, reason, tuple(lookups), timeout)
    _check_all(name, tuple(addresses), allow_private)
    return Target(name, tuple(addresses))
