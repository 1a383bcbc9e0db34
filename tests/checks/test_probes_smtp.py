"""The SMTP checks against real aiosmtpd servers on 127.0.2.x (support/smtp_servers.py)."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from support.smtp_servers import (
    ADDRESSES,
    SilentServer,
    SmtpWorld,
)

from commands.checks.dns.mx import MxNow
from commands.checks.probes import verdicts as checks
from commands.checks.probes.egress import EgressProbe
from commands.checks.probes.old_mx import check_old_mx_retired
from commands.checks.probes.run import (
    CHECK_ORDER,
    ProbePorts,
    parse_endpoint,
    run_probe_checks_async,
)
from commands.checks.probes.smtp import probe_smtp
from commands.checks.probes.targets import ProbeOptions
from commands.checks.probes.tls import TlsProblem
from commands.checks.result import CheckResult, CheckStatus
from commands.profiles import GatewayRegion, HostFact, Source

SOURCE = Source(url="https://gateway.test/docs", taken=date(2026, 11, 28))
TIMEOUT = 1.0  # seconds per step: the servers are local, only the silent one needs waiting for


def region(*, smart: tuple[str, ...] = (), journal: tuple[str, ...] = ()) -> GatewayRegion:
    return GatewayRegion(
        key="eu",
        name="Test Europe",
        inbound_mx=(
            HostFact(host="mx1.gateway.test", preference=10, source=SOURCE),
            HostFact(host="mx2.gateway.test", preference=20, source=SOURCE),
        ),
        smart_hosts=tuple(HostFact(host=h, source=SOURCE) for h in smart),
        journal_hosts=tuple(HostFact(host=h, source=SOURCE) for h in journal),
    )


def options(world: SmtpWorld, *, ca: bool = True, timeout: float = TIMEOUT) -> ProbeOptions:
    return ProbeOptions(
        resolver=world.resolver(),
        allow_private=True,
        ca_file=str(world.ca.ca_file) if ca else None,
        timeout=timeout,
        helo_name="probe.connect-bot.test",
    )


def reachable(world: SmtpWorld, opts: ProbeOptions) -> EgressProbe:
    """The run's reachability check, against a server that answers: the bot can reach port 25."""
    return EgressProbe(("good.probe.test",), world.port, opts)


def at_gateway(domain: str) -> MxNow:
    """The same run's DNS report, as the old-MX check sees it: the MX points at the gateway."""
    verdict = CheckResult("inbound.mx_gateway", CheckStatus.PASS, domain, "at the gateway")
    return MxNow(domain, ("mx1.gateway.test", "mx2.gateway.test"), verdict)


def smart(world: SmtpWorld, *keys: str, ca: bool = True) -> CheckResult:
    hosts = tuple(f"{key}.probe.test" for key in keys)
    return asyncio.run(
        checks.check_smart_hosts(region(smart=hosts), options(world, ca=ca), port=world.port)
    )


# --- the probe itself -------------------------------------------------------------------------


def test_probe_reads_banner_starttls_and_certificate(smtp_world: SmtpWorld) -> None:
    probe = asyncio.run(
        probe_smtp(
            "good.probe.test",
            ADDRESSES["good"],
            smtp_world.port,
            timeout=TIMEOUT,
            ca_file=str(smtp_world.ca.ca_file),
        )
    )
    assert probe.accepts_smtp
    assert probe.starttls_offered is True
    assert probe.tls is not None
    assert probe.tls.ok
    assert probe.tls.cert is not None
    assert probe.tls.cert.subject == "good.probe.test"
    assert probe.tls.cert.issuer == smtp_world.ca.name
    assert probe.rcpt is None  # no recipient asked for: no MAIL/RCPT sent
    evidence = probe.evidence()
    assert "banner 220 good.probe.test" in evidence
    assert "STARTTLS" in evidence
    assert "valid until" in evidence


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("expired", TlsProblem.EXPIRED),
        ("wrongname", TlsProblem.HOSTNAME),
        ("untrusted", TlsProblem.UNTRUSTED),
        ("future", TlsProblem.NOT_YET_VALID),
    ],
)
def test_each_tls_failure_is_named(smtp_world: SmtpWorld, key: str, problem: TlsProblem) -> None:
    probe = asyncio.run(
        probe_smtp(
            f"{key}.probe.test",
            ADDRESSES[key],
            smtp_world.port,
            timeout=TIMEOUT,
            ca_file=str(smtp_world.ca.ca_file),
        )
    )
    assert probe.tls is not None
    assert probe.tls.failure is not None
    assert probe.tls.failure.problem is problem


