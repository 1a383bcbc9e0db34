"""journaling.pop against a real Dovecot (support/dovecot.py): POP3S and POP3+STLS, the right
password, a wrong one (which must appear nowhere), and TLS failures."""

from __future__ import annotations

import asyncio
import logging

import pytest
from support.dovecot import (
    JOURNAL_MESSAGES,
    JOURNAL_PASSWORD,
    JOURNAL_USER,
    POP_ADDRESS,
    POP_HOST,
    DovecotServer,
)
from support.nsd import free_port
from support.smtp_servers import SmtpWorld

from commands.checks.probes import verdicts as checks
from commands.checks.probes.pop import PopCredentials
from commands.checks.probes.run import run_probe_checks_async
from commands.checks.probes.targets import ProbeOptions
from commands.checks.result import CheckResult, CheckStatus
from commands.profiles import GatewayRegion

TIMEOUT = 5.0
WRONG_PASSWORD = "Wr0ng-Horse-Battery-9f3a"


def pop_check(
    world: SmtpWorld,
    credentials: PopCredentials | None,
    *,
    ca: bool = True,
    allow_private: bool = True,
    platform: str | None = None,
) -> CheckResult:
    options = ProbeOptions(
        resolver=world.resolver(),
        allow_private=allow_private,
        ca_file=str(world.ca.ca_file) if ca else None,
        timeout=TIMEOUT,
    )
    return asyncio.run(checks.check_journaling_pop(credentials, options, platform=platform))


def creds(
    server: DovecotServer, security: str, password: str = JOURNAL_PASSWORD, host: str = POP_HOST
) -> PopCredentials:
    port = server.pop3s_port if security == "pop3s" else server.pop3_port
    return PopCredentials(host, port, security, JOURNAL_USER, password)  # type: ignore[arg-type]


@pytest.mark.parametrize("security", ["pop3s", "stls"])
def test_right_password_reports_count_and_size(
    smtp_world: SmtpWorld, dovecot_server: DovecotServer, security: str
) -> None:
    result = pop_check(smtp_world, creds(dovecot_server, security))
    assert result.id == "journaling.pop"
    assert result.status is CheckStatus.PASS, result
    size = sum(len(message) for message in JOURNAL_MESSAGES)
    assert f"{len(JOURNAL_MESSAGES)} messages waiting ({size} bytes)" in result.summary
    assert any(f"certificate {POP_HOST}" in line for line in result.evidence)
    assert JOURNAL_PASSWORD not in repr(result.as_dict())


@pytest.mark.parametrize("security", ["pop3s", "stls"])
def test_wrong_password_fails_and_is_never_shown(
    smtp_world: SmtpWorld,
    dovecot_server: DovecotServer,
    security: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    credentials = creds(dovecot_server, security, WRONG_PASSWORD)
    result = pop_check(smtp_world, credentials)
    assert result.status is CheckStatus.FAIL, result
    assert f"refused the password for user {JOURNAL_USER}" in result.summary
    out, err = capsys.readouterr()
    for text in (repr(result), repr(result.as_dict()), caplog.text, out, err, repr(credentials)):
        assert WRONG_PASSWORD not in text
    assert WRONG_PASSWORD not in dovecot_server.log_text()


def test_untrusted_certificate_fails_before_the_password_is_sent(
    smtp_world: SmtpWorld, dovecot_server: DovecotServer
) -> None:
    # The system trust store does not know the test CA.
    result = pop_check(smtp_world, creds(dovecot_server, "pop3s"), ca=False)
    assert result.status is CheckStatus.FAIL
    assert "certificate chain is not trusted" in result.summary
    assert "The password was not sent" in result.summary


def test_host_name_mismatch_is_named(smtp_world: SmtpWorld, dovecot_server: DovecotServer) -> None:
    # Connecting by address: the certificate names pop.probe.test, not 127.0.0.16.
    result = pop_check(smtp_world, creds(dovecot_server, "stls", host=dovecot_server.address))
    assert result.status is CheckStatus.FAIL
    assert "the certificate is for another host name" in result.summary


def test_closed_port_and_refused_target(smtp_world: SmtpWorld) -> None:
    closed_port = free_port(POP_ADDRESS)  # nothing listens there
    closed = PopCredentials(POP_HOST, closed_port, "pop3s", JOURNAL_USER, JOURNAL_PASSWORD)
    result = pop_check(smtp_world, closed)
    assert result.status is CheckStatus.FAIL
    assert "Nothing accepts connections" in result.summary
    refused = pop_check(smtp_world, closed, allow_private=False)
    assert refused.status is CheckStatus.FAIL
    assert "not probed: pop.probe.test resolves to 127.0.0.16" in refused.summary


def test_missing_credentials_are_skipped(smtp_world: SmtpWorld) -> None:
    result = pop_check(smtp_world, None)
    assert result.status is CheckStatus.SKIPPED
    assert "credentials" in result.summary


def test_pop_for_a_modern_platform_says_smtp_is_recommended(
    smtp_world: SmtpWorld, dovecot_server: DovecotServer
) -> None:
    result = pop_check(smtp_world, creds(dovecot_server, "pop3s"), platform="Exchange 2019")
    assert result.status is CheckStatus.PASS
    assert "SMTP, which is recommended" in result.summary
    legacy = pop_check(smtp_world, creds(dovecot_server, "pop3s"), platform="Exchange 2003")
    assert "recommended" not in legacy.summary


def test_credentials_repr_hides_the_password() -> None:
    credentials = PopCredentials(POP_HOST, 995, "pop3s", JOURNAL_USER, JOURNAL_PASSWORD)
    assert JOURNAL_PASSWORD not in repr(credentials)
    with pytest.raises(ValueError, match="security"):
        PopCredentials(POP_HOST, 995, "plain", JOURNAL_USER, "x")  # type: ignore[arg-type]


def test_run_journaling_pop(smtp_world: SmtpWorld, dovecot_server: DovecotServer) -> None:
    report = asyncio.run(
        run_probe_checks_async(
            GatewayRegion(key="eu", name="Test Europe"),
            smtp_world.resolver(),
            {"journaling"},
            journaling_method="pop",
            pop=creds(dovecot_server, "stls"),
            allow_private=True,
            ca_file=str(smtp_world.ca.ca_file),
            timeout=TIMEOUT,
        )
    )
    assert [r.id for r in report.results] == ["journaling.pop"]
    assert report.results[0].status is CheckStatus.PASS
