"""IP addresses: the outbound IPs answer, and the address policy that forwarding hosts share.

Address policy (outbound IPs and IP literals among the forwarding hosts): an address is classified
by the probes' guard (`commands.checks.probes.guard.classify`), the one rule for both, so an answer
accepted here is not refused when the checks run. Refused with the reason are cloud metadata
endpoints, private (RFC 1918, fc00::/7, fec0::/10), loopback, link-local, shared CGNAT
(100.64.0.0/10), multicast, unspecified, documentation (192.0.2.0/24, 198.51.100.0/24,
203.0.113.0/24, 2001:db8::/32, 3fff::/20) and other reserved ranges (0.0.0.0/8, 240.0.0.0/4, IETF
protocol assignments, benchmarking, 5f00::/16, IPv6 outside 2000::/3), and an IPv6 form that
carries such an IPv4 address (mapped, IPv4-compatible, SIIT, NAT64, 6to4, Teredo, ISATAP; the
deprecated IPv4-compatible and SIIT forms, Teredo and local-use NAT64 64:ff9b:1::/48 even when
what they carry is public).
`allow_private=True` (the CONNECT_ALLOW_PRIVATE_TARGETS setting) accepts private, loopback,
shared and link-local addresses, the ones that exist inside a site; metadata, documentation,
multicast, unspecified and reserved addresses stay refused, since no real host has them.
"""

from __future__ import annotations

import ipaddress
import re

from pydantic import ConfigDict, IPvAnyAddress, field_validator

