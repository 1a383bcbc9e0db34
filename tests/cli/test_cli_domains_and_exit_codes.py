"""`connect-bot check` reads its domain as the RFI reads one, before any DNS query; `connect-bot
spf` follows RFC 7208 4.3 for a malformed domain (the result is none, not a refusal) and says its
result in its exit status (issue 14). Against the scenario NSD of tests/support/dns_fixtures.py,
through a relay that counts the questions it is asked.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.dns_fixtures import TEST_PROFILE_YAML, DnsWorld
from support.nsd import DnsProxy

from bot.cli import main
from bot.cli_dns import SPF_EXIT_CODES

pytestmark = pytest.mark.timeout(60)

LONG_LABEL = "a" * 64


@pytest.fixture
def relay(dns_world: DnsWorld) -> Iterator[DnsProxy]:
    """The scenario NSD behind a relay that counts every DNS question that reaches it."""
    with DnsProxy((dns_world.nsd.address, dns_world.nsd.port), address="127.0.0.8") as proxy:
        yield proxy


@pytest.fixture
def cli_env(
    dns_world: DnsWorld, relay: DnsProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> DnsProxy:
    profile = tmp_path / "profile.yml"
    profile.write_text(TEST_PROFILE_YAML, encoding="utf-8")
    monkeypatch.setenv("CONNECT_DNS_NAMESERVERS", relay.nameserver)
    monkeypatch.setenv("CONNECT_DNS_DIRECT_PORT", str(dns_world.nsd.port))
    monkeypatch.setenv("CONNECT_GATEWAY_PROFILE", str(profile))
    return relay


def questions(relay: DnsProxy) -> int:
    return relay.answered + relay.dropped


# --- connect-bot check: the RFI's domain validator, before any lookup ---------------------------


@pytest.mark.parametrize(
    ("argument", "reason"),
    [
        ("http://x", "\"http://x\" does not end in a public top-level domain ('.x' is not one)"),
        ("a@b", "\"a@b\" does not end in a public top-level domain ('.b' is not one)"),
        ("com", '"com" is a public suffix (like com or co.uk)'),
        ("a b.com", '"a b.com" is not one domain name: it holds 2 ("a", "b.com")'),
        ("good.test, nospf.test", "is not one domain name: it holds 2"),
        ("a..test", '"a..test" has an empty part'),
        ("", "the domain is empty"),
        (f"{LONG_LABEL}.test", "has a part 64 characters long"),
    ],
)
def test_check_refuses_what_is_not_a_mail_domain_before_asking_dns(
    cli_env: DnsProxy, capsys: pytest.CaptureFixture[str], argument: str, reason: str
) -> None:
    assert main(["check", "--", argument]) == 2
    printed = capsys.readouterr()
    assert printed.out == ""
    assert printed.err.startswith("connect-bot check: ")
    assert reason in printed.err
    assert questions(cli_env) == 0  # refused before any lookup


def test_the_relay_counts_the_questions_of_a_domain_that_is_checked(
    cli_env: DnsProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    # The same relay does see a check that runs: a zero above means nothing was asked.
    assert main(["check", "good.test", "--step", "outbound"]) == 0
    assert "ok   outbound.spf · good.test" in capsys.readouterr().out
    assert questions(cli_env) > 0


def test_check_reads_an_address_as_its_domain_and_says_so(
    cli_env: DnsProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "jane@good.test", "--step", "outbound", "--json"]) == 0
    printed = capsys.readouterr()
    assert 'connect-bot check: Read "jane@good.test" as the domain good.test.' in printed.err
    assert '"domain": "good.test"' in printed.out


# --- connect-bot spf: RFC 7208 4.3, and the exit status ------------------------------------------


@pytest.mark.parametrize(
    "domain",
    [
        f"{LONG_LABEL}.example.com",  # a label over 63 octets
        "a...example.com",  # empty labels
        "localhost",  # not a multi-label name
        "[192.0.2.1]",  # a domain literal
    ],
)
def test_spf_for_a_malformed_domain_is_none_not_a_refusal(
    cli_env: DnsProxy, capsys: pytest.CaptureFixture[str], domain: str
) -> None:
    code = main(["spf", "--ip", "192.0.2.1", "--", domain])
    printed = capsys.readouterr()
    assert (printed.out, code) == ("none\n", SPF_EXIT_CODES["none"]), printed.err
    assert printed.err == ""


def test_spf_for_a_malformed_sender_domain_is_none(
    cli_env: DnsProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    sender = f"jane@{LONG_LABEL}.good.test"
    code = main(["spf", f"{LONG_LABEL}.good.test", "--ip", "192.0.2.1", "--sender", sender])
    assert (capsys.readouterr().out, code) == ("none\n", 6)


@pytest.mark.parametrize(
    ("args", "result", "code"),
    [
        (["good.test", "--ip", "192.0.2.1"], "pass", 0),
        (["good.test", "--ip", "203.0.113.9"], "fail", 3),
        (["softfail.test", "--ip", "192.0.2.1"], "softfail", 4),
        (["noall.test", "--ip", "203.0.113.9"], "neutral", 5),
        (["nospf.test", "--ip", "192.0.2.1"], "none", 6),
        (["twospf.test", "--ip", "192.0.2.1"], "permerror", 7),
    ],
)
def test_spf_exit_status_says_the_result(
    cli_env: DnsProxy,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    result: str,
    code: int,
) -> None:
    assert main(["spf", *args]) == code
    assert capsys.readouterr().out == f"{result}\n"
    assert SPF_EXIT_CODES[result] == code


def test_spf_temperror_has_its_own_status(
    dns_world: DnsWorld, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A relay that never answers for slow.test: the TXT lookup times out.
    upstream = (dns_world.nsd.address, dns_world.nsd.port)
    with DnsProxy(upstream, address="127.0.0.8", drop={"slow.test"}) as silent:
        monkeypatch.setenv("CONNECT_DNS_NAMESERVERS", silent.nameserver)
        code = main(["spf", "slow.test", "--ip", "192.0.2.1"])
    assert (capsys.readouterr().out, code) == ("temperror\n", 8)


def test_every_result_has_a_distinct_status_apart_from_usage_errors() -> None:
    codes = list(SPF_EXIT_CODES.values())
    assert SPF_EXIT_CODES["pass"] == 0
    assert len(set(codes)) == len(codes) == 7
    assert not {1, 2} & set(codes)  # 1: an unexpected error, 2: bad input


def test_spf_a_bad_ip_is_bad_input(cli_env: DnsProxy, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spf", "good.test", "--ip", "999.1.1.1"]) == 2
    assert "connect-bot spf: " in capsys.readouterr().err
    assert questions(cli_env) == 0


def test_spf_null_sender_checks_the_helo_name(
    cli_env: DnsProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    # MAIL FROM:<> with HELO good.test: good.test's record decides, not nospf.test's.
    code = main(["spf", "nospf.test", "--ip", "192.0.2.1", "--sender", "", "--helo", "good.test"])
    assert (capsys.readouterr().out, code) == ("pass\n", 0)


def test_spf_help_documents_the_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["spf", "--help"])
    help_text = capsys.readouterr().out
    assert "0 pass, 3 fail, 4 softfail, 5 neutral, 6 none, 7 permerror, 8 temperror" in help_text
    assert "2 bad input" in help_text
