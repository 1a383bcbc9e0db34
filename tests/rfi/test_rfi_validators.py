"""The RFI answer validators: pure functions from typed text to values, or a reason and example."""

from __future__ import annotations

import ipaddress
import pkgutil
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commands.checks.probes.guard import address_kind, refusal
from commands.rfi.validators import (
    MAX_TEXT_CHARS,
    MAX_VALUES,
    Contact,
    Domain,
    Host,
    Invalid,
    OutboundIP,
    Parsed,
    Platform,
    contacts,
    contacts_complete,
    directory_type,
    domains,
    forwarding_hosts,
    journaling_method,
    outbound_ips,
    platform,
    previous_provider,
    split_values,
)


def problem(call: Callable[[], Any]) -> Invalid:
    with pytest.raises(Invalid) as caught:
        call()
    error = caught.value
    assert error.problem
    assert error.example
    assert str(error) == error.problem
    return error


def shown(parsed: Parsed[Any]) -> list[str]:
    return [value.display() for value in parsed.values]


# --------------------------------------------------------------------------- the splitter


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a", ["a"]),
        ("a, b,c", ["a", "b", "c"]),
        ("a\nb\r\nc", ["a", "b", "c"]),
        ("a;b ; c", ["a", "b", "c"]),
        ("  a ,\n\n, b  \n", ["a", "b"]),
        ("a,\u00a0b\u2028c", ["a", "b", "c"]),
        ("", []),
        (" ,;\n ", []),
    ],
)
def test_split_values(text: str, expected: list[str]) -> None:
    assert split_values(text) == expected


# --------------------------------------------------------------------------- contacts


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Jane Smith, jane@acme.com, primary, +44 20 7946 0000",
            [("Jane Smith", "jane@acme.com", "primary", "+44 20 7946 0000")],
        ),
        (
            "Jane Smith <jane@acme.com> technical",
            [("Jane Smith", "jane@acme.com", "technical", None)],
        ),
        # Slack's auto-link for a typed address inside angle brackets
        (
            "Jane Smith <<mailto:jane@acme.com|jane@acme.com>> technical",
            [("Jane Smith", "jane@acme.com", "technical", None)],
        ),
        (
            "Jane Smith, <mailto:jane@acme.com|jane@acme.com>, primary",
            [("Jane Smith", "jane@acme.com", "primary", None)],
        ),
        ("Jane Smith, Jane@ACME.COM, main", [("Jane Smith", "Jane@acme.com", "primary", None)]),
        ("Bob Jones, bob@acme.com, accounts", [("Bob Jones", "bob@acme.com", "billing", None)]),
        ("Raj Patel, raj@acme.com, tech", [("Raj Patel", "raj@acme.com", "technical", None)]),
        (
            "Jane Smith <jane@acme.com> technical +44 20 7946 0000",
            [("Jane Smith", "jane@acme.com", "technical", "+44 20 7946 0000")],
        ),
        (
            "Jane Smith\tjane@acme.com\ttech\t(020) 7946-0000",
            [("Jane Smith", "jane@acme.com", "technical", "(020) 7946-0000")],
        ),
        (
            "Name: Jane Smith, Email: jane@acme.com, Role: billing, Phone: 020.7946.0000",
            [("Jane Smith", "jane@acme.com", "billing", "020.7946.0000")],
        ),
        (
            '"Jane Smith" <jane@acme.com> primary',
            [("Jane Smith", "jane@acme.com", "primary", None)],
        ),
        (
            "Jane Smith, jane@acme.com, primary and technical",
            [
                ("Jane Smith", "jane@acme.com", "primary", None),
                ("Jane Smith", "jane@acme.com", "technical", None),
            ],
        ),
        (
            "Jane Smith, jane@acme.com, primary; Raj Patel, raj@acme.com, technical",
            [
                ("Jane Smith", "jane@acme.com", "primary", None),
                ("Raj Patel", "raj@acme.com", "technical", None),
            ],
        ),
        (
            "  Jane   Smith ,  jane@acme.com ,  primary  \n\n"
            "\u00a0Raj\u2003Patel <raj@acme.com>  tech ",
            [
                ("Jane Smith", "jane@acme.com", "primary", None),
                ("Raj Patel", "raj@acme.com", "technical", None),
            ],
        ),
        (
            "Zoë Ångström, zoe@münchen.de, primary",
            [("Zoë Ångström", "zoe@münchen.de", "primary", None)],
        ),
        ("Jane Smith (jane@acme.com), primary", [("Jane Smith", "jane@acme.com", "primary", None)]),
        (
            "Jane Smith, jane@acme.example, primary",
            [("Jane Smith", "jane@acme.example", "primary", None)],
        ),
        (
            "Jane Smith, jane@acme.test, primary",
            [("Jane Smith", "jane@acme.test", "primary", None)],
        ),
    ],
)
def test_contacts_accepted(text: str, expected: list[tuple[str, str, str, str | None]]) -> None:
    parsed = contacts(text)
    assert [(c.name, c.email, c.role, c.phone) for c in parsed.values] == expected


