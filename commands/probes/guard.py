"""The network-target guard: a host a person typed is resolved first, and every address it
resolves to is classified before any connection is made.

A name that resolves to one public and one private address is refused as a whole (DNS answers can
change between two lookups, so "the first address is public" proves nothing). The probes connect
to the addresses returned here, never to the name again, so a second lookup cannot swap in an
internal address after the check (DNS rebinding).

allow_private (CONNECT_ALLOW_PRIVATE_TARGETS) lets loopback, private, shared (CGNAT), link-local,
unique-local and documentation addresses through, for tests and on-premise installs. Cloud
metadata endpoints, multicast, the unspecified address and broadcast are refused even then: no
mail server lives there, and a metadata endpoint is the one target an attacker wants.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass

from commands.dns.names import normalize_host
from commands.dns.resolver import DnsResolver, Lookup

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

# (network, kind) in the order they are tested; the first match names the address's kind.
_RANGES: tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.ip_network(net), kind)
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
        ("198.18.0.0/15", "reserved"),  # benchmarking
        ("224.0.0.0/4", "multicast"),
        ("255.255.255.255/32", "broadcast"),
        ("240.0.0.0/4", "reserved"),
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("fc00::/7", "private"),  # unique local
        ("fe80::/10", "link-local"),
        ("fec0::/10", "link-local"),  # deprecated site-local
        ("ff00::/8", "multicast"),
        ("2001:db8::/32", "documentation"),
        ("100::/64", "reserved"),  # discard-only
    )
)

# Kinds that CONNECT_ALLOW_PRIVATE_TARGETS lets through.
_ALLOWED_WHEN_PRIVATE = frozenset(
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


def _embedded_v4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, NAT64, 6to4): judged as that address."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in ipaddress.IPv6Network("64:ff9b::/96"):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    return None


def address_kind(address: IPAddress) -> str | None:
    """The kind of a non-public address ("loopback", "metadata", ...), None for a public one."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_v4(address)
        if inner is not None:
            return address_kind(inner)
    if address in METADATA_ADDRESSES:
        return "metadata"
    for network, kind in _RANGES:
        if address.version == network.version and address in network:
            return kind
    if not address.is_global:
        return "reserved"
    return None


def refusal(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why `address` may not be probed, or None when it may."""
    kind = address_kind(address)
    if kind is None or (allow_private and kind in _ALLOWED_WHEN_PRIVATE):
        return None
    text = f"{address} {_WHY[kind]}"
    if kind in _ALLOWED_WHEN_PRIVATE:
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