from commands.checks.probes import guard
from commands.rfi.validators.common import (
    MAX_VALUES,
    Answer,
    Invalid,
    Parsed,
    dedupe,
    is_none,
    prepare,
    quote,
    split_answer,
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# The examples' addresses come from IANA's AS112 sink (RFC 7534): public, so the validator takes
# them as a customer's own address would be taken, yet they answer only stray DNS queries and no
# mail server sends from them. The documentation ranges (RFC 5737, RFC 3849) would be refused, and
# any other public address is someone's real server. An answer that copies them is told so.
EXAMPLE_IPS = "192.175.48.1, 2620:4f:8000::1"
_EXAMPLE_NETWORKS = (
    ipaddress.ip_network("192.175.48.0/24"),
    ipaddress.ip_network("2620:4f:8000::/48"),
)


def example_note(address: IPAddress) -> str | None:
    """A note when an answer gives one of the examples' addresses, which no mail server has."""
    if any(address in network for network in _EXAMPLE_NETWORKS):
        return (
            f"{address} is an example address (the AS112 DNS sink, RFC 7534): no mail server "
            "has it. Replace it with your own."
        )
    return None


# One address that sends outbound mail through the gateway.
class OutboundIP(Answer):
    model_config = ConfigDict(frozen=True)

    address: IPvAnyAddress

    @field_validator("address", mode="after")
    @classmethod
    def _unmap(cls, value: IPAddress) -> IPAddress:
        # ::ffff:192.175.48.1 is 192.175.48.1: one form, so that stored values compare alike.
        if isinstance(value, ipaddress.IPv6Address) and value.ipv4_mapped is not None:
            return value.ipv4_mapped
        return value

    def display(self) -> str:
        return str(self.address)


_KIND_REASONS: dict[str, str] = {
    "metadata": "is a cloud metadata endpoint, not a mail server",
    "private": "is a private address, used only inside a network",
    "loopback": "is a loopback address: it means 'this machine' to whoever uses it",
    "link-local": "is a link-local address, valid only on one network segment",
    "shared": (
        "is in the shared address space 100.64.0.0/10 that internet providers use behind "
        "carrier-grade NAT"
    ),
    "multicast": "is a multicast address, not the address of one server",
    "unspecified": "is the unspecified address, which stands for 'no address'",
    "documentation": "is reserved for documentation and examples, so no real server has it",
    "reserved": "is in a reserved range that is not used on the Internet",
    "broadcast": "is the broadcast address, not the address of one server",
}
# What an answer may hold with CONNECT_ALLOW_PRIVATE_TARGETS: addresses that exist inside a site.
# A subset of what the probes then accept, so an accepted answer is never refused by the checks.
_ALLOWED_WHEN_PRIVATE = guard.ALLOWED_WHEN_PRIVATE - {"documentation", "reserved"}


def check_policy(address: IPAddress, allow_private: bool, advice: str, example: str) -> None:
    """Invalid, with the reason and `advice`, for an address the gateway must not be given.

    The probes' classification (commands/probes/guard.py), so both judge an address alike.
    """
    found = guard.classify(address)
    if found is None:
        return
    if allow_private and found.kind in _ALLOWED_WHEN_PRIVATE:
        return
    reason = _KIND_REASONS[found.kind]
    if found.form is None and found.kind != "metadata":  # a form names its range itself
        reason = f"{reason} ({found.network})"
    raise Invalid(f"{guard.describe(address, found, reason)}. {advice}", example)


_DOTTED_QUAD = re.compile(r"\d+(?:\.\d+){3}")
_RANGE_DASH = re.compile(r"[0-9A-Fa-f:.]+\s*[-\u2013]\s*[0-9A-Fa-f:.]+")


def ip_literal(token: str, example: str) -> IPAddress | None:
    """The address a token spells, None when it does not look like an address at all.

    Raises Invalid for something that is clearly meant as an address but is wrong.
    """
    if "%" in token:
        raise Invalid(
            f"{quote(token)} has a zone index (%...), which only means something on one "
            "machine; give the address without it.",
            example,
        )
    if _DOTTED_QUAD.fullmatch(token):
        parts = token.split(".")
        if any(len(p) > 1 and p.startswith("0") for p in parts):
            fixed = ".".join(str(int(p)) for p in parts)
            raise Invalid(
                f"{quote(token)} has numbers with leading zeros, which some systems read as "
                f"octal; write it as {fixed} if that is what you mean.",
                example,
            )
        if any(int(p) > 255 for p in parts):
            raise Invalid(
                f"{quote(token)} is not an IPv4 address: each of the four numbers is 0 to 255.",
                example,
            )
    try:
        address = ipaddress.ip_address(token)
    except ValueError:
        if token.count(":") >= 2 and re.fullmatch(r"[0-9A-Fa-f:.]+", token):
            raise Invalid(f"{quote(token)} is not a valid IPv6 address.", example) from None
        if re.fullmatch(r"[\d.]+", token) and "." in token:
            raise Invalid(
                f"{quote(token)} is not a valid IPv4 address: it has four numbers 0 to 255 "
                "separated by dots, like 192.175.48.1.",
                example,
            ) from None
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_plain_ip(token: str) -> bool:
    """Whether the whole token is an IP address, as written (no brackets, port or zone)."""
    try:
        ipaddress.ip_address(token)
    except ValueError:
        return False
    return True


_DYNAMIC = re.compile(r"\b(dynamic|dhcp|not\s+static|no\s+static|changes|changing)\b", re.I)
_DYNAMIC_ADVICE = (
    "dynamic addresses cannot be authorised: the gateway only accepts mail from fixed addresses. "
    "A static address is needed, from your internet provider, or send through a smart host "
    "that has one."
)


def outbound_ips(text: str, *, allow_private: bool = False) -> Parsed[OutboundIP]:
    """The public IPv4/IPv6 addresses of the servers that send outbound mail through the gateway."""
    example = EXAMPLE_IPS
    cleaned, notes = prepare(text, example)
    if is_none(cleaned):
        raise Invalid(
            "No address given: list the public IP address of each server that will send "
            "outbound mail through the gateway.",
            example,
        )
    dynamic_mentioned = False
    found: list[IPAddress] = []
    for item in split_answer(cleaned, "IP addresses", example):
        if _DYNAMIC.search(item):
            addresses = [w for w in item.split() if _looks_addressy(w)]
            if addresses:
                raise Invalid(
                    f"{quote(item)} is marked as dynamic: {_DYNAMIC_ADVICE}",
                    example,
                )
            dynamic_mentioned = True
            continue
        for word in item.split():
            found.append(_outbound_ip(word, example, notes))
            if len(found) > MAX_VALUES:
                raise Invalid(
                    f"The answer lists more than {MAX_VALUES} addresses; at most {MAX_VALUES} "
                    "fit in one answer. Send the rest in another reply.",
                    example,
                )
    if dynamic_mentioned:
        if not found:
            raise Invalid(f"No address given: {_DYNAMIC_ADVICE}", example)
        notes.append(f"A dynamic address was mentioned and left out: {_DYNAMIC_ADVICE}")
    advice = (
        "Give the public address that your mail server sends from (the address your firewall "
        "translates it to)."
    )
    for address in found:
        check_policy(address, allow_private, advice, example)
        if (note := example_note(address)) is not None:
            notes.append(note)
    values = [OutboundIP(address=address) for address in found]
    kept, dup_notes = dedupe(values, lambda v: v.address, lambda v: v.display())
    return Parsed(tuple(kept), tuple(notes + dup_notes))


def _looks_addressy(word: str) -> bool:
    """Whether a word looks like an address or a range (digits, dots, colons, a /prefix)."""
    return bool(re.fullmatch(r"\[?[0-9A-Fa-f:.]*\d[0-9A-Fa-f:.]*\]?(/\d+)?", word))


def _outbound_ip(word: str, example: str, notes: list[str]) -> IPAddress:
    """One outbound address: a single address, not a range, a port, a host or an email."""
    token = word
    if token.startswith("[") and token.endswith("]"):
        token = token[1:-1]
    if "*" in token or _RANGE_DASH.fullmatch(token):
        raise Invalid(
            f"{quote(word)} is a range; authorised outbound addresses are single addresses, "
            "so list each address that sends mail.",
            example,
        )
    if "/" in token:
        try:
            network = ipaddress.ip_network(token, strict=False)
        except ValueError:
            raise Invalid(
                f"{quote(word)} is not an IP address or a valid range; list single addresses.",
                example,
            ) from None
        if network.num_addresses == 1:
            notes.append(f"Read {token} as the single address {network.network_address}.")
            return _outbound_ip(str(network.network_address), example, notes)
        raise Invalid(
            f"{quote(word)} is a range of {network.num_addresses:,} addresses; authorised "
            "outbound addresses are single addresses, so list each address that sends mail.",
            example,
        )
    if re.fullmatch(r"\d+(?:\.\d+){3}:\d+", token) or re.fullmatch(r"\[[0-9A-Fa-f:.]+\]:\d+", word):
        raise Invalid(
            f"{quote(word)} has a port; an outbound address is just the IP address.",
            example,
        )
    address = ip_literal(token, example)
    if isinstance(address, ipaddress.IPv4Address) and ":" in token:
        notes.append(f"{token} is the IPv4 address {address} written as IPv6; stored as {address}.")
    if address is None:
        if "@" in token:
            raise Invalid(
                f"{quote(word)} is an email address; give the IP address of the server that "
                "sends the mail.",
                example,
            )
        if re.fullmatch(r"[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\.?", token):
            raise Invalid(
                f"{quote(word)} is a host name; the gateway authorises IP addresses. Give the "
                "public IP address it sends from.",
                example,
            )
        raise Invalid(f"{quote(word)} is not an IP address.", example)
    return address