def test_contacts_header_line_skipped_and_duplicates_dropped() -> None:
    parsed = contacts(
        "Name, Email, Role, Phone\n"
        "Jane Smith, jane@acme.com, primary\n"
        "Jane Smith, JANE@acme.com, primary\n"
        "Jane Smith, jane@acme.com, technical"
    )
    assert [(c.email, c.role) for c in parsed.values] == [
        ("jane@acme.com", "primary"),
        ("jane@acme.com", "technical"),
    ]
    assert any("column names" in note for note in parsed.notes)
    assert any("more than once" in note and "jane@acme.com" in note for note in parsed.notes)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Jane Smith, jane@acme, primary", ["email address", "jane@acme"]),
        ("Jane Smith, jane@@acme.com, primary", ["email address"]),
        ("Jane Smith, jane@acme.local, primary", ["email address", "special-use"]),
        ("Jane Smith, primary", ["no email address"]),
        ("Jane Smith, jane@acme.com", ["no role"]),
        ("jane@acme.com, primary", ["no name"]),
        ("Jane Smith, jane@acme.com, boss", ['"boss"']),
        ("Jane Smith, jane@acme.com, primary, 123", ["phone number", "3 digits"]),
        (
            "Jane Smith, jane@acme.com, primary, +44 20 7946 0000 ext 12",
            ["phone number", "only digits"],
        ),
        ("Jane Smith, jane@acme.com, primary, " + "1" * 21, ["21 digits"]),
        ("Jane jane@acme.com bob@acme.com primary", ["more than one email address"]),
        ("Jane Smith, jane@acme.com, primary, 0123 456789, 0987 654321", ["more than one phone"]),
        ("Jane Smith <jane@acme.com> primary, 12 red apples", ["phone number"]),
        ("Jane Smith <jane@acme.com> primary frobnicate", ['"frobnicate"', "role"]),
        ("Role: boss, Jane Smith, jane@acme.com", ["role", '"boss"']),
        ("Name, Email, Role", ["no contacts"]),
        ("", ["no contacts"]),
    ],
)
def test_contacts_refused(text: str, words: list[str]) -> None:
    error = problem(lambda: contacts(text))
    for word in words:
        assert word.lower() in error.problem.lower()
    assert not error.problem[0].islower()


def test_contacts_error_names_the_line() -> None:
    error = problem(
        lambda: contacts("Jane Smith, jane@acme.com, primary\nRaj Patel, raj@acme, technical")
    )
    assert error.problem.startswith("Line 2 (")
    assert "raj@acme" in error.problem
    assert "email address" in error.problem


def test_contact_round_trip() -> None:
    (contact,) = contacts("Jane Smith, jane@acme.com, primary, +44 20 7946 0000").values
    assert Contact.model_validate(contact.model_dump(mode="json")) == contact
    assert contact.display() == "Jane Smith <jane@acme.com>, primary, +44 20 7946 0000"
    with pytest.raises(Exception):  # noqa: B017, PT011 - frozen
        contact.name = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("roles", "missing"),
    [
        (["primary", "technical"], None),
        (["primary", "technical", "billing"], None),
        (["primary"], "technical"),
        (["technical", "billing"], "primary"),
        ([], "primary"),
    ],
)
def test_contacts_complete(roles: list[str], missing: str | None) -> None:
    values = [Contact(name="Jane", email="jane@acme.com", role=role) for role in roles]  # type: ignore[arg-type]
    result = contacts_complete(values)
    if missing is None:
        assert result is None
    else:
        assert result is not None
        assert f"a {missing} contact" in result


def test_contacts_complete_one_person_two_roles() -> None:
    assert contacts_complete(contacts("Jane, jane@acme.com, primary and technical").values) is None
    both_missing = contacts_complete([])
    assert both_missing is not None
    assert "primary" in both_missing
    assert "technical" in both_missing


# --------------------------------------------------------------------------- outbound IPs


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("81.2.69.160", ["81.2.69.160"]),
        ("81.2.69.160, 81.2.69.161", ["81.2.69.160", "81.2.69.161"]),
        (
            "81.2.69.160\n81.2.69.161;81.2.69.162 ,  81.2.69.163",
            [f"81.2.69.16{i}" for i in range(4)],
        ),
        ("81.2.69.160 81.2.69.161", ["81.2.69.160", "81.2.69.161"]),
        ("2A02:8010:6000:0000:0000:0000:0000:0025", ["2a02:8010:6000::25"]),
        ("[2a02:8010:6000::25]", ["2a02:8010:6000::25"]),
        ("::ffff:81.2.69.160", ["81.2.69.160"]),
        ("1.2.3.4/32", ["1.2.3.4"]),
        ("2a02:8010:6000::25/128", ["2a02:8010:6000::25"]),
        ("\u200b81.2.69.160\ufeff", ["81.2.69.160"]),
        ("\u00a081.2.69.160\u3000", ["81.2.69.160"]),
        ("2002:5102:45a0::1", ["2002:5102:45a0::1"]),  # 6to4 of 81.2.69.160
        ("64:ff9b::5102:45a0", ["64:ff9b::5102:45a0"]),  # NAT64 of 81.2.69.160
    ],
)
def test_outbound_ips_accepted(text: str, expected: list[str]) -> None:
    assert shown(outbound_ips(text)) == expected


