"""recipients.directory against a real OpenLDAP slapd (support/slapd.py): StartTLS and LDAPS with
the right CA, each TLS failure named, a wrong password (which must appear nowhere), base DNs that
are missing or malformed, paging past the server's size limit, Active Directory rules (disabled
accounts, proxyAddresses), addresses outside the RFI, filter injection, and the target guard."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Iterator

import ldap3
import pytest
from support.slapd import (
    BIND_DN,
    BIND_PASSWORD,
    DOMAINS,
    GROUPS,
    LDAP_ADDRESS,
    LDAP_HOST,
    SIZE_LIMIT,
    SUFFIX,
    USER_COUNT,
    USERS_DN,
    SlapdServer,
    user_profile,
)
from support.smtp_servers import SmtpWorld
from support.test_ca import TestCA

from commands.checks.directory import DirectoryReport, DirectorySettings, check_directory
from commands.checks.directory import stages as directory_check
from commands.checks.directory.stages import address_filter, validate_base_dn
from commands.checks.result import CheckStatus

TIMEOUT = 5.0
WRONG_PASSWORD = "Wr0ng-Battery-Staple-ldap-77c1"
INJECTION = "*)(|(objectClass=*"

PROFILES = [user_profile(i) for i in range(USER_COUNT)]
ENABLED = [p for p in PROFILES if not p["disabled"]]
AD_USERS = [p for p in ENABLED if p["mail"]]
LDAP_USERS = [p for p in PROFILES if p["mail"]]


def settings(
    server: SlapdServer, security: str = "starttls", **changes: object
) -> DirectorySettings:
    values: dict[str, object] = {
        "host": LDAP_HOST,
        "security": security,
        "port": server.ldaps_port if security == "ldaps" else server.ldap_port,
        "bind_dn": BIND_DN,
        "password": BIND_PASSWORD,
        "base_dn": SUFFIX,
        "directory_type": "active_directory",
        "domains": DOMAINS,
        "ca_pem": server.ca_pem,
        "allow_private": True,
        "timeout": TIMEOUT,
    }
    values.update(changes)
    return DirectorySettings(**values)  # type: ignore[arg-type]


def run(world: SmtpWorld, config: DirectorySettings) -> DirectoryReport:
    return asyncio.run(check_directory(config, world.resolver()))


def stage(report: DirectoryReport, name: str) -> CheckStatus | None:
    for result in report.results:
        if result.id == f"recipients.directory.{name}":
            return result.status
    return None


def failed(report: DirectoryReport) -> str:
    """The stage that failed (the last stage result before the roll-up)."""
    return report.results[-2].id.rpartition(".")[2]


@pytest.fixture(scope="module")
def ad_report(smtp_world: SmtpWorld, slapd_server: SlapdServer) -> DirectoryReport:
    return run(smtp_world, settings(slapd_server, "starttls"))


@pytest.fixture(scope="module")
def expired_slapd(probe_ca: TestCA) -> Iterator[SlapdServer]:
    leaf = probe_ca.issue("127.0.0.19", expired=True, file_stem="slapd-expired")
    with SlapdServer(leaf, probe_ca.ca_file, address="127.0.0.19") as server:
        yield server


def test_size_limit_is_live(slapd_server: SlapdServer) -> None:
    # The premise of the paging tests: a plain search stops at the server's limit.
    server = ldap3.Server(LDAP_ADDRESS, port=slapd_server.ldap_port, get_info=ldap3.NONE)
    conn = ldap3.Connection(server, BIND_DN, BIND_PASSWORD, auto_bind=True)
    conn.search(USERS_DN, "(objectClass=user)", attributes=["1.1"])
    assert conn.result["result"] == 4  # sizeLimitExceeded
    assert len(conn.entries) == SIZE_LIMIT
    conn.unbind()


@pytest.mark.parametrize("security", ["starttls", "ldaps"])
def test_tls_with_right_ca_reads_directory(
    smtp_world: SmtpWorld, slapd_server: SlapdServer, security: str
) -> None:
    report = run(smtp_world, settings(slapd_server, security))
    for name in ("target", "connect", "tls", "bind", "search"):
        assert stage(report, name) == CheckStatus.PASS, report.results
    assert report.entries_read == USER_COUNT
    assert report.users == len(AD_USERS)


def test_paging_reads_all_entries_past_size_limit(
    smtp_world: SmtpWorld, slapd_server: SlapdServer
) -> None:
    report = run(smtp_world, settings(slapd_server, "ldaps", directory_type="ldap"))
    assert report.entries_read == USER_COUNT > SIZE_LIMIT
    assert report.users == len(LDAP_USERS)
    assert report.without_address == USER_COUNT - len(LDAP_USERS)
    assert report.disabled_skipped == 0  # plain LDAP has no disabled flag
    addresses = {r.address for r in report.recipients}
    assert {p["mail"] for p in LDAP_USERS} <= addresses
    assert not any(r.address.startswith("alias") for r in report.recipients)  # mail only


def test_active_directory_leaves_disabled_out_and_reads_proxy_addresses(
    ad_report: DirectoryReport,
) -> None:
    disabled = [p for p in PROFILES if p["disabled"]]
    assert report_ok(ad_report)
    assert ad_report.disabled_skipped == len(disabled) > 0
    addresses = {r.address for r in ad_report.recipients}
    assert not any(p["mail"] in addresses for p in disabled if p["mail"])
    aliases = {p["alias"] for p in AD_USERS if p["alias"]}
    assert aliases
    assert aliases <= addresses
    assert not any(a.startswith("/o=") or "x500" in a for a in addresses)
    group_mails = {mail for mail, _ in GROUPS.values()}
    assert group_mails <= addresses
    assert ad_report.groups == len(GROUPS)
    expected = {p["mail"] for p in AD_USERS} | aliases | group_mails
    assert addresses == expected
    assert len(ad_report.recipients) == len(expected)  # no duplicates
    user0 = next(r for r in ad_report.recipients if r.address == "user0000@acme.test")
    assert user0.display_name == "User 0000"
    assert set(user0.groups) == {"All Staff", "Sales", "Support", "Board"}


def report_ok(report: DirectoryReport) -> bool:
    return all(r.status in (CheckStatus.PASS, CheckStatus.WARN) for r in report.results) and bool(
        report.recipients
    )


def test_addresses_outside_rfi_domains_are_listed(ad_report: DirectoryReport) -> None:
    outside = sorted(
        [str(p["mail"]) for p in AD_USERS if str(p["mail"]).endswith("@other.test")]
        + [m for m, _ in GROUPS.values() if m.endswith("@other.test")]
    )
    assert ad_report.outside_count == len(outside) > 0
    assert list(ad_report.outside) == outside[: len(ad_report.outside)]
    assert ad_report.summary.id == "recipients.directory"
    # Listed so the customer can add the domain or ignore them; they do not hold the step up.
    assert ad_report.summary.status == CheckStatus.PASS
    assert "not in the RFI" in ad_report.summary.summary
    assert any("user0003@other.test" in e for e in ad_report.summary.evidence)
    assert set(ad_report.per_domain) == set(DOMAINS)
    assert sum(ad_report.per_domain.values()) + ad_report.outside_count == len(ad_report.recipients)
    assert 0 < len(ad_report.sample) <= 10


def test_untrusted_ca_is_named(
    smtp_world: SmtpWorld, slapd_server: SlapdServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    stranger = TestCA.create(tmp_path_factory.mktemp("stranger"), "Stranger LDAP CA")
    for security in ("starttls", "ldaps"):
        report = run(
            smtp_world, settings(slapd_server, security, ca_pem=stranger.ca_file.read_text())
        )
        assert failed(report) == "tls"
        assert stage(report, "tls") == CheckStatus.FAIL
        tls = report.results[-2]
        assert "not trusted" in tls.summary
        assert stage(report, "bind") is None  # nothing was sent after the failed handshake
        assert report.summary.status == CheckStatus.FAIL


def test_system_store_does_not_trust_test_ca(
    smtp_world: SmtpWorld, slapd_server: SlapdServer
) -> None:
    report = run(smtp_world, settings(slapd_server, "ldaps", ca_pem=None))
    assert failed(report) == "tls"
    assert "not trusted" in report.results[-2].summary


def test_host_name_mismatch_is_named(smtp_world: SmtpWorld, slapd_server: SlapdServer) -> None:
    # The certificate is for ldap.probe.test; connecting by address does not match it.
    report = run(smtp_world, settings(slapd_server, "ldaps", host=LDAP_ADDRESS))
    assert failed(report) == "tls"
    assert "another host name" in report.results[-2].summary


def test_expired_certificate_is_named(smtp_world: SmtpWorld, expired_slapd: SlapdServer) -> None:
    report = run(smtp_world, settings(expired_slapd, "starttls", host="127.0.0.19"))
    assert failed(report) == "tls"
    assert "expired" in report.results[-2].summary


def test_wrong_password_is_named_and_never_shown(
    smtp_world: SmtpWorld,
    slapd_server: SlapdServer,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    config = settings(slapd_server, "starttls", password=WRONG_PASSWORD)
    report = run(smtp_world, config)
    assert failed(report) == "bind"
    bind = report.results[-2]
    assert bind.status == CheckStatus.FAIL
    assert "wrong bind DN or password" in bind.summary
    assert "invalidCredentials" in bind.summary
    out, err = capsys.readouterr()
    texts = (repr(report), *(repr(r.as_dict()) for r in report.results), caplog.text, out, err)
    for text in (*texts, repr(config)):
        assert WRONG_PASSWORD not in text
        assert BIND_PASSWORD not in text


def test_plain_ldap_works_but_warns(smtp_world: SmtpWorld, slapd_server: SlapdServer) -> None:
    report = run(smtp_world, settings(slapd_server, "plain", ca_pem=None))
    assert stage(report, "tls") is None
    assert stage(report, "bind") == CheckStatus.WARN
    assert "in clear" in report.results[-3].summary or any(
        "in clear" in r.summary for r in report.results
    )
    assert report.summary.status == CheckStatus.WARN
    assert report.users == len(AD_USERS)


def test_missing_base_dn_says_no_such_object(
    smtp_world: SmtpWorld, slapd_server: SlapdServer
) -> None:
    report = run(smtp_world, settings(slapd_server, base_dn="ou=nobody,dc=acme,dc=test"))
    assert stage(report, "bind") == CheckStatus.PASS
    assert failed(report) == "search"
    assert "does not exist" in report.results[-2].summary
    assert "noSuchObject" in report.results[-2].summary


@pytest.mark.parametrize("base_dn", ["dc=acme,,dc=test", "not a dn", "", "=acme", INJECTION])
def test_malformed_base_dn_is_refused_before_connecting(
    smtp_world: SmtpWorld,
    slapd_server: SlapdServer,
    monkeypatch: pytest.MonkeyPatch,
    base_dn: str,
) -> None:
    calls: list[object] = []
    monkeypatch.setattr(
        directory_check.socket, "create_connection", lambda *a, **k: calls.append(a)
    )
    report = run(smtp_world, settings(slapd_server, base_dn=base_dn))
    assert failed(report) == "search"
    assert "base DN" in report.results[-2].summary
    assert report.summary.status == CheckStatus.FAIL
    assert calls == []
    with pytest.raises(ValueError, match="base DN"):
        validate_base_dn(base_dn)


def test_injection_in_base_dn_value_is_harmless(
    smtp_world: SmtpWorld, slapd_server: SlapdServer
) -> None:
    # A syntactically valid DN whose value carries filter syntax: an entry that does not exist.
    escaped = "".join(f"\\{ord(c):02x}" if c in "()*=|\\" else c for c in INJECTION)
    base = "ou=" + escaped
    report = run(smtp_world, settings(slapd_server, base_dn=f"{base},{SUFFIX}"))
    assert failed(report) == "search"
    assert "does not exist" in report.results[-2].summary
    assert not report.recipients


def test_filter_values_are_escaped(slapd_server: SlapdServer) -> None:
    server = ldap3.Server(LDAP_ADDRESS, port=slapd_server.ldap_port, get_info=ldap3.NONE)
    conn = ldap3.Connection(server, BIND_DN, BIND_PASSWORD, auto_bind=True)
    conn.search(SUFFIX, address_filter(INJECTION), attributes=["1.1"])
    assert conn.entries == []  # escaped: a literal value nobody has
    conn.search(SUFFIX, address_filter("User0002@ACME.test"), attributes=["1.1"])
    assert [e.entry_dn for e in conn.entries] == [f"uid=user0002,{USERS_DN}"]
    conn.search(SUFFIX, address_filter("alias0001@acme-eu.test"), attributes=["1.1"])
    assert [e.entry_dn for e in conn.entries] == [f"uid=user0001,{USERS_DN}"]
    conn.unbind()


def test_guard_refuses_private_address_without_connecting(
    smtp_world: SmtpWorld, slapd_server: SlapdServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []
    real = socket.create_connection

    def spy(*args: object, **kwargs: object) -> socket.socket:
        calls.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(directory_check.socket, "create_connection", spy)
    for host in (LDAP_HOST, LDAP_ADDRESS):
        report = run(smtp_world, settings(slapd_server, host=host, allow_private=False))
        assert failed(report) == "target"
        assert "loopback" in report.results[-2].summary
        assert "CONNECT_ALLOW_PRIVATE_TARGETS" in report.results[-2].summary
        assert report.summary.status == CheckStatus.FAIL
    assert calls == []


def test_closed_port_is_a_connect_failure(smtp_world: SmtpWorld, slapd_server: SlapdServer) -> None:
    from support.nsd import free_port

    report = run(smtp_world, settings(slapd_server, "ldaps", port=free_port(LDAP_ADDRESS)))
    assert failed(report) == "connect"
    assert "refuses connections" in report.results[-2].summary
    connect = report.results[-2]
    assert "636" in " ".join(connect.evidence) + (connect.fix or "")


def test_unknown_host_is_a_target_failure(smtp_world: SmtpWorld, slapd_server: SlapdServer) -> None:
    report = run(smtp_world, settings(slapd_server, host="nosuch.probe.test"))
    assert failed(report) == "target"
    assert report.results[-2].status == CheckStatus.FAIL
    assert "no address" in report.results[-2].summary
