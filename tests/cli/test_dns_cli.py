"""`connect-bot check` and `connect-bot spf` against the test DNS server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.dns_fixtures import TEST_PROFILE_YAML, DnsWorld

from bot.cli import main

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def dns_env(dns_world: DnsWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DnsWorld:
    profile = tmp_path / "profile.yml"
    profile.write_text(TEST_PROFILE_YAML, encoding="utf-8")
    monkeypatch.setenv("CONNECT_DNS_NAMESERVERS", dns_world.nsd.nameserver)
    monkeypatch.setenv("CONNECT_DNS_DIRECT_PORT", str(dns_world.nsd.port))
    monkeypatch.setenv("CONNECT_GATEWAY_PROFILE", str(profile))
    return dns_world


def test_check_json(dns_env: DnsWorld, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "good.test", "--region", "eu", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["domain"] == "good.test"
    assert [r["status"] for r in data["results"]] == ["pass"] * 4
    assert data["results"][3]["id"] == "outbound.spf"


def test_check_text_with_step_and_failure(
    dns_env: DnsWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "leftover.test", "--step", "inbound"]) == 1
    out = capsys.readouterr().out
    assert "FAIL inbound.mx_gateway · leftover.test" in out
    assert "publish: leftover.test. MX 10 mx1.gateway.test." in out
    assert "previous provider: Microsoft 365" in out
    assert "outbound.spf" not in out


def test_check_unknown_region_is_a_usage_error(
    dns_env: DnsWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "good.test", "--region", "mars"]) == 2
    assert "region 'mars' is not in the Test Gateway profile" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("ip", "word", "status"),
    [("192.0.2.1", "pass", 0), ("198.51.100.20", "pass", 0), ("203.0.113.9", "fail", 3)],
)
def test_spf_prints_the_result_word(
    dns_env: DnsWorld, capsys: pytest.CaptureFixture[str], ip: str, word: str, status: int
) -> None:
    # The exit status says the result too (bot.cli_dns.SPF_EXIT_CODES): 0 only for pass.
    assert main(["spf", "good.test", "--ip", ip]) == status
    assert capsys.readouterr().out == f"{word}\n"


def test_spf_softfail_none_and_permerror(
    dns_env: DnsWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["spf", "softfail.test", "--ip", "192.0.2.1", "--sender", "a@softfail.test"])
    main(["spf", "nospf.test", "--ip", "192.0.2.1", "--helo", "mail.nospf.test"])
    main(["spf", "twospf.test", "--ip", "192.0.2.1"])
    main(["spf", "deep.test", "--ip", "198.18.0.1"])  # not matched early: all terms run
    assert capsys.readouterr().out.split() == ["softfail", "none", "permerror", "permerror"]