def test_probe_outcomes_for_closed_and_silent_ports(smtp_world: SmtpWorld) -> None:
    closed, silent = asyncio.run(_closed_and_silent(smtp_world))
    assert closed.outcome == "refused"
    assert closed.error == "connection refused"
    assert silent.outcome == "timeout"
    assert silent.error == "did not answer within 1 s (waiting for the banner)"


async def _closed_and_silent(world: SmtpWorld):  # type: ignore[no-untyped-def]
    return await asyncio.gather(
        probe_smtp("closed.probe.test", ADDRESSES["closed"], world.port, timeout=TIMEOUT),
        probe_smtp("silent.probe.test", ADDRESSES["silent"], world.port, timeout=TIMEOUT),
    )


# --- outbound.smart_hosts ---------------------------------------------------------------------


def test_smart_hosts_pass(smtp_world: SmtpWorld) -> None:
    result = smart(smtp_world, "good", "good2")
    assert result.id == "outbound.smart_hosts"
    assert result.status is CheckStatus.PASS, result
    assert "All 2 smart hosts accept SMTP with STARTTLS" in result.summary
    assert "valid until" in result.summary
    # Which hosts it was judged against, then one line per host.
    assert result.evidence[0].startswith("judged against the smart hosts of Test Europe")
    assert len(result.evidence) == 3


@pytest.mark.parametrize("dead", ["silent", "closed"])
def test_one_of_two_smart_hosts_unreachable_is_a_warning(smtp_world: SmtpWorld, dead: str) -> None:
    result = smart(smtp_world, "good", dead)
    assert result.status is CheckStatus.WARN, result
    assert "1 of 2 smart hosts work" in result.summary
    assert f"{dead}.probe.test" in result.summary


def test_all_smart_hosts_unreachable_is_a_fail(smtp_world: SmtpWorld) -> None:
    result = smart(smtp_world, "closed", "nothing")
    assert result.status is CheckStatus.FAIL, result
    assert "connection refused" in result.summary
    assert "nothing.probe.test has no address" in result.summary


def test_smart_hosts_that_never_answer_are_unknown(smtp_world: SmtpWorld) -> None:
    result = smart(smtp_world, "silent")
    assert result.status is CheckStatus.UNKNOWN, result
    assert "did not answer within 1 s" in result.summary


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("expired", "the certificate has expired"),
        ("wrongname", "the certificate is for another host name"),
        ("untrusted", "the certificate chain is not trusted"),
        ("plain", "does not offer STARTTLS"),
        ("future", "the certificate is not valid yet"),
    ],
)
def test_smart_host_tls_problems_fail_by_name(smtp_world: SmtpWorld, key: str, words: str) -> None:
    result = smart(smtp_world, "good", key)
    assert result.status is CheckStatus.FAIL, result
    assert f"{key}.probe.test" in result.summary
    assert words in result.summary


def test_system_trust_store_does_not_trust_the_test_ca(smtp_world: SmtpWorld) -> None:
    result = smart(smtp_world, "good", ca=False)
    assert result.status is CheckStatus.FAIL
    assert "not trusted" in result.summary


def test_no_smart_hosts_in_profile_is_skipped(smtp_world: SmtpWorld) -> None:
    result = smart(smtp_world)
    assert result.status is CheckStatus.SKIPPED
    assert "lists no outbound smart hosts" in result.summary


# --- outbound.authorized_ips ------------------------------------------------------------------


def authorized(world: SmtpWorld, ips: list[str], *, allow_private: bool = True) -> CheckResult:
    opts = ProbeOptions(resolver=world.resolver(), allow_private=allow_private, timeout=TIMEOUT)
    return asyncio.run(checks.check_authorized_ips(ips, opts))


def test_forward_confirmed_reverse_dns_passes(smtp_world: SmtpWorld) -> None:
    result = authorized(smtp_world, ["127.0.2.1", "127.0.2.7"])
    assert result.status is CheckStatus.PASS, result
    assert "127.0.2.1 -> good.probe.test -> 127.0.2.1" in result.summary


def test_reverse_dns_not_confirmed_or_missing_warns(smtp_world: SmtpWorld) -> None:
    result = authorized(smtp_world, ["127.0.2.1", "127.0.2.5", "127.0.2.6"])
    assert result.status is CheckStatus.WARN, result
    assert "127.0.2.5 -> liar.probe.test, which does not resolve back" in result.summary
    assert "127.0.2.6 has no reverse DNS" in result.summary