def test_outbound_ips_notes() -> None:
    parsed = outbound_ips("81.2.69.160, 81.2.69.160, ::ffff:81.2.69.161, dynamic")
    assert shown(parsed) == ["81.2.69.160", "81.2.69.161"]
    notes = " ".join(parsed.notes)
    assert "more than once" in notes
    assert "IPv4 address 81.2.69.161" in notes
    assert "dynamic" in notes
    assert "static" in notes


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("10.1.2.3", ["private"]),
        ("172.16.0.1", ["private"]),
        ("192.168.1.10", ["private"]),
        ("fd12:3456::1", ["private"]),
        ("127.0.0.1", ["loopback"]),
        ("::1", ["loopback"]),
        ("169.254.1.1", ["link-local"]),
        ("fe80::1", ["link-local"]),
        ("100.64.0.1", ["shared", "100.64.0.0/10"]),
        ("224.0.0.5", ["multicast"]),
        ("ff02::1", ["multicast"]),
        ("0.0.0.0", ["unspecified"]),
        ("::", ["unspecified"]),
        ("192.0.2.10", ["documentation", "192.0.2.0/24"]),
        ("198.51.100.7", ["documentation"]),
        ("203.0.113.9", ["documentation"]),
        ("2001:db8::25", ["documentation", "2001:db8::/32"]),
        ("240.0.0.1", ["reserved"]),
        ("255.255.255.255", ["broadcast"]),
        ("198.18.0.1", ["reserved"]),
        ("0.1.2.3", ["reserved"]),
        ("::1.2.3.4", ["reserved"]),
        ("169.254.169.254", ["metadata"]),
        ("2002::1", ["6to4 form of 0.0.0.0", "unspecified"]),
        ("2002:7f00:1::1", ["6to4 form of 127.0.0.1", "loopback"]),
        ("::127.0.0.1", ["IPv4-compatible form of 127.0.0.1", "loopback"]),
        ("::ffff:0:7f00:1", ["SIIT form of 127.0.0.1", "loopback"]),
        ("64:ff9b:1::a9fe:a9fe", ["local-use NAT64 form of 169.254.169.254", "metadata"]),
        ("64:ff9b:1::5102:45a0", ["local-use NAT64", "64:ff9b:1::/48", "reserved"]),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", ["Teredo form of 192.0.2.45"]),
        ("3fff::1", ["documentation", "3fff::/20"]),
        ("5f00::1", ["reserved", "5f00::/16"]),
        ("203.0.113.0/29", ["range of 8 addresses", "single addresses"]),
        ("81.2.69.0/24", ["range of 256", "list each"]),
        ("2a02:8010:6000::/48", ["range"]),
        ("81.2.69.160-81.2.69.170", ["range", "single"]),
        ("81.2.69.*", ["range"]),
        ("dynamic", ["dynamic", "static", "smart host"]),
        ("DHCP", ["dynamic", "static"]),
        ("81.2.69.160 (dynamic)", ["dynamic", "static"]),
        ("010.1.2.3", ["leading zeros", "10.1.2.3"]),
        ("256.1.2.3", ["0 to 255"]),
        ("1.2.3", ["not a valid IPv4"]),
        ("2a02:8010::6000::25", ["not a valid IPv6"]),
        ("81.2.69.160:25", ["port"]),
        ("[2a02:8010:6000::25]:25", ["port"]),
        ("fe80::1%eth0", ["zone index"]),
        ("mail.acme.com", ["host name"]),
        ("jane@acme.com", ["email address"]),
        ("hello", ['"hello"', "not an IP address"]),
        ("none", ["No address given"]),
        ("", ["no IP addresses"]),
    ],
)
def test_outbound_ips_refused(text: str, words: list[str]) -> None:
    error = problem(lambda: outbound_ips(text))
    for word in words:
        assert word in error.problem


def test_outbound_ips_one_bad_value_refuses_the_answer() -> None:
    error = problem(lambda: outbound_ips("81.2.69.160, 10.0.0.1"))
    assert error.problem.startswith("10.0.0.1 is a private address")


@pytest.mark.parametrize(
    "text", ["127.0.0.1", "127.0.0.2", "10.0.0.1", "192.168.1.1", "::1", "fd00::1", "100.64.1.1"]
)
def test_outbound_ips_allow_private(text: str) -> None:
    assert shown(outbound_ips(text, allow_private=True)) == [str(ipaddress.ip_address(text))]


@pytest.mark.parametrize(
    "text",
    [
        "192.0.2.1",
        "2001:db8::1",
        "224.0.0.1",
        "0.0.0.0",
        "::",
        "240.0.0.1",
        "81.2.69.0/29",
        "169.254.169.254",  # link-local, but a metadata endpoint: the probes never accept it
        "64:ff9b::a9fe:a9fe",
        "64:ff9b:1::a9fe:a9fe",
    ],
)
def test_outbound_ips_allow_private_still_refuses_non_hosts(text: str) -> None:
    problem(lambda: outbound_ips(text, allow_private=True))


