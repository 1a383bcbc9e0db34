"""Validators for the RFI answers: text a person typed in, typed values (or a reason) out.

Every public function takes the text of one answer (already unescaped from Slack's `&amp;`,
`&lt;`, `&gt;`) and returns a `Parsed` of frozen pydantic values, or raises `Invalid` with a
plain-text problem (what exactly is wrong) and an example of a good answer. Nothing here touches
Slack, the store or the network (no DNS): the checks do that later.

Shared rules for all answers:

- the text is capped at `MAX_TEXT_CHARS` characters and `MAX_VALUES` values;
- control characters (NUL and the like) and lone surrogates are refused; invisible formatting
  characters (zero-width space, word joiner, byte-order mark, soft hyphen, bidi controls) are
  removed with a note; any Unicode space counts as a space and any Unicode line break as a line;
- Slack's link syntax `<mailto:jane@acme.com|jane@acme.com>` / `<http://acme.com|acme.com>` /
  `<http://acme.com>` is unwrapped to the text the person typed.

Address policy (outbound IPs and IP literals among the forwarding hosts): an address is classified
by the probes' guard (`commands.probes.guard.classify`), the one rule for both, so an answer
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

Names (domains, host names): a public ICANN suffix from the bundled Public Suffix List is required
(so `acme.local`, `acme.corp` and bare suffixes such as `co.uk` are refused), except that the
testing names of RFC 2606/6761, `.example` and `.test`, count as public suffixes, so that tests
can use `acme.example` and `mail.acme.test` without ever naming a real domain. With
`allow_private=True`, forwarding host names may be any syntactically valid name (`localhost`,
`exchange01`, `mail.acme.lan`).
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar
from urllib.parse import urlsplit

import idna
from email_validator import EmailNotValidError, validate_email
from publicsuffixlist import PublicSuffixList
from pydantic import BaseModel, ConfigDict, Field, IPvAnyAddress, field_validator, model_validator

from commands.probes import guard

__all__ = [
    "EXCHANGE_VERSIONS",
    "MAX_TEXT_CHARS",
    "MAX_VALUES",
    "Contact",
    "Domain",
    "Host",
    "Invalid",
    "OutboundIP",
    "Parsed",
    "Platform",
    "contacts",
    "contacts_complete",
    "directory_type",
    "domains",
    "forwarding_hosts",
    "journaling_method",
    "outbound_ips",
    "platform",
    "previous_provider",
    "split_values",
]

MAX_TEXT_CHARS = 20_000
MAX_VALUES = 500

T = TypeVar("T")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


# --------------------------------------------------------------------------- results


class Invalid(ValueError):
    """What is wrong with an answer: `problem` says exactly what, `example` is a good answer."""

    def __init__(self, problem: str, example: str) -> None:
        super().__init__(problem, example)
        self.problem = problem
        self.example = example

    def __str__(self) -> str:
        return self.problem


@dataclass(frozen=True)
class Parsed(Generic[T]):
    """An accepted answer: its values (normalised, de-duplicated, in the order given) and notes."""

    values: tuple[T, ...]
    notes: tuple[str, ...] = ()


# --------------------------------------------------------------------------- value types

Role = Literal["primary", "technical", "billing"]
PlatformKind = Literal["exchange", "m365", "google", "domino", "other"]
EXCHANGE_VERSIONS = ("2003", "2007", "2010", "2013", "2016", "2019", "SE")

_PLATFORM_NAMES = {
    "exchange": "Exchange",
    "m365": "Microsoft 365",
    "google": "Google Workspace",
    "domino": "Lotus Domino",
    "other": "Other",
}


class Contact(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    email: str
    role: Role
    phone: str | None = None

    def display(self) -> str:
        text = f"{self.name} <{self.email}>, {self.role}"
        return f"{text}, {self.phone}" if self.phone else text


class OutboundIP(BaseModel):
    model_config = ConfigDict(frozen=True)

    address: IPvAnyAddress

    @field_validator("address", mode="after")
    @classmethod
    def _unmap(cls, value: IPAddress) -> IPAddress:
        if isinstance(value, ipaddress.IPv6Address) and value.ipv4_mapped is not None:
            return value.ipv4_mapped
        return value

    def display(self) -> str:
        return str(self.address)


class Domain(BaseModel):
    model_config = ConfigDict(frozen=True)

    ascii: str = Field(description="IDNA A-label form, lowercase, no trailing dot")
    unicode: str = Field(description="IDNA U-label form")

    def display(self) -> str:
        if self.unicode != self.ascii:
            return f"{self.unicode} ({self.ascii})"
        return self.ascii


class Host(BaseModel):
    model_config = ConfigDict(frozen=True)

    host: str = Field(description="A-label host name or IP literal, normalised")
    port: int | None = Field(default=None, ge=1, le=65535)

    def display(self) -> str:
        if self.port is None:
            return self.host
        if ":" in self.host:
            return f"[{self.host}]:{self.port}"
        return f"{self.host}:{self.port}"


class Platform(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: PlatformKind
    version: str | None = None
    detail: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> Platform:
        if self.kind == "exchange" and self.version not in EXCHANGE_VERSIONS:
            raise ValueError(f"Exchange needs a version, one of {', '.join(EXCHANGE_VERSIONS)}")
        if self.kind == "other" and not self.detail:
            raise ValueError("an 'other' platform needs a detail saying what it is")
        return self

    def display(self) -> str:
        name = _PLATFORM_NAMES[self.kind]
        if self.kind == "other":
            return f"{name}: {self.detail}"
        if self.version:
            name = f"{name} {self.version}"
        return f"{name} ({self.detail})" if self.detail else name


# --------------------------------------------------------------------------- examples

EXAMPLE_CONTACTS = (
    "Jane Smith, jane@acme.com, primary, +44 20 7946 0000\nRaj Patel <raj@acme.com> technical"
)
EXAMPLE_IPS = "81.2.69.160, 81.2.69.161"
EXAMPLE_DOMAINS = "acme.com, acme.co.uk"
EXAMPLE_HOSTS = "mail.acme.com, mail2.acme.com:2525"
EXAMPLE_PLATFORM = "Exchange 2019"
EXAMPLE_PROVIDER = "Proofpoint (or none)"
EXAMPLE_JOURNALING = "SMTP"
EXAMPLE_DIRECTORY = "Active Directory"


# --------------------------------------------------------------------------- shared text handling

_LINE_BREAKS = re.compile(r"\r\n|[\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
_SPLIT = re.compile(r"[\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029,;]")
# Invisible formatting characters that copy and paste brings along and nobody means to type.
_INVISIBLE = frozenset(
    "\u00ad\u061c\u180e\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff"
)
# Slack's link syntax: <url|label> or <url>. Mentions (<@U1>, <#C1|x>, <!here>) have no scheme.
_SLACK_LINK = re.compile(r"<([A-Za-z][A-Za-z0-9+.\-]*:[^<>|\s]*)(?:\|([^<>]*))?>")


def split_values(text: str) -> list[str]:
    """The shared splitter: one value per line or comma/semicolon separated, trimmed, no empties."""
    return [item.strip() for item in _SPLIT.split(text) if item.strip()]


def _quote(text: str, limit: int = 60) -> str:
    """A piece of user text for a message: shortened, with unprintable characters made visible."""
    shown = "".join(
        ch if ch == " " or ch.isprintable() else f"\\u{ord(ch):04X}" for ch in text[: limit + 1]
    )
    if len(text) > limit:
        shown = shown[:limit] + "…"
    return f'"{shown}"'


def _char_name(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X} {name}".strip() if name else f"U+{ord(ch):04X}"


def _unwrap_link(match: re.Match[str]) -> str:
    url, label = match.group(1), match.group(2)
    if label and label.strip():
        return label
    if url.lower().startswith("mailto:"):
        return url[len("mailto:") :]
    return url


def _prepare(text: str, example: str) -> tuple[str, list[str]]:
    """Clean one answer: cap, refuse control characters, drop invisibles, unwrap Slack links."""
    if len(text) > MAX_TEXT_CHARS:
        raise Invalid(
            f"The answer is {len(text):,} characters long; the limit is {MAX_TEXT_CHARS:,}. "
            "Send it in several replies, or only the values asked for.",
            example,
        )
    notes: list[str] = []
    text = _LINE_BREAKS.sub("\n", text)
    removed = 0
    out: list[str] = []
    line = 1
    for ch in text:
        if ch == "\n":
            line += 1
            out.append(ch)
        elif ch in _INVISIBLE:
            removed += 1
        elif ch == "\t":
            out.append(ch)
        elif ch.isspace():
            out.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cs"):
            where = f" on line {line}" if "\n" in text else ""
            raise Invalid(
                f"The answer contains a control character ({_char_name(ch)}){where}, which cannot "
                "be part of any answer. Type the answer again, or paste it as plain text.",
                example,
            )
        else:
            out.append(ch)
    if removed:
        what = "character" if removed == 1 else "characters"
        notes.append(f"Removed {removed} invisible {what} (such as zero-width spaces).")
    cleaned = unicodedata.normalize("NFC", "".join(out))
    cleaned = _SLACK_LINK.sub(_unwrap_link, cleaned)
    return cleaned, notes


def _items(text: str, what: str, example: str, *, words: bool = False) -> list[str]:
    """Split an answer into values (and each value on spaces too when `words`), within the cap."""
    items = split_values(text)
    if words:
        items = [word for item in items for word in item.split()]
    if not items:
        raise Invalid(f"The answer has no {what} in it.", example)
    if len(items) > MAX_VALUES:
        raise Invalid(
            f"The answer lists {len(items):,} {what}; at most {MAX_VALUES} fit in one answer. "
            "Send the rest in another reply.",
            example,
        )
    return items


def _listing(values: Iterable[str], limit: int = 10) -> str:
    shown = list(values)
    text = ", ".join(shown[:limit])
    if len(shown) > limit:
        text += f" and {len(shown) - limit} more"
    return text


def _dedupe(
    values: Iterable[T], key: Callable[[T], object], label: Callable[[T], str]
) -> tuple[list[T], list[str]]:
    """Drop repeats, keeping the first; a single note lists what was repeated."""
    first: dict[object, str] = {}
    kept: list[T] = []
    repeated: list[str] = []
    for value in values:
        k = key(value)
        if k in first:
            if first[k] not in repeated:
                repeated.append(first[k])
            continue
        first[k] = label(value)
        kept.append(value)
    notes = [f"Listed more than once, kept once: {_listing(repeated)}."] if repeated else []
    return kept, notes


def _squash(text: str) -> str:
    return " ".join(text.split())


_NONE_WORDS = frozenset(
    {
        "none",
        "no",
        "n/a",
        "na",
        "nope",
        "nothing",
        "nobody",
        "no one",
        "not applicable",
        "-",
        "--",
        "—",
        "no provider",
        "none yet",
        "no gateway",
        "no previous provider",
        "none so far",
    }
)


def _is_none(text: str) -> bool:
    return _squash(text).lower().strip(" .!") in _NONE_WORDS or _squash(text) in {"-", "--", "—"}


# --------------------------------------------------------------------------- IP addresses

_KIND_REASONS = {
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


def _check_policy(address: IPAddress, allow_private: bool, advice: str, example: str) -> None:
    # The probes' classification (commands/probes/guard.py), so both judge an address alike.
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


def _ip_literal(token: str, example: str) -> IPAddress | None:
    """The address a token spells, None when it does not look like an address at all.

    Raises Invalid for something that is clearly meant as an address but is wrong.
    """
    if "%" in token:
        raise Invalid(
            f"{_quote(token)} has a zone index (%...), which only means something on one "
            "machine; give the address without it.",
            example,
        )
    if _DOTTED_QUAD.fullmatch(token):
        parts = token.split(".")
        if any(len(p) > 1 and p.startswith("0") for p in parts):
            fixed = ".".join(str(int(p)) for p in parts)
            raise Invalid(
                f"{_quote(token)} has numbers with leading zeros, which some systems read as "
                f"octal; write it as {fixed} if that is what you mean.",
                example,
            )
        if any(int(p) > 255 for p in parts):
            raise Invalid(
                f"{_quote(token)} is not an IPv4 address: each of the four numbers is 0 to 255.",
                example,
            )
    try:
        address = ipaddress.ip_address(token)
    except ValueError:
        if token.count(":") >= 2 and re.fullmatch(r"[0-9A-Fa-f:.]+", token):
            raise Invalid(f"{_quote(token)} is not a valid IPv6 address.", example) from None
        if re.fullmatch(r"[\d.]+", token) and "." in token:
            raise Invalid(
                f"{_quote(token)} is not a valid IPv4 address: it has four numbers 0 to 255 "
                "separated by dots, like 81.2.69.160.",
                example,
            ) from None
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


_DYNAMIC = re.compile(r"\b(dynamic|dhcp|not\s+static|no\s+static|changes|changing)\b", re.I)
_DYNAMIC_ADVICE = (
    "dynamic addresses cannot be authorised: the gateway only accepts mail from fixed addresses. "
    "A static address is needed, from your internet provider, or send through a smart host "
    "that has one."
)


def outbound_ips(text: str, *, allow_private: bool = False) -> Parsed[OutboundIP]:
    """The public IPv4/IPv6 addresses of the servers that send outbound mail through the gateway."""
    example = EXAMPLE_IPS
    cleaned, notes = _prepare(text, example)
    if _is_none(cleaned):
        raise Invalid(
            "No address given: list the public IP address of each server that will send "
            "outbound mail through the gateway.",
            example,
        )
    dynamic_mentioned = False
    found: list[IPAddress] = []
    for item in _items(cleaned, "IP addresses", example):
        if _DYNAMIC.search(item):
            addresses = [w for w in item.split() if _looks_addressy(w)]
            if addresses:
                raise Invalid(
                    f"{_quote(item)} is marked as dynamic: {_DYNAMIC_ADVICE}",
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
        _check_policy(address, allow_private, advice, example)
    values = [OutboundIP(address=address) for address in found]
    kept, dup_notes = _dedupe(values, lambda v: v.address, lambda v: v.display())
    return Parsed(tuple(kept), tuple(notes + dup_notes))


def _looks_addressy(word: str) -> bool:
    return bool(re.fullmatch(r"\[?[0-9A-Fa-f:.]*\d[0-9A-Fa-f:.]*\]?(/\d+)?", word))


def _outbound_ip(word: str, example: str, notes: list[str]) -> IPAddress:
    token = word
    if token.startswith("[") and token.endswith("]"):
        token = token[1:-1]
    if "*" in token or _RANGE_DASH.fullmatch(token):
        raise Invalid(
            f"{_quote(word)} is a range; authorised outbound addresses are single addresses, "
            "so list each address that sends mail.",
            example,
        )
    if "/" in token:
        try:
            network = ipaddress.ip_network(token, strict=False)
        except ValueError:
            raise Invalid(
                f"{_quote(word)} is not an IP address or a valid range; list single addresses.",
                example,
            ) from None
        if network.num_addresses == 1:
            notes.append(f"Read {token} as the single address {network.network_address}.")
            return _outbound_ip(str(network.network_address), example, notes)
        raise Invalid(
            f"{_quote(word)} is a range of {network.num_addresses:,} addresses; authorised "
            "outbound addresses are single addresses, so list each address that sends mail.",
            example,
        )
    if re.fullmatch(r"\d+(?:\.\d+){3}:\d+", token) or re.fullmatch(r"\[[0-9A-Fa-f:.]+\]:\d+", word):
        raise Invalid(
            f"{_quote(word)} has a port; an outbound address is just the IP address.",
            example,
        )
    address = _ip_literal(token, example)
    if isinstance(address, ipaddress.IPv4Address) and ":" in token:
        notes.append(f"{token} is the IPv4 address {address} written as IPv6; stored as {address}.")
    if address is None:
        if "@" in token:
            raise Invalid(
                f"{_quote(word)} is an email address; give the IP address of the server that "
                "sends the mail.",
                example,
            )
        if re.fullmatch(r"[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\.?", token):
            raise Invalid(
                f"{_quote(word)} is a host name; the gateway authorises IP addresses. Give the "
                "public IP address it sends from.",
                example,
            )
        raise Invalid(f"{_quote(word)} is not an IP address.", example)
    return address


def _is_plain_ip(token: str) -> bool:
    try:
        ipaddress.ip_address(token)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------- DNS names

_PSL = PublicSuffixList(only_icann=True, accept_unknown=False)
# Top-level names reserved for testing and examples (RFC 2606, RFC 6761): never real, so nobody
# types them by mistake, and tests use them (with their own DNS server) in place of real domains.
_TESTING_TLDS = frozenset({"example", "test"})


def _public_suffix(ascii_name: str) -> str | None:
    """The ICANN public suffix of a name (a testing TLD counts as one), None for unknown TLDs."""
    last = ascii_name.rpartition(".")[2]
    if last in _TESTING_TLDS:
        return last
    return _PSL.publicsuffix(ascii_name, accept_unknown=False)


_LDH = re.compile(r"[a-z0-9-]+")


def _dns_name(raw: str, what: str, example: str) -> tuple[str, str]:
    """(A-label, U-label) of a host or domain name, lowercase, without the trailing dot.

    Syntax only (RFC 1035 lengths, letters/digits/hyphens, IDNA 2008 with UTS 46 mapping).
    """
    name = raw
    if name.endswith("."):
        name = name[:-1]
    if not name:
        raise Invalid(f"{_quote(raw)} is not a {what}.", example)
    try:
        mapped = idna.uts46_remap(name, std3_rules=False, transitional=False)
    except (idna.IDNAError, UnicodeError, ValueError, IndexError):
        bad = next((ch for ch in name if not ch.isprintable()), name[0])
        raise Invalid(
            f"{_quote(raw)} contains {_char_name(bad)}, which cannot be part of a {what}.",
            example,
        ) from None
    if "_" in mapped:
        raise Invalid(
            f"{_quote(raw)} contains an underscore (_). Underscores appear in some DNS records "
            f"but are not allowed in a {what}.",
            example,
        )
    labels = mapped.split(".")
    if any(not label for label in labels):
        raise Invalid(
            f"{_quote(raw)} has an empty part (two dots in a row, or a dot at the start).",
            example,
        )
    ascii_labels: list[str] = []
    for label in labels:
        ascii_labels.append(_label(label, raw, what, example))
    ascii_name = ".".join(ascii_labels)
    if len(ascii_name) > 253:
        raise Invalid(
            f"{_quote(raw)} is {len(ascii_name)} characters long (in its ASCII form); a {what} "
            "has at most 253.",
            example,
        )
    try:
        unicode_name = ".".join(idna.ulabel(label) for label in ascii_labels)
    except (idna.IDNAError, UnicodeError, ValueError):
        raise Invalid(f"{_quote(raw)} is not a valid internationalised {what}.", example) from None
    return ascii_name, unicode_name


def _label(label: str, raw: str, what: str, example: str) -> str:
    """The A-label of one label of a name, or Invalid saying what is wrong with it."""
    if label.isascii():
        bad = next((ch for ch in label if not _LDH.fullmatch(ch)), None)
        if bad is not None:
            shown = "a space" if bad == " " else f"{bad!r}"
            raise Invalid(
                f"{_quote(raw)} contains {shown}; a {what} has only letters, digits and hyphens, "
                "with dots between the parts.",
                example,
            )
        ascii_label = label
    else:
        try:
            ascii_label = "xn--" + label.encode("punycode").decode("ascii")
        except UnicodeError:
            raise Invalid(f"{_quote(raw)} is not a valid {what}.", example) from None
    if len(ascii_label) > 63:
        raise Invalid(
            f"{_quote(raw)} has a part {len(ascii_label)} characters long"
            f"{' in its ASCII form' if ascii_label != label else ''}; each part of a {what} "
            "(between dots) has at most 63.",
            example,
        )
    if ascii_label.startswith("-") or ascii_label.endswith("-"):
        raise Invalid(
            f"{_quote(raw)} has a part that starts or ends with a hyphen, which is not allowed.",
            example,
        )
    if label.isascii() and ascii_label[2:4] == "--" and not ascii_label.startswith("xn--"):
        raise Invalid(
            f"{_quote(raw)} has a part with hyphens in the 3rd and 4th places "
            f"({ascii_label}), which is reserved for encoded international names.",
            example,
        )
    try:
        if label.isascii():
            if ascii_label.startswith("xn--"):
                idna.alabel(idna.ulabel(ascii_label))
        else:
            ascii_label = idna.alabel(label).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError) as error:
        raise Invalid(
            f"{_quote(raw)} is not a valid internationalised {what} ({error}).",
            example,
        ) from None
    return ascii_label


def _strip_www(ascii_name: str) -> str:
    if ascii_name.startswith("www."):
        rest = ascii_name[4:]
        suffix = _public_suffix(rest)
        if suffix is not None and suffix != rest:
            return rest
    return ascii_name


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")


def _domain(item: str, example: str, notes: list[str]) -> Domain:
    raw = item
    token = item
    if token.lower().startswith("mailto:"):
        token = token[len("mailto:") :]
    if _SCHEME.match(token):
        try:
            host = urlsplit(token).hostname
        except ValueError:
            host = None
        if not host:
            raise Invalid(f"{_quote(raw)} is a web address without a domain name in it.", example)
        token = host
        from_url = True
    else:
        from_url = False
    if token.startswith("@"):
        token = token[1:]
    elif "@" in token:
        local, _, token = token.rpartition("@")
        if not local or not token:
            raise Invalid(f"{_quote(raw)} is not a domain name.", example)
        from_url = True
    if token.startswith("*."):
        raise Invalid(
            f"{_quote(raw)} is a wildcard; list the domain itself (and each mail subdomain "
            "separately).",
            example,
        )
    token = token.lstrip(".")
    if ":" in token and not from_url:
        host, _, port = token.rpartition(":")
        if port.isdigit() and host:
            raise Invalid(f"{_quote(raw)} has a port; a mail domain is just the name.", example)
    if _is_plain_ip(token.strip("[]")):
        raise Invalid(
            f"{_quote(raw)} is an IP address; list the domain names your email addresses use.",
            example,
        )
    if "/" in token:
        raise Invalid(f"{_quote(raw)} is not a domain name (it has a '/').", example)
    ascii_name, _ = _dns_name(token, "domain name", example)
    labels = ascii_name.split(".")
    if labels[-1].isdigit():
        raise Invalid(f"{_quote(raw)} is not a domain name: it ends in a number.", example)
    stripped = _strip_www(ascii_name)
    suffix = _public_suffix(stripped)
    if suffix is None:
        tld = idna.decode(labels[-1]) if labels[-1].startswith("xn--") else labels[-1]
        raise Invalid(
            f"{_quote(raw)} does not end in a public top-level domain ('.{tld}' is not one), "
            "so the Internet cannot send mail to it; it may be an internal name. List the "
            "domains in your email addresses.",
            example,
        )
    if len(labels) == 1 or suffix == stripped:
        raise Invalid(
            f"{_quote(raw)} is a public suffix (like com or co.uk) that anyone registers names "
            "under, not a domain of its own; give your domain, such as acme.co.uk.",
            example,
        )
    unicode_name = ".".join(idna.ulabel(label) for label in stripped.split("."))
    value = Domain(ascii=stripped, unicode=unicode_name)
    if from_url or stripped != ascii_name:
        notes.append(f"Read {_quote(raw)} as the domain {value.display()}.")
    return value


def domains(text: str) -> Parsed[Domain]:
    """The mail domains the gateway will handle: registrable names, stored in both IDNA forms."""
    example = EXAMPLE_DOMAINS
    cleaned, notes = _prepare(text, example)
    values = [
        _domain(item, example, notes) for item in _items(cleaned, "domains", example, words=True)
    ]
    kept, dup_notes = _dedupe(values, lambda v: v.ascii, lambda v: v.display())
    listed = {value.ascii for value in kept}
    subdomain_notes: list[str] = []
    for value in kept:
        labels = value.ascii.split(".")
        for i in range(1, len(labels) - 1):
            parent = ".".join(labels[i:])
            if parent in listed:
                subdomain_notes.append(
                    f"{value.display()} is a subdomain of {parent}, which is also listed; it is "
                    f"handled as a domain of its own (right for addresses @{value.unicode})."
                )
                break
    return Parsed(tuple(kept), tuple(notes + dup_notes + subdomain_notes))


# --------------------------------------------------------------------------- forwarding hosts


_PORTS = frozenset({"25", "465", "587", "2525"})


def _host(item: str, allow_private: bool, example: str, notes: list[str]) -> Host:
    raw = item
    if _SCHEME.match(item) or item.lower().startswith(("smtp:", "mailto:")):
        raise Invalid(
            f"{_quote(raw)} is a web-style address; give the host name or IP address of the "
            "mail server (optionally with :port), without a scheme such as smtp://.",
            example,
        )
    if "@" in item:
        raise Invalid(
            f"{_quote(raw)} is an email address; give the host name or IP address of the mail "
            "server that receives the mail after the gateway.",
            example,
        )
    if item.isdigit():
        raise Invalid(
            f"{_quote(raw)} is a number, not a host; to give a port, write it after the host: "
            "mail.acme.com:2525.",
            example,
        )
    host, port_text = item, None
    bracketed = re.fullmatch(r"\[([^\[\]]*)\](?::(.*))?", item)
    if bracketed:
        host, port_text = bracketed.group(1), bracketed.group(2)
        if not _is_plain_ip(host):
            raise Invalid(f"{_quote(raw)}: {_quote(host)} is not an IP address.", example)
    elif item.count(":") == 1:
        host, _, port_text = item.partition(":")
    elif item.count(":") > 1 and not _is_plain_ip(item):
        tail = item.rpartition(":")[0]
        if _is_plain_ip(tail) and ":" in tail:
            raise Invalid(
                f"{_quote(raw)}: put an IPv6 address in brackets when a port follows, "
                f"like [{tail}]:{item.rpartition(':')[2]}.",
                example,
            )
    port: int | None = None
    if port_text is not None:
        if not port_text.isdigit() or not port_text.isascii():
            raise Invalid(
                f"{_quote(raw)}: the port {_quote(port_text)} is not a number from 1 to 65535.",
                example,
            )
        port = int(port_text) if len(port_text) <= 6 else 0
        if not 1 <= port <= 65535:
            raise Invalid(
                f"{_quote(raw)}: the port {port_text} is outside 1 to 65535.",
                example,
            )
    advice = "Give the address at which the gateway can reach your mail server from the Internet."
    address = _ip_literal(host, example)
    if address is not None:
        _check_policy(address, allow_private, advice, example)
        last = host.rpartition(":")[2]
        if not bracketed and isinstance(address, ipaddress.IPv6Address) and last in _PORTS:
            notes.append(
                f"Read {host} as one IPv6 address; if :{last} was meant as the port, write "
                f"[{host.rpartition(':')[0]}]:{last}."
            )
        return Host(host=str(address), port=port)
    if re.fullmatch(r"[\d.]+", host):
        raise Invalid(f"{_quote(raw)} is not a valid IP address or host name.", example)
    ascii_name, _ = _dns_name(host, "host name", example)
    labels = ascii_name.split(".")
    if labels[-1].isdigit():
        raise Invalid(f"{_quote(raw)} is not a host name: it ends in a number.", example)
    if not allow_private:
        if len(labels) == 1:
            raise Invalid(
                f"{_quote(raw)} is a short internal name; give the full name that resolves on "
                "the Internet, such as mail.acme.com, or the public IP address.",
                example,
            )
        suffix = _public_suffix(ascii_name)
        if suffix is None:
            raise Invalid(
                f"{_quote(raw)} does not end in a public top-level domain, so the gateway "
                "cannot look it up; give a name that resolves on the Internet or the public IP "
                "address.",
                example,
            )
        if suffix == ascii_name:
            raise Invalid(f"{_quote(raw)} is a public suffix, not a host name.", example)
    return Host(host=ascii_name, port=port)


def forwarding_hosts(text: str, *, allow_private: bool = False) -> Parsed[Host]:
    """The hosts (name or IP, optional port) that inbound mail is delivered to after the gateway."""
    example = EXAMPLE_HOSTS
    cleaned, notes = _prepare(text, example)
    if _is_none(cleaned):
        raise Invalid(
            "No host given: list the mail servers that should receive inbound mail after the "
            "gateway.",
            example,
        )
    items = _items(cleaned, "hosts", example, words=True)
    values = [_host(item, allow_private, example, notes) for item in items]
    kept, dup_notes = _dedupe(values, lambda v: (v.host, v.port), lambda v: v.display())
    return Parsed(tuple(kept), tuple(notes + dup_notes))


# --------------------------------------------------------------------------- contacts

_ROLE_WORDS: dict[str, Role] = {
    "primary": "primary",
    "main": "primary",
    "principal": "primary",
    "poc": "primary",
    "technical": "technical",
    "tech": "technical",
    "it": "technical",
    "billing": "billing",
    "accounts": "billing",
    "accounting": "billing",
    "finance": "billing",
    "invoices": "billing",
    "invoicing": "billing",
}
_ROLE_FILLER = frozenset({"contact", "and", "role", "both", "person", "payable"})
_FIELD_LABEL = re.compile(
    r"^(name|full\s+name|e-?mail(?:\s+address)?|mail|role|phone|tel|telephone|mobile|cell)"
    r"\s*[:=]\s*",
    re.I,
)
_HEADER_WORDS = frozenset(
    {
        "name",
        "full name",
        "email",
        "e-mail",
        "email address",
        "role",
        "phone",
        "telephone",
        "mobile",
    }
)
_EMAIL_ANGLE = re.compile(r"<\s*([^<>\s]*)\s*>")
_EMAIL_BARE = re.compile(r"[^\s<>,;|()\[\]\"']*@[^\s<>,;|()\[\]\"']*")
_PHONE_LABELS = re.compile(r"\b(phone|tel|telephone|mobile|mob|cell)\b\s*[:.]?", re.I)
_PHONE_CHARS = re.compile(r"\+?[\d\s().\-]+")
_NAME_BAD = re.compile(r"[<>@:;|\\/{}\[\]=_\d]")


# Characters trimmed from the edges of names and of what is left around roles and phones.
_DASHES = "-\u2013\u2014"
_NAME_EDGES = f" {_DASHES}:,.'\"\u201c\u201d\u2018\u2019()"
_FREE_EDGES = f" {_DASHES}:,/&|"
_ROLE_JOINERS = f" &/+{_DASHES}()"


def _roles_in(text: str) -> tuple[list[Role], str]:
    """Role words found in `text`, and the text left once they (and filler words) are gone."""
    roles: list[Role] = []

    def take(match: re.Match[str]) -> str:
        word = match.group(0).lower()
        if word in _ROLE_WORDS:
            role = _ROLE_WORDS[word]
            if role not in roles:
                roles.append(role)
            return " "
        if word in _ROLE_FILLER:
            return " "
        return match.group(0)

    rest = re.sub(r"[^\W\d_]+", take, text)
    return roles, rest


def _is_role_field(field: str) -> bool:
    roles, rest = _roles_in(field)
    return bool(roles) and not rest.strip(_ROLE_JOINERS)


def _phone(text: str, where: str) -> str:
    phone = _squash(text)
    digits = sum(ch.isdigit() for ch in phone)
    if not _PHONE_CHARS.fullmatch(phone) or "+" in phone[1:]:
        raise Invalid(
            f"{where}the phone number {_quote(phone)} may contain only digits, spaces and "
            "+ ( ) - . (a + only at the start).",
            EXAMPLE_CONTACTS,
        )
    if not 6 <= digits <= 20:
        raise Invalid(
            f"{where}the phone number {_quote(phone)} has {digits} digits; a phone number has "
            "6 to 20.",
            EXAMPLE_CONTACTS,
        )
    return phone


def _name(text: str, where: str) -> str:
    name = _squash(text).strip(_NAME_EDGES)
    if _NAME_BAD.search(name):
        raise Invalid(
            f"{where}the name {_quote(name)} has characters a name does not have (digits or "
            "< > @ : ; | / _ =); give the person's name, then the email, role and phone.",
            EXAMPLE_CONTACTS,
        )
    if len(name) > 100:
        raise Invalid(f"{where}the name is over 100 characters long.", EXAMPLE_CONTACTS)
    if not any(ch.isalpha() for ch in name):
        raise Invalid(f"{where}{_quote(name)} is not a name.", EXAMPLE_CONTACTS)
    return name


def _email(text: str, where: str) -> str:
    try:
        # test_environment: addresses @*.test are accepted, like the domains (see _TESTING_TLDS)
        result = validate_email(text, check_deliverability=False, test_environment=True)
    except EmailNotValidError as error:
        raise Invalid(
            f"{where}the email address {_quote(text)} is not valid: {error}",
            EXAMPLE_CONTACTS,
        ) from None
    return result.normalized


def _contact_line(line: str, where: str) -> list[Contact]:
    fields = [f.strip() for f in re.split(r"[,|\t]", line) if f.strip()]
    if all(_squash(f).lower().rstrip(":") in _HEADER_WORDS for f in fields):
        return []
    emails: list[str] = []
    names: list[str] = []
    roles: list[Role] = []
    phones: list[str] = []

    def free_text(text: str) -> None:
        """Text after an email address: role words and a phone number, nothing else."""
        found, rest = _roles_in(text)
        roles.extend(r for r in found if r not in roles)
        rest = _PHONE_LABELS.sub(" ", rest)
        rest = re.sub(r"\(\s*\)|\[\s*\]", " ", rest).strip(_FREE_EDGES).lstrip(")]>")
        rest = rest.strip(_FREE_EDGES)
        if not rest or (
            not any(ch.isdigit() for ch in rest) and not rest.strip(_ROLE_JOINERS + ",:|")
        ):
            return
        if any(ch.isdigit() for ch in rest):
            phones.append(rest)
            return
        raise Invalid(
            f"{where}{_quote(rest.strip())} after the email address is neither a role (primary, "
            "technical, billing) nor a phone number.",
            EXAMPLE_CONTACTS,
        )

    for original in fields:
        field = original
        label_match = _FIELD_LABEL.match(field)
        label = ""
        if label_match:
            label = label_match.group(1).lower()
            field = field[label_match.end() :].strip()
            if not field:
                continue
        match = _EMAIL_ANGLE.search(field)
        if match is None or "@" not in match.group(1):
            match = _EMAIL_BARE.search(field) if "@" in field else None
            group = 0
        else:
            group = 1
        if match is not None and len(_EMAIL_BARE.findall(field)) > 1:
            emails.extend(_EMAIL_BARE.findall(field))
        elif match is not None:
            address = match.group(group)
            if address.lower().startswith("mailto:"):
                address = address[len("mailto:") :]
            emails.append(address)
            before, after = field[: match.start()], field[match.end() :]
            if before.strip(_NAME_EDGES):
                names.append(before)
            if after.strip():
                free_text(after)
        elif label in ("name", "full name"):
            names.append(field)
        elif label == "role":
            found, rest = _roles_in(field)
            if not found or rest.strip(_ROLE_JOINERS):
                raise Invalid(
                    f"{where}the role {_quote(field)} is not one of primary, technical, billing.",
                    EXAMPLE_CONTACTS,
                )
            roles.extend(r for r in found if r not in roles)
        elif label in ("phone", "tel", "telephone", "mobile", "cell"):
            phones.append(field)
        elif label.startswith(("e", "mail")):
            emails.append(field)
        elif _is_role_field(field):
            found, _ = _roles_in(field)
            roles.extend(r for r in found if r not in roles)
        elif any(ch.isdigit() for ch in field):
            phones.append(_PHONE_LABELS.sub(" ", field))
        else:
            names.append(field)

    if not emails:
        raise Invalid(
            f"{where}no email address; each contact needs name, email and role.",
            EXAMPLE_CONTACTS,
        )
    if len(emails) > 1:
        raise Invalid(
            f"{where}there is more than one email address ({_listing(_quote(e) for e in emails)}); "
            "put each contact on a line of its own.",
            EXAMPLE_CONTACTS,
        )
    if len(phones) > 1:
        raise Invalid(
            f"{where}there is more than one phone number ({_listing(_quote(p) for p in phones)}); "
            "give one phone number per contact.",
            EXAMPLE_CONTACTS,
        )
    name_parts = [n for n in (_squash(n).strip(_NAME_EDGES) for n in names) if n]
    if not name_parts:
        raise Invalid(
            f"{where}no name; give the person's name before the email address.", EXAMPLE_CONTACTS
        )
    if len(name_parts) > 1:
        raise Invalid(
            f"{where}{_listing(_quote(n) for n in name_parts)} are not a role or a phone "
            "number, and only one of them can be the name; give name, email, role, phone.",
            EXAMPLE_CONTACTS,
        )
    name = _name(name_parts[0], where)
    email = _email(emails[0], where)
    phone = _phone(phones[0], where) if phones else None
    if not roles:
        raise Invalid(
            f"{where}no role; add primary, technical or billing (a person with two roles is "
            "listed on two lines).",
            EXAMPLE_CONTACTS,
        )
    return [Contact(name=name, email=email, role=role, phone=phone) for role in roles]


def contacts(text: str) -> Parsed[Contact]:
    """Points of contact, one per line (or `;` between them): name, email, role, optional phone."""
    example = EXAMPLE_CONTACTS
    cleaned, notes = _prepare(text, example)
    lines = [line.strip() for line in re.split(r"[\n;]", cleaned)]
    numbered = [(n, line) for n, line in enumerate(lines, start=1) if line]
    if not numbered:
        raise Invalid("The answer has no contacts in it.", example)
    if len(numbered) > MAX_VALUES:
        raise Invalid(
            f"The answer lists {len(numbered):,} contacts; at most {MAX_VALUES} fit in one answer.",
            example,
        )
    values: list[Contact] = []
    skipped_header = False
    for n, line in numbered:
        if len(numbered) > 1:
            found = _contact_line(line, f"Line {n} ({_quote(line, 40)}): ")
        else:
            try:
                found = _contact_line(line, "")
            except Invalid as error:
                problem = error.problem[:1].upper() + error.problem[1:]
                raise Invalid(problem, error.example) from None
        if not found:
            skipped_header = True
        values.extend(found)
    if not values:
        raise Invalid("The answer has no contacts in it, only column names.", example)
    if skipped_header:
        notes.append("Skipped a line of column names.")
    kept, dup_notes = _dedupe(
        values, lambda c: (c.email.lower(), c.role), lambda c: f"{c.email} ({c.role})"
    )
    return Parsed(tuple(kept), tuple(notes + dup_notes))


def contacts_complete(values: Sequence[Contact]) -> str | None:
    """None when there is a primary and a technical contact, else what is still missing."""
    roles = {contact.role for contact in values}
    missing = [role for role in ("primary", "technical") if role not in roles]
    if not missing:
        return None
    wanted = " and ".join(f"a {role} contact" for role in missing)
    return (
        f"Still needed: {wanted}. One person may hold both roles: list them once as primary "
        "and once as technical."
    )


# --------------------------------------------------------------------------- single choices


def _one_answer(text: str, what: str, example: str) -> tuple[str, list[str]]:
    cleaned, notes = _prepare(text, example)
    lines = [_squash(line) for line in cleaned.split("\n") if line.strip()]
    if not lines:
        raise Invalid(f"The answer is empty; {what}.", example)
    if len(lines) > 1:
        raise Invalid(f"The answer has {len(lines)} lines; give one answer: {what}.", example)
    return lines[0], notes


_M365 = re.compile(
    r"\b(m365|o365|ms365|microsoft\s*365|office\s*365|exchange\s+online|exo|365)\b", re.I
)
_GOOGLE = re.compile(r"\b(google(\s+workspace|\s+apps)?|g\s?suite|gmail|gws|workspace)\b", re.I)
_DOMINO = re.compile(r"\b(domino|lotus(\s+notes)?|hcl\s+notes|notes\s+domino)\b", re.I)
_EXCHANGE = re.compile(r"\b(exchange|exch)(?![a-z])", re.I)
_OTHER = re.compile(r"^other\b\s*[:\-\u2013\u2014,(]?\s*(.*?)\)?$", re.I)
_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")
_SE = re.compile(r"\b(se|subscription\s+edition)\b", re.I)
_KNOWN_WORDS = {
    "exchange": "Exchange",
    "microsoft": "Microsoft 365",
    "office": "Microsoft 365 (Office 365)",
    "google": "Google Workspace",
    "gmail": "Google Workspace",
    "gsuite": "Google Workspace",
    "domino": "Lotus Domino",
    "lotus": "Lotus Domino",
}


_PRODUCT_NAME = re.compile(r"[\w .,&'()+/:\-]+")


def _is_product_name(text: str) -> bool:
    """Free text that can stand as a product name: word characters and light punctuation."""
    return bool(_PRODUCT_NAME.fullmatch(text)) and any(ch.isalpha() for ch in text)


def platform(text: str) -> Parsed[Platform]:
    """The current mail platform: exactly one value (Exchange needs a version, other a detail)."""
    example = EXAMPLE_PLATFORM
    what = (
        "Exchange with its version (2003 to 2019 or SE), Microsoft 365, Google Workspace, "
        "Lotus Domino, or other: what it is"
    )
    answer, notes = _one_answer(text, what, example)
    if _is_none(answer):
        raise Invalid(f"Every mail domain has a mail platform; name it: {what}.", example)
    if len(answer) > 200:
        raise Invalid(f"The answer is too long for a platform name; {what}.", example)
    other = _OTHER.match(answer)
    if other:
        detail = other.group(1).strip(_NAME_EDGES)
        if not detail or not any(ch.isalpha() for ch in detail):
            raise Invalid(
                "Say which platform it is, after 'other', for example: other: Zimbra 10.",
                "other: Zimbra 10",
            )
        if not _is_product_name(detail):
            raise Invalid(
                f"{_quote(detail)} does not look like the name of a mail platform; give its "
                "name (letters, digits, spaces and . , & ' ( ) + / : -).",
                "other: Zimbra 10",
            )
        return Parsed((Platform(kind="other", detail=detail),), tuple(notes))
    spaced = re.sub(r"[_/\-]+", " ", answer)
    is_m365 = bool(_M365.search(spaced))
    on_prem_text = _M365.sub(" ", spaced)
    is_exchange = bool(_EXCHANGE.search(on_prem_text))
    is_google = bool(_GOOGLE.search(spaced))
    is_domino = bool(_DOMINO.search(spaced))
    hybrid = is_exchange and re.search(r"\bhybrid\b", spaced, re.I) is not None
    kinds = [
        name
        for name, hit in (
            ("Exchange", is_exchange and not hybrid),
            ("Microsoft 365", is_m365 and not hybrid),
            ("Google Workspace", is_google),
            ("Lotus Domino", is_domino),
        )
        if hit
    ]
    if hybrid:
        kinds.insert(0, "Exchange hybrid")
    if len(kinds) > 1:
        raise Invalid(
            f"The answer names more than one platform ({', '.join(kinds)}). Give the one that "
            "holds the mailboxes today; for Exchange in hybrid with Microsoft 365, say so, "
            "for example: Exchange 2019 hybrid.",
            example,
        )
    if hybrid or is_exchange:
        version = _exchange_version(spaced, example)
        detail = "hybrid with Microsoft 365" if hybrid else None
        return Parsed((Platform(kind="exchange", version=version, detail=detail),), tuple(notes))
    if is_m365:
        return Parsed((Platform(kind="m365"),), tuple(notes))
    if is_google:
        return Parsed((Platform(kind="google"),), tuple(notes))
    if is_domino:
        return Parsed((Platform(kind="domino"),), tuple(notes))
    for word in re.findall(r"[^\W\d_]+", answer.lower()):
        close = difflib.get_close_matches(word, _KNOWN_WORDS, n=1, cutoff=0.75)
        if close and len(word) >= 4:
            raise Invalid(
                f"{_quote(answer)} is not a platform this knows; did you mean "
                f"{_KNOWN_WORDS[close[0]]}? "
                f"Answer {what}.",
                example,
            )
    if not _is_product_name(answer):
        raise Invalid(f"{_quote(answer)} is not a platform; answer {what}.", example)
    notes.append(
        f"Recorded as another platform: {answer}. If it is Exchange, Microsoft 365, Google "
        "Workspace or Lotus Domino, answer again with that name."
    )
    return Parsed((Platform(kind="other", detail=answer),), tuple(notes))


def _exchange_version(text: str, example: str) -> str:
    years = list(dict.fromkeys(_YEAR.findall(text)))
    se = _SE.search(text) is not None
    versions = years + (["SE"] if se else [])
    listed = ", ".join(EXCHANGE_VERSIONS)
    if not versions:
        raise Invalid(f"Which version of Exchange is it? One of {listed}.", example)
    if len(versions) > 1:
        raise Invalid(
            f"The answer names several Exchange versions ({', '.join(versions)}); give the one "
            "that holds the mailboxes today.",
            example,
        )
    if versions[0] not in EXCHANGE_VERSIONS:
        raise Invalid(
            f"Exchange {versions[0]} is not a version of Exchange Server; the versions are "
            f"{listed}.",
            example,
        )
    return versions[0]


_PROVIDERS = {
    "proofpoint": "Proofpoint",
    "barracuda": "Barracuda",
    "mimecast": "Mimecast",
    "ironport": "Cisco Secure Email (IronPort)",
    "cisco": "Cisco Secure Email",
    "sophos": "Sophos",
    "trend micro": "Trend Micro",
    "trendmicro": "Trend Micro",
    "symantec": "Symantec",
    "broadcom": "Broadcom (Symantec)",
    "messagelabs": "Symantec MessageLabs",
    "forcepoint": "Forcepoint",
    "eop": "Microsoft Exchange Online Protection",
    "exchange online protection": "Microsoft Exchange Online Protection",
    "defender": "Microsoft Defender for Office 365",
    "microsoft defender": "Microsoft Defender for Office 365",
    "spamtitan": "SpamTitan",
    "hornetsecurity": "Hornetsecurity",
    "libraesva": "Libraesva",
    "mailmarshal": "Trustwave MailMarshal",
    "fortimail": "FortiMail",
    "spamexperts": "SpamExperts",
    "solarwinds": "SolarWinds Mail Assure",
    "abnormal": "Abnormal Security",
}


def previous_provider(text: str) -> Parsed[str]:
    """The previous email security provider: one name, or no values for none."""
    example = EXAMPLE_PROVIDER
    cleaned, notes = _prepare(text, example)
    items = [_squash(item) for item in re.split(r"[\n;]", cleaned) if item.strip()]
    if not items:
        raise Invalid("The answer is empty; name the previous provider, or answer none.", example)
    if len(items) > 1:
        raise Invalid(
            f"The answer has {len(items)} lines; name the one provider in use now, or answer none.",
            example,
        )
    answer = items[0].strip(" .!")
    if _is_none(answer):
        return Parsed((), tuple(notes))
    lowered = answer.lower()
    if lowered in {"yes", "y", "yes we do", "we do", "unknown", "not sure", "?", "dunno"}:
        raise Invalid(
            f"{_quote(answer)} does not name a provider; give its name, or answer none.",
            example,
        )
    if len(answer) > 100:
        raise Invalid("The provider name is over 100 characters long; give just its name.", example)
    if not _is_product_name(answer):
        raise Invalid(
            f"{_quote(answer)} is not a provider name; give its name (letters, digits, spaces "
            "and . , & ' ( ) + / : -), or answer none.",
            example,
        )
    key = re.sub(r"\.(com|net|io)$", "", lowered)
    return Parsed((_PROVIDERS.get(key, answer),), tuple(notes))


_POP_NOTE = (
    "POP journaling is meant for old platforms such as Exchange 2003, where the journal mailbox "
    "is collected over POP3; SMTP journaling (the journal copies sent straight to the gateway) "
    "is recommended wherever the platform can do it."
)


def journaling_method(text: str) -> Parsed[str]:
    """How journal copies reach the archive: "smtp" (recommended) or "pop"."""
    example = EXAMPLE_JOURNALING
    answer, notes = _one_answer(text, "SMTP (recommended) or POP", example)
    lowered = answer.lower()
    smtp = re.search(r"\b(smtp|recommended|default|push)\b", lowered) is not None
    pop = re.search(r"\b(pop|pop3|pop3s|pop\s+3)\b", lowered) is not None
    if smtp and pop:
        raise Invalid(
            "The answer names both SMTP and POP; choose one (SMTP is recommended).", example
        )
    if smtp:
        return Parsed(("smtp",), tuple(notes))
    if pop:
        return Parsed(("pop",), (*notes, _POP_NOTE))
    raise Invalid(
        f"{_quote(answer)} is not a journaling method; answer SMTP (recommended) or POP.",
        example,
    )


_DIRECTORY_NONE_NOTE = (
    "Without a directory, recipient validation works from a spreadsheet of valid addresses that "
    "you send and keep up to date."
)


def directory_type(text: str) -> Parsed[str]:
    """The directory for recipient validation: "active_directory", "ldap" or "none"."""
    example = EXAMPLE_DIRECTORY
    what = "Active Directory, another LDAP directory, or none (a spreadsheet of recipients)"
    answer, notes = _one_answer(text, what, example)
    lowered = re.sub(r"[_\-]+", " ", answer.lower())
    if re.search(
        r"\b(no|not|without)\s+(an?\s+)?(ad|active\s*directory|ldap|directory)\b", lowered
    ):
        return Parsed(("none",), (*notes, _DIRECTORY_NONE_NOTE))
    on_prem = re.search(r"\b(on\s*prem\w*|local|windows\s+server|domain\s+controllers?)\b", lowered)
    if re.search(r"\b(azure\s*ad|aad|entra(\s+id)?)\b", lowered) and not on_prem:
        raise Invalid(
            "Entra ID (Azure AD) has no LDAP for the gateway to query. If you also run Active "
            "Directory on your own servers, answer Active Directory; otherwise answer none "
            "(a spreadsheet of recipients).",
            example,
        )
    if re.search(r"\b(ad|active\s*directory|ad\s*ds|adds|ad\s*lds|azure\s*ad)\b", lowered):
        return Parsed(("active_directory",), tuple(notes))
    if re.search(
        r"\b(ldap|ldaps|openldap|other\s+ldap|389(\s+ds)?|edirectory|e\s+directory|novell|"
        r"freeipa|oracle\s+directory|apache\s+ds|red\s+hat\s+directory|domino\s+ldap|"
        r"opendj|openldap\s+server)\b",
        lowered,
    ):
        return Parsed(("ldap",), tuple(notes))
    if _is_none(lowered) or re.search(
        r"\b(none|spreadsheet|csv|excel|xlsx|list|manual(ly)?|no\s+directory)\b", lowered
    ):
        return Parsed(("none",), (*notes, _DIRECTORY_NONE_NOTE))
    raise Invalid(f"{_quote(answer)} is not a directory type; answer {what}.", example)