def test_ranges_private_and_garbage_fail(smtp_world: SmtpWorld) -> None:
    result = authorized(smtp_world, ["203.0.113.0/24", "mail.acme.test"])
    assert result.status is CheckStatus.FAIL
    assert "203.0.113.0/24 is a range" in result.summary
    assert "mail.acme.test is not an IP address" in result.summary
    private = authorized(smtp_world, ["127.0.2.1"], allow_private=False)
    assert private.status is CheckStatus.FAIL
    assert "127.0.2.1 is a loopback address" in private.summary


# --- inbound.delivery_routes ------------------------------------------------------------------


def routes(world: SmtpWorld, *items: str) -> CheckResult:
    endpoints = [parse_endpoint(item, world.port) for item in items]
    return asyncio.run(checks.check_delivery_routes(endpoints, options(world)))


def test_delivery_routes_by_name_and_ip_pass(smtp_world: SmtpWorld) -> None:
    # The good server's certificate names 127.0.2.1 too, so a route given as an IP verifies.
    result = routes(smtp_world, "good.probe.test", f"127.0.2.1:{smtp_world.port}")
    assert result.status is CheckStatus.PASS, result
    assert "All 2 forwarding addresses" in result.summary


def test_delivery_route_without_starttls_fails(smtp_world: SmtpWorld) -> None:
    result = routes(smtp_world, "good.probe.test", "plain.probe.test")
    assert result.status is CheckStatus.FAIL
    assert "plain.probe.test port" in result.summary
    assert "does not offer STARTTLS" in result.summary


def test_delivery_route_by_ip_without_ip_in_certificate_fails(smtp_world: SmtpWorld) -> None:
    result = routes(smtp_world, ADDRESSES["good2"])
    assert result.status is CheckStatus.FAIL
    assert "another host name" in result.summary


def test_closed_delivery_route_is_unknown_not_missing(smtp_world: SmtpWorld) -> None:
    result = routes(smtp_world, "closed.probe.test")
    assert result.status is CheckStatus.UNKNOWN
    assert "connection refused" in result.summary
    assert "admits only the gateway's ranges" in result.summary


def test_parse_endpoint() -> None:
    assert parse_endpoint("mail.acme.com", 25) == ("mail.acme.com", 25)
    assert parse_endpoint("mail.acme.com:2525", 25) == ("mail.acme.com", 2525)
    assert parse_endpoint("[2001:db8::1]:587", 25) == ("2001:db8::1", 587)
    assert parse_endpoint("2001:db8::1", 25) == ("2001:db8::1", 25)
    assert parse_endpoint(("192.0.2.1", None), 25) == ("192.0.2.1", 25)


# --- inbound.old_mx_retired -------------------------------------------------------------------


def old_mx(world: SmtpWorld, *hosts: str) -> CheckResult:
    opts = options(world)
    return asyncio.run(
        check_old_mx_retired(
            "acme.test",
            hosts,
            opts,
            region=region(),
            mx_now=at_gateway("acme.test"),
            port=world.port,
            egress=reachable(world, opts),
        )
    )


def test_old_mx_that_still_accepts_fails(smtp_world: SmtpWorld) -> None:
    recorder = smtp_world.servers["openmx"].recorder
    before = len(recorder.commands)
    result = old_mx(smtp_world, "openmx.probe.test", "closedmx.probe.test")
    assert result.status is CheckStatus.FAIL, result
    assert result.subject == "acme.test"
    assert result.summary.startswith(
        f"openmx.probe.test port {smtp_world.port} still accepts mail for acme.test"
    )
    seen = recorder.commands[before:]
    assert "RCPT TO:<postmaster@acme.test>" in seen
    assert "DATA" not in seen  # the probe never sends a message


def test_old_mx_whose_starttls_fails_is_retried_in_plain_text(smtp_world: SmtpWorld) -> None:
    # Sending MTAs fall back to plain text when STARTTLS fails, so the probe must too.
    result = old_mx(smtp_world, "badtls.probe.test")
    assert result.status is CheckStatus.FAIL, result
    assert "badtls.probe.test port" in result.summary
    assert any("TLS failed" in line for line in result.evidence)
    assert any("RCPT TO:<postmaster@acme.test> -> 250" in line for line in result.evidence)