@pytest.mark.parametrize(
    "text", ["2002:7f00:1::1", "::127.0.0.1", "::ffff:0:7f00:1", "64:ff9b::a00:1"]
)
def test_outbound_ips_allow_private_accepts_forms_of_private_addresses(text: str) -> None:
    """As the probes do with the setting on: judged by the IPv4 address inside."""
    assert shown(outbound_ips(text, allow_private=True)) == [str(ipaddress.ip_address(text))]


def test_outbound_ip_round_trip() -> None:
    parsed = outbound_ips("2a02:8010:6000:0::25, 81.2.69.160")
    for value in parsed.values:
        data = value.model_dump(mode="json")
        assert data == {"address": value.display()}
        assert OutboundIP.model_validate(data) == value
    assert OutboundIP(address="::ffff:1.2.3.4").display() == "1.2.3.4"  # type: ignore[arg-type]


# --------------------------------------------------------------------------- domains


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("acme.com", [("acme.com", "acme.com")]),
        ("ACME.Com.", [("acme.com", "acme.com")]),
        (
            "acme.com, acme.co.uk\nacme.de",
            [("acme.com", "acme.com"), ("acme.co.uk",) * 2, ("acme.de",) * 2],
        ),
        ("acme.com acme.org", [("acme.com",) * 2, ("acme.org",) * 2]),
        ("München.de", [("xn--mnchen-3ya.de", "münchen.de")]),
        ("xn--mnchen-3ya.DE.", [("xn--mnchen-3ya.de", "münchen.de")]),
        ("faß.de", [("xn--fa-hia.de", "faß.de")]),
        ("bücher.中国", [("xn--bcher-kva.xn--fiqs8s", "bücher.中国")]),
        ("пример.рф", [("xn--e1afmkfd.xn--p1ai", "пример.рф")]),
        # fullwidth letters, as an East Asian input method types them
        ("\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com", [("example.com", "example.com")]),
        ("acme。com", [("acme.com", "acme.com")]),
        ("<http://acme.com|acme.com>", [("acme.com", "acme.com")]),
        (
            "<http://acme.com|acme.com>, <http://acme.co.uk|acme.co.uk>",
            [("acme.com",) * 2, ("acme.co.uk",) * 2],
        ),
        ("@acme.com", [("acme.com", "acme.com")]),
        (".acme.com", [("acme.com", "acme.com")]),
        ("uk.acme.com", [("uk.acme.com", "uk.acme.com")]),
        ("acme.com\u200b", [("acme.com", "acme.com")]),
        ("\tacme.com \u2003", [("acme.com", "acme.com")]),
        # the testing names of RFC 2606 / RFC 6761, which tests use instead of real domains
        (
            "acme.example, bücher.example",
            [("acme.example",) * 2, ("xn--bcher-kva.example", "bücher.example")],
        ),
        ("acme.test", [("acme.test", "acme.test")]),
    ],
)
def test_domains_accepted(text: str, expected: list[tuple[str, ...]]) -> None:
    parsed = domains(text)
    assert [(d.ascii, d.unicode) for d in parsed.values] == [(e[0], e[-1]) for e in expected]


@pytest.mark.parametrize(
    ("text", "domain", "note"),
    [
        ("jane@acme.com", "acme.com", "jane@acme.com"),
        ("<mailto:jane@acme.com|jane@acme.com>", "acme.com", "jane@acme.com"),
        ("https://www.acme.com/about", "acme.com", "https://www.acme.com/about"),
        ("<https://acme.co.uk>", "acme.co.uk", "https://acme.co.uk"),
        ("www.acme.com", "acme.com", "www.acme.com"),
    ],
)
def test_domains_read_from_addresses_and_urls(text: str, domain: str, note: str) -> None:
    parsed = domains(text)
    assert [d.ascii for d in parsed.values] == [domain]
    assert any(note in n and domain in n for n in parsed.notes)


def test_domains_duplicates_and_subdomains_noted() -> None:
    parsed = domains("acme.com\nACME.COM.\nuk.acme.com, mail.uk.acme.com, other.org")
    assert [d.ascii for d in parsed.values] == [
        "acme.com",
        "uk.acme.com",
        "mail.uk.acme.com",
        "other.org",
    ]
    notes = " ".join(parsed.notes)
    assert "more than once, kept once: acme.com" in notes
    assert "uk.acme.com is a subdomain of acme.com" in notes
    assert "mail.uk.acme.com is a subdomain of uk.acme.com" in notes
    assert "other.org is a subdomain" not in notes


def test_domains_duplicate_in_both_forms() -> None:
    parsed = domains("münchen.de, xn--mnchen-3ya.de")
    assert len(parsed.values) == 1
    assert "more than once" in parsed.notes[0]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("co.uk", ["public suffix"]),
        ("com", ["public suffix"]),
        ("uk", ["public suffix"]),
        ("1.2.3.4", ["IP address"]),
        ("[2a02:8010:6000::25]", ["IP address"]),
        ("a_b.acme.com", ["underscore"]),
        ("_dmarc.acme.com", ["underscore"]),
        ("x" * 64 + ".com", ["64 characters", "at most 63"]),
        (".".join(["a" * 60] * 5) + ".com", ["at most 253"]),
        ("acme..com", ["empty part"]),
        ("acme.com..", ["empty part"]),
        ("-acme.com", ["hyphen"]),
        ("acme-.com", ["hyphen"]),
        ("ab--c.com", ["3rd and 4th"]),
        ("xn--zz.com", ["internationalised"]),
        ("acme.local", ["public top-level domain", ".local"]),
        ("acme.corp", [".corp"]),
        ("acme.invalid", [".invalid"]),
        ("example", ["public suffix"]),
        ("test", ["public suffix"]),
        ("acme!.com", ["'!'", "letters, digits and hyphens"]),
        ("ac me.com", ["ac"]),  # splits into "ac" and "me.com": "ac" is a bare suffix
        ("*.acme.com", ["wildcard"]),
        ("acme.com:25", ["port"]),
        ("acme.com/about", ["/"]),
        ("1.2.3", ["ends in a number"]),
        ("a\u200db.com", ["internationalised"]),
        ("", ["no domains"]),
    ],
)
def test_domains_refused(text: str, words: list[str]) -> None:
    error = problem(lambda: domains(text))
    for word in words:
        assert word in error.problem


def test_domain_round_trip_and_display() -> None:
    (value,) = domains("München.de").values
    assert value.display() == "münchen.de (xn--mnchen-3ya.de)"
    assert Domain.model_validate(value.model_dump(mode="json")) == value
    (plain,) = domains("acme.com").values
    assert plain.display() == "acme.com"


# --------------------------------------------------------------------------- forwarding hosts


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail.acme.com", [("mail.acme.com", None, "mail.acme.com")]),
        ("MAIL.Acme.COM.:25", [("mail.acme.com", 25, "mail.acme.com:25")]),
        (
            "mail.acme.com, mail2.acme.com:2525",
            [
                ("mail.acme.com", None, "mail.acme.com"),
                ("mail2.acme.com", 2525, "mail2.acme.com:2525"),
            ],
        ),
        ("81.2.69.160:25", [("81.2.69.160", 25, "81.2.69.160:25")]),
        ("81.2.69.160", [("81.2.69.160", None, "81.2.69.160")]),
        ("[2A02:8010:6000::0025]:25", [("2a02:8010:6000::25", 25, "[2a02:8010:6000::25]:25")]),
        ("[2a02:8010:6000::25]", [("2a02:8010:6000::25", None, "2a02:8010:6000::25")]),
        ("2a02:8010:6000::25", [("2a02:8010:6000::25", None, "2a02:8010:6000::25")]),
        ("mail.münchen.de", [("mail.xn--mnchen-3ya.de", None, "mail.xn--mnchen-3ya.de")]),
        ("mail.acme.test:2525", [("mail.acme.test", 2525, "mail.acme.test:2525")]),
        ("<http://mail.acme.com|mail.acme.com>", [("mail.acme.com", None, "mail.acme.com")]),
        (
            "mail.acme.com\n mail.acme.com:587 ;\tmail.acme.com",
            [("mail.acme.com", None, "mail.acme.com"), ("mail.acme.com", 587, "mail.acme.com:587")],
        ),
    ],
)
def test_forwarding_hosts_accepted(text: str, expected: list[tuple[str, int | None, str]]) -> None:
    parsed = forwarding_hosts(text)
    assert [(h.host, h.port, h.display()) for h in parsed.values] == expected


def test_forwarding_hosts_ambiguous_ipv6_port_noted() -> None:
    parsed = forwarding_hosts("2a02:8010:6000::25:25")
    assert shown(parsed) == ["2a02:8010:6000::25:25"]
    assert "[2a02:8010:6000::25]:25" in parsed.notes[0]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("smtp://mail.acme.com", ["scheme", "smtp://"]),
        ("https://mail.acme.com", ["scheme"]),
        ("<https://mail.acme.com>", ["scheme"]),
        ("mail.acme.com:0", ["outside 1 to 65535"]),
        ("mail.acme.com:65536", ["outside 1 to 65535"]),
        ("mail.acme.com:99999999999", ["outside 1 to 65535"]),
        ("mail.acme.com:smtp", ["not a number"]),
        ("mail.acme.com:", ["not a number"]),
        ("mail.acme.com 25", ['"25"', "mail.example.com:2525"]),
        ("exchange01", ["short internal name"]),
        ("mail.acme.local", ["public top-level domain"]),
        ("localhost:25", ["short internal name"]),
        ("co.uk", ["public suffix"]),
        ("10.0.0.25", ["private"]),
        ("127.0.0.1:25", ["loopback"]),
        ("[::1]:25", ["loopback"]),
        ("192.0.2.1", ["documentation"]),
        ("[2001:db8::1]:25", ["documentation"]),
        ("[mail.acme.com]:25", ["not an IP address"]),
        ("2a02:8010::6000::25", ["IPv6"]),
        ("300.1.1.1", ["0 to 255"]),
        ("1.2.3", ["not a valid"]),
        ("mail_1.acme.com", ["underscore"]),
        ("postmaster@acme.com", ["email address"]),
        ("none", ["No host given"]),
    ],
)
def test_forwarding_hosts_refused(text: str, words: list[str]) -> None:
    error = problem(lambda: forwarding_hosts(text))
    for word in words:
        assert word in error.problem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.2:2525", "127.0.0.2:2525"),
        ("[::1]:2525", "[::1]:2525"),
        ("10.0.0.25", "10.0.0.25"),
        ("localhost:25", "localhost:25"),
        ("mail.acme.test", "mail.acme.test"),
        ("mail.acme.lan", "mail.acme.lan"),
        ("exchange01", "exchange01"),
    ],
)
def test_forwarding_hosts_allow_private(text: str, expected: str) -> None:
    assert shown(forwarding_hosts(text, allow_private=True)) == [expected]