def test_retired_old_mx_hosts_pass(smtp_world: SmtpWorld) -> None:
    result = old_mx(smtp_world, "closedmx.probe.test", "closed.probe.test")
    assert result.status is CheckStatus.PASS, result
    assert "rejects the recipient (550" in result.summary
    assert "refuses connections" in result.summary
    # The refusal counted because the gateway's side answered the bot: that is evidence too.
    assert any(line.startswith("reachability: ") for line in result.evidence)


def test_old_mx_name_that_no_longer_resolves_is_unknown(smtp_world: SmtpWorld) -> None:
    # Its old addresses may still take mail; nobody asked them.
    result = old_mx(smtp_world, "closedmx.probe.test", "nothing.probe.test")
    assert result.status is CheckStatus.UNKNOWN, result
    assert "nothing.probe.test has no address" in result.summary
    assert "could not be asked" in result.summary


def test_old_mx_that_never_answers_is_unknown(smtp_world: SmtpWorld) -> None:
    result = old_mx(smtp_world, "silent.probe.test")
    assert result.status is CheckStatus.UNKNOWN
    assert "Ask the ISP to confirm" in result.summary


def test_gateway_hosts_are_not_old_mx(smtp_world: SmtpWorld) -> None:
    result = old_mx(smtp_world, "mx1.gateway.test")
    assert result.status is CheckStatus.SKIPPED


# --- journaling.smtp --------------------------------------------------------------------------


def journal(world: SmtpWorld, *hosts: str, address: str | None = None, fmt: str | None = None):  # type: ignore[no-untyped-def]
    return asyncio.run(
        checks.check_journaling_smtp(
            region(journal=hosts),
            options(world),
            journal_address=address,
            address_format=fmt,
            port=world.port,
        )
    )


def test_journal_hosts_answer_but_without_an_address_format_it_is_a_warning(
    smtp_world: SmtpWorld,
) -> None:
    result = journal(smtp_world, "journal.probe.test")
    assert result.status is CheckStatus.WARN, result
    assert "journal hosts accept mail with STARTTLS" in result.summary
    assert "no journal address format for Test Europe" in result.summary
    assert any("no journal address format" in line for line in result.evidence)


def test_journal_address_format(smtp_world: SmtpWorld) -> None:
    fmt = r"journal-[a-z0-9]+@archive\.gateway\.test"
    good = journal(
        smtp_world, "journal.probe.test", address="journal-acme@archive.gateway.test", fmt=fmt
    )
    assert good.status is CheckStatus.PASS
    assert any("has the expected format" in line for line in good.evidence)
    bad = journal(smtp_world, "journal.probe.test", address="journal@acme.test", fmt=fmt)
    assert bad.status is CheckStatus.FAIL
    assert "journal@acme.test does not have the form" in bad.summary


def test_journal_host_with_expired_certificate_fails(smtp_world: SmtpWorld) -> None:
    result = journal(smtp_world, "journal.probe.test", "expired.probe.test")
    assert result.status is CheckStatus.FAIL
    assert "expired" in result.summary


# --- firewall ---------------------------------------------------------------------------------


def lockdown(world: SmtpWorld, *hosts: str) -> CheckResult:
    endpoints = [(host, world.port) for host in hosts]
    opts = options(world)
    return asyncio.run(
        checks.check_firewall_lockdown(endpoints, opts, egress=reachable(world, opts))
    )


def test_lockdown_fails_naming_each_open_address(smtp_world: SmtpWorld) -> None:
    result = lockdown(smtp_world, "127.0.2.1", "plain.probe.test", "closed.probe.test")
    assert result.status is CheckStatus.FAIL, result
    assert f"127.0.2.1:{smtp_world.port}" in result.summary
    assert f"127.0.2.4:{smtp_world.port} (plain.probe.test)" in result.summary
    assert "127.0.2.9" not in result.summary
    assert "bypass the gateway" in result.summary


def test_lockdown_passes_when_refused_or_silent(smtp_world: SmtpWorld) -> None:
    result = lockdown(smtp_world, "127.0.2.9", "silent.probe.test")
    assert result.status is CheckStatus.PASS, result
    assert "one outside address" in result.summary
    assert "bypass the gateway" in result.summary


def test_previous_provider_is_a_manual_step() -> None:
    result = checks.check_previous_provider("Proofpoint", source="recognised from MX records")
    assert result.id == "firewall.previous_provider"
    assert result.status is CheckStatus.SKIPPED
    assert "Proofpoint (recognised from MX records)" in result.summary
    assert "Cancel that contract" in result.summary
    assert checks.check_previous_provider(None).status is CheckStatus.SKIPPED