def test_forwarding_hosts_allow_private_keeps_documentation_refused() -> None:
    error = problem(lambda: forwarding_hosts("203.0.113.5:25", allow_private=True))
    assert "documentation" in error.problem


def test_host_round_trip() -> None:
    for value in forwarding_hosts("[2a02:8010:6000::25]:25, mail.acme.com").values:
        assert Host.model_validate(value.model_dump(mode="json")) == value


# --------------------------------------------------------------------------- platform


@pytest.mark.parametrize(
    ("text", "kind", "version", "display"),
    [
        ("Exchange 2019", "exchange", "2019", "Exchange 2019"),
        ("exchange server 2016 CU23", "exchange", "2016", "Exchange 2016"),
        ("Exchange2013", "exchange", "2013", "Exchange 2013"),
        ("Microsoft Exchange 2010 SP3", "exchange", "2010", "Exchange 2010"),
        ("Exchange 2003", "exchange", "2003", "Exchange 2003"),
        ("Exchange SE", "exchange", "SE", "Exchange SE"),
        ("Exchange Server Subscription Edition", "exchange", "SE", "Exchange SE"),
        (
            "Exchange 2016 hybrid with Office 365",
            "exchange",
            "2016",
            "Exchange 2016 (hybrid with Microsoft 365)",
        ),
        ("Microsoft 365", "m365", None, "Microsoft 365"),
        ("M365", "m365", None, "Microsoft 365"),
        ("office 365", "m365", None, "Microsoft 365"),
        ("Exchange Online", "m365", None, "Microsoft 365"),
        ("m365", "m365", None, "Microsoft 365"),
        ("Google Workspace", "google", None, "Google Workspace"),
        ("G Suite", "google", None, "Google Workspace"),
        ("gmail", "google", None, "Google Workspace"),
        ("Lotus Domino", "domino", None, "Lotus Domino"),
        ("HCL Notes", "domino", None, "Lotus Domino"),
        ("domino", "domino", None, "Lotus Domino"),
        ("other: Zimbra 10", "other", None, "Other: Zimbra 10"),
        ("Other - Postfix and Dovecot", "other", None, "Other: Postfix and Dovecot"),
        ("  Exchange\u00a02019  ", "exchange", "2019", "Exchange 2019"),
    ],
)
def test_platform_accepted(text: str, kind: str, version: str | None, display: str) -> None:
    parsed = platform(text)
    (value,) = parsed.values
    assert (value.kind, value.version) == (kind, version)
    assert value.display() == display
    assert Platform.model_validate(value.model_dump(mode="json")) == value


def test_platform_unknown_name_recorded_as_other_with_note() -> None:
    parsed = platform("Zimbra")
    assert shown(parsed) == ["Other: Zimbra"]
    assert "another platform" in parsed.notes[0]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Exchange", ["version"]),
        ("exchange on premises", ["version"]),
        ("Exchange 2000", ["2000", "2003, 2007, 2010, 2013, 2016, 2019, SE"]),
        ("Exchange 2010 moving to 2016", ["several"]),
        ("Exchange 2016 and Microsoft 365", ["more than one platform", "hybrid"]),
        ("Google and Domino", ["more than one platform"]),
        ("other", ["which platform"]),
        ("other:", ["which platform"]),
        ("Exchnage 2016", ["did you mean Exchange"]),
        ("Gogle", ["did you mean Google Workspace"]),
        ("none", ["mail platform"]),
        ("Exchange 2019\nMicrosoft 365", ["2 lines"]),
        ("12345", ["not a platform"]),
        ("", ["empty"]),
    ],
)
def test_platform_refused(text: str, words: list[str]) -> None:
    error = problem(lambda: platform(text))
    for word in words:
        assert word.lower() in error.problem.lower()


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "exchange"},
        {"kind": "exchange", "version": "2000"},
        {"kind": "other"},
        {"kind": "lotus"},
    ],
)
def test_platform_model_refuses_incomplete_values(data: dict[str, str]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - pydantic's ValidationError
        Platform.model_validate(data)


# --------------------------------------------------------------------------- single choices


@pytest.mark.parametrize(
    "text", ["none", "None.", "no", "N/A", "n/a", "na", "-", "  NONE  ", "nope"]
)
def test_previous_provider_none(text: str) -> None:
    assert previous_provider(text) == Parsed(())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("proofpoint", "Proofpoint"),
        ("Barracuda", "Barracuda"),
        ("EOP", "Microsoft Exchange Online Protection"),
        ("  Acme   Mail Filter ", "Acme Mail Filter"),
        ("<http://proofpoint.com|proofpoint.com>", "Proofpoint"),
    ],
)
def test_previous_provider_named(text: str, expected: str) -> None:
    assert previous_provider(text).values == (expected,)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("yes", ["does not name"]),
        ("Proofpoint\nBarracuda", ["one provider"]),
        ("x" * 101, ["100 characters"]),
        ("1234", ["not a provider"]),
        ("", ["empty"]),
    ],
)
def test_previous_provider_refused(text: str, words: list[str]) -> None:
    error = problem(lambda: previous_provider(text))
    for word in words:
        assert word in error.problem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SMTP", "smtp"),
        ("smtp journaling", "smtp"),
        ("SMTP (recommended)", "smtp"),
        ("whatever you recommend... recommended", "smtp"),
        ("POP", "pop"),
        ("pop3", "pop"),
        ("POP3S", "pop"),
    ],
)
def test_journaling_method(text: str, expected: str) -> None:
    parsed = journaling_method(text)
    assert parsed.values == (expected,)
    if expected == "pop":
        assert "Exchange 2003" in parsed.notes[-1]
        assert "SMTP" in parsed.notes[-1]
        assert "recommended" in parsed.notes[-1]
    else:
        assert parsed.notes == ()