# --- the whole run ----------------------------------------------------------------------------


def test_run_all_in_stable_order(smtp_world: SmtpWorld) -> None:
    port = smtp_world.port
    seen: list[str] = []
    report = asyncio.run(
        run_probe_checks_async(
            region(smart=("good.probe.test", "good2.probe.test"), journal=("journal.probe.test",)),
            smtp_world.resolver(),
            outbound_ips=["127.0.2.1"],
            forwarding=[f"good.probe.test:{port}"],
            old_mx={"acme.test": ["closedmx.probe.test"], "acme.example": ["openmx.probe.test"]},
            mx_now={d: at_gateway(d) for d in ("acme.test", "acme.example")},
            journaling_method="smtp",
            journal_address_format=r"journal-[a-z]+@archive\.gateway\.test",
            journal_address="journal-acme@archive.gateway.test",
            previous_provider="Proofpoint",
            allow_private=True,
            ca_file=str(smtp_world.ca.ca_file),
            timeout=TIMEOUT,
            ports=ProbePorts(gateway=port, old_mx=port, lockdown=port),
            on_result=lambda r: seen.append(r.id),
        )
    )
    ids = [r.id for r in report.results]
    assert ids == [
        "outbound.smart_hosts",
        "outbound.authorized_ips",
        "inbound.delivery_routes",
        "inbound.old_mx_retired",
        "inbound.old_mx_retired",
        "journaling.smtp",
        "firewall.lockdown",
        "firewall.previous_provider",
    ]
    assert sorted(seen) == sorted(ids)
    assert [r.subject for r in report.results if r.id == "inbound.old_mx_retired"] == [
        "acme.test",
        "acme.example",
    ]
    status = {(r.id, r.subject): r.status for r in report.results}
    assert status[("outbound.smart_hosts", None)] is CheckStatus.PASS
    assert status[("outbound.authorized_ips", None)] is CheckStatus.PASS
    assert status[("inbound.delivery_routes", None)] is CheckStatus.PASS
    assert status[("inbound.old_mx_retired", "acme.test")] is CheckStatus.PASS
    assert status[("inbound.old_mx_retired", "acme.example")] is CheckStatus.FAIL
    assert status[("journaling.smtp", None)] is CheckStatus.PASS
    assert status[("firewall.lockdown", None)] is CheckStatus.FAIL  # 127.0.2.1 answers
    assert set(CHECK_ORDER) >= set(ids)


def test_probes_of_one_run_are_in_flight_together(
    smtp_world: SmtpWorld, silent_server: SilentServer
) -> None:
    # Two customer hosts that never answer (a delivery route and a sending address, both on
    # the silent listener): the listener sees both connections open at once, so the run costs
    # one timeout, not two. A gateway host that answers shows the bot can reach port 25.
    port = silent_server.port
    report = asyncio.run(
        run_probe_checks_async(
            region(smart=("good.probe.test",)),
            smtp_world.resolver(),
            {"inbound", "firewall"},
            outbound_ips=["127.0.0.1"],
            forwarding=[f"127.0.0.1:{port}"],
            allow_private=True,
            timeout=2.0,
            ports=ProbePorts(gateway=smtp_world.port, lockdown=port),
        )
    )
    assert silent_server.accepted == 2
    assert silent_server.max_open == 2
    status = {r.id: r.status for r in report.results}
    assert status["inbound.delivery_routes"] is CheckStatus.UNKNOWN
    assert status["firewall.lockdown"] is CheckStatus.PASS


def test_unknown_step_is_an_error(smtp_world: SmtpWorld) -> None:
    with pytest.raises(ValueError, match="unknown step"):
        asyncio.run(run_probe_checks_async(region(), smtp_world.resolver(), {"dns"}))


def test_a_crashing_check_becomes_unknown_and_the_others_still_report(
    smtp_world: SmtpWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **kwargs: object) -> CheckResult:
        raise RuntimeError("bug")

    monkeypatch.setattr(checks, "check_smart_hosts", broken)
    report = asyncio.run(
        run_probe_checks_async(
            region(), smtp_world.resolver(), {"outbound", "firewall"}, allow_private=True
        )
    )
    by_id = {r.id: r for r in report.results}
    assert by_id["outbound.smart_hosts"].status is CheckStatus.UNKNOWN
    assert "internal error (RuntimeError)" in by_id["outbound.smart_hosts"].summary
    assert by_id["firewall.previous_provider"].status is CheckStatus.SKIPPED
    assert len(report.results) == 4