@pytest.mark.parametrize("text", ["SMTP or POP", "IMAP", "", "yes"])
def test_journaling_method_refused(text: str) -> None:
    problem(lambda: journaling_method(text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("AD", "active_directory"),
        ("Active Directory", "active_directory"),
        ("active-directory", "active_directory"),
        ("Microsoft AD DS on prem", "active_directory"),
        ("Entra ID synced from on-prem AD", "active_directory"),
        ("LDAP", "ldap"),
        ("OpenLDAP", "ldap"),
        ("other LDAP", "ldap"),
        ("Novell eDirectory", "ldap"),
        ("389 DS", "ldap"),
        ("none", "none"),
        ("spreadsheet", "none"),
        ("We will send a CSV", "none"),
        ("no directory", "none"),
        ("No AD", "none"),
        ("n/a", "none"),
    ],
)
def test_directory_type(text: str, expected: str) -> None:
    parsed = directory_type(text)
    assert parsed.values == (expected,)
    if expected == "none":
        assert "spreadsheet" in parsed.notes[-1]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Azure AD", ["Entra ID"]),
        ("Entra ID", ["Entra ID"]),
        ("Google directory", ["not a directory type"]),
        ("AD\nLDAP", ["2 lines"]),
    ],
)
def test_directory_type_refused(text: str, words: list[str]) -> None:
    error = problem(lambda: directory_type(text))
    for word in words:
        assert word in error.problem


# --------------------------------------------------------------------------- hostile and odd input

MULTI: list[Callable[[str], Parsed[Any]]] = [
    contacts,
    outbound_ips,
    domains,
    forwarding_hosts,
]
SINGLE: list[Callable[[str], Parsed[Any]]] = [
    platform,
    previous_provider,
    journaling_method,
    directory_type,
]
ALL = MULTI + SINGLE


@pytest.mark.parametrize("validator", ALL, ids=lambda f: f.__name__)
def test_huge_text_refused(validator: Callable[[str], Parsed[Any]]) -> None:
    error = problem(lambda: validator("a" * (MAX_TEXT_CHARS + 1)))
    assert f"{MAX_TEXT_CHARS:,}" in error.problem


@pytest.mark.parametrize(
    ("validator", "item"),
    [
        (outbound_ips, "81.2.69.160"),
        (domains, "acme.com"),
        (forwarding_hosts, "mail.acme.com"),
        (contacts, "Jane, jane@acme.com, primary"),
    ],
    ids=["outbound_ips", "domains", "forwarding_hosts", "contacts"],
)
def test_too_many_values_refused(validator: Callable[[str], Parsed[Any]], item: str) -> None:
    error = problem(lambda: validator("\n".join([item] * (MAX_VALUES + 1))))
    assert str(MAX_VALUES) in error.problem


def test_many_values_within_the_cap_are_fine() -> None:
    text = "\n".join(f"d{i}.acme.com" for i in range(MAX_VALUES))
    assert len(domains(text).values) == MAX_VALUES
    text = ", ".join(f"81.2.{i // 256}.{i % 256}" for i in range(1, MAX_VALUES + 1))
    assert len(outbound_ips(text).values) == MAX_VALUES


@pytest.mark.parametrize("validator", ALL, ids=lambda f: f.__name__)
@pytest.mark.parametrize("bad", ["\x00", "\x07", "\x1b", "\x7f", "\x9b", "\ud800"])
def test_control_characters_refused(validator: Callable[[str], Parsed[Any]], bad: str) -> None:
    error = problem(lambda: validator(f"acme{bad}.com"))
    assert "control character" in error.problem
    assert f"U+{ord(bad):04X}" in error.problem
    assert bad not in error.problem


def test_control_character_line_is_named() -> None:
    error = problem(lambda: domains("acme.com\nacme.co.uk\nacme\x00.de"))
    assert "line 3" in error.problem


@pytest.mark.parametrize(
    ("validator", "text", "expected"),
    [
        (domains, "acme.com\u200b,\u2060acme.de\ufeff", ["acme.com", "acme.de"]),
        (outbound_ips, "81.2.69.160\u202e", ["81.2.69.160"]),
        (forwarding_hosts, "\u00admail.acme.com", ["mail.acme.com"]),
    ],
)
def test_invisible_characters_removed_with_note(
    validator: Callable[[str], Parsed[Any]], text: str, expected: list[str]
) -> None:
    parsed = validator(text)
    assert shown(parsed) == expected
    assert any("invisible" in note for note in parsed.notes)


@pytest.mark.parametrize(
    "separator", ["\n", "\r\n", "\r", ",", ";", " , ", "\u2028", "\u2029", "\x85", "\v", "\f"]
)
def test_mixed_line_breaks(separator: str) -> None:
    assert [d.ascii for d in domains(f"acme.com{separator}acme.de").values] == [
        "acme.com",
        "acme.de",
    ]


@pytest.mark.parametrize("validator", ALL, ids=lambda f: f.__name__)
@pytest.mark.parametrize("text", ["", " ", "\n\n", " , ; ", "\u200b", "<!channel>", "<@U123>"])
def test_empty_and_slack_markup_refused(validator: Callable[[str], Parsed[Any]], text: str) -> None:
    problem(lambda: validator(text))


def test_quoted_user_text_is_shortened() -> None:
    error = problem(lambda: outbound_ips("x" * 5000))
    assert len(error.problem) < 300


def test_invalid_carries_problem_and_example() -> None:
    error = Invalid("what is wrong", "a good answer")
    assert isinstance(error, ValueError)
    assert (error.problem, error.example, str(error)) == (
        "what is wrong",
        "a good answer",
        "what is wrong",
    )


def test_package_exports_only_what_its_users_import() -> None:
    # The package root is the public path (questions, service, credentials, tests); the rest
    # stays in the modules, so that helpers do not become API by accident.
    import commands.rfi.validators as package

    assert sorted(package.__all__) == sorted(
        [
            "EXAMPLE_DOMAINS",  # the questions show the validators' own examples
            "EXAMPLE_HOSTS",
            "EXAMPLE_IPS",
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
    )
    # A submodule named like an exported function would be hidden by it as a package attribute.
    submodule_names = {info.name for info in pkgutil.iter_modules(package.__path__)}
    assert submodule_names.isdisjoint(package.__all__)
    public = {name for name in vars(package) if not name.startswith("_")}
    submodules = {name for name, value in vars(package).items() if isinstance(value, ModuleType)}
    assert public - submodules == set(package.__all__)


# --------------------------------------------------------------------------- properties

_FRAGMENTS = st.sampled_from(
    [
        "acme.com",
        "München.de",
        "xn--",
        "81.2.69.160",
        "::ffff:",
        "[",
        "]",
        ":25",
        "/29",
        "@",
        "<mailto:",
        "<http://a.com|",
        ">",
        "|",
        ",",
        ";",
        "\n",
        " ",
        "\u200b",
        "\u00a0",
        ".",
        "..",
        "-",
        "_",
        "primary",
        "tech",
        "Jane Smith",
        "+44 20",
        "(",
        ")",
        "Exchange",
        "2019",
        "other:",
        "pop",
        "smtp",
        "AD",
        "none",
        "\x00",
        "\ud800",
        "é",
        "ß",
        "中国",
        "\u200d",
        "%",
        "*",
    ]
)
_TEXTS = st.one_of(
    st.text(max_size=200),
    st.lists(_FRAGMENTS, max_size=25).map("".join),
    st.lists(st.one_of(_FRAGMENTS, st.text(max_size=5)), max_size=15).map("".join),
)


def _accepts(validator: Callable[..., Parsed[Any]], text: str, **kwargs: bool) -> None:
    try:
        parsed = validator(text, **kwargs)
    except Invalid as error:
        refused: Invalid | None = error
    else:
        refused = None
    if refused is not None:
        assert isinstance(refused.problem, str)
        assert refused.problem
        assert isinstance(refused.example, str)
        return
    assert isinstance(parsed, Parsed)
    for value in parsed.values:
        if isinstance(value, str):
            assert value
            continue
        assert value.display()
        assert type(value).model_validate(value.model_dump(mode="json")) == value
    assert all(isinstance(note, str) and note for note in parsed.notes)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_TEXTS, allow_private=st.booleans())
def test_no_input_raises_anything_but_invalid(text: str, allow_private: bool) -> None:
    for validator in [*SINGLE, contacts]:
        _accepts(validator, text)
    for validator in (outbound_ips, forwarding_hosts):
        _accepts(validator, text, allow_private=allow_private)
    _accepts(domains, text)
    split_values(text)


@settings(max_examples=100, deadline=None)
@given(
    address=st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)),
    allow_private=st.booleans(),
)
def test_any_ip_address_is_accepted_or_refused_with_a_reason(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_private: bool
) -> None:
    try:
        parsed = outbound_ips(str(address), allow_private=allow_private)
    except Invalid as error:
        reason = error.problem
    else:
        reason = None
    if reason is not None:
        assert "address" in reason
        return
    (value,) = parsed.values
    # One rule with the probes: what an answer may hold, the checks may probe. (Not Python's
    # is_global, whose answer for 2002::/16 and others differs between 3.11 and 3.13.)
    assert refusal(value.address, allow_private=allow_private) is None
    if not allow_private:
        assert address_kind(value.address) is None
