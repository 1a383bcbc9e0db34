"""Issue 14 s.1: nothing passes without evidence, and one report says one thing.

Real parts only: an NSD on loopback serves the domains below, the aiosmtpd servers of
`smtp_world` (and two scripted ones here) stand for the gateway's and the old MX hosts, all on
the one SMTP port of `smtp_world` (production: 25).

- inbound.mx_leftovers in a region whose profile lists no inbound MX hosts is skipped and names
  the gap; a host address nobody could read is not "resolves".
- inbound.old_mx_retired judges only hosts the domain's MX no longer names, once that MX points
  at the gateway (the same run's DNS report); only an explicit refusal retires a host, and a
  refused connection counts only when the gateway's own hosts answer the bot in that run.
- firewall.previous_provider and the report's footer name the same provider.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import pytest
import yaml
from sqlmodel import select
from support.nsd import DnsProxy, NsdServer
from support.smtp_servers import ADDRESSES, SmtpWorld

from bot.render.renderer import render
from commands.checks.dns import DnsResolver
from commands.checks.dns.report import run_dns_checks, run_dns_report
from commands.checks.probes import net
from commands.checks.probes.egress import EgressProbe, egress_hosts
from commands.checks.probes.old_mx import check_old_mx_retired
from commands.checks.probes.run import ProbePorts, run_probe_checks_async
from commands.checks.probes.targets import ProbeOptions
from commands.checks.result import CheckResult, CheckStatus
from commands.checks.service import CheckPlan, CheckReport, CheckService
from commands.core.context import Caller
from commands.core.process import Step
from commands.core.roles import Role
from commands.profiles import GatewayProfile, load_profile, parse_profile
from commands.rfi.service import Incoming
from commands.router import Router
from commands.services import Services
from store.db import Database
from store.models import Onboarding

pytestmark = pytest.mark.timeout(120)

ENGINEER = Caller("U0ENG", "C0ACME", "T0TEST", role=Role.ENGINEER)
CONTACTS = "Jane, jane@acme.example, primary\nRaj, raj@acme.example, technical"
DNS_ADDRESS = "127.0.0.46"
RESET_ADDRESS = "127.0.2.40"  # greets, then resets the connection at the first command
GREET_554_ADDRESS = "127.0.2.41"  # greets with 554: no SMTP service here
TIMEOUT = 1.0  # seconds per probe step: everything is local, only the silent host waits
NO_WAY_OUT = "could not open an SMTP connection to any host"

PROFILE = """
gateway: Test Gateway
version: 1
x-sources:
  test: &test {url: "https://gateway.test/docs", taken: 2026-11-28}
regions:
  gw:
    name: Gateway answers
    inbound_mx:
      - {host: mx1.gw.test, preference: 10, source: *test}
  down:
    name: Gateway refuses the bot
    inbound_mx:
      - {host: mx1.gwdown.test, preference: 10, source: *test}
  hush:
    name: Gateway silent to the bot
    inbound_mx:
      - {host: mx1.gwsilent.test, preference: 10, source: *test}
  nomx:
    name: No MX facts
    inbound_mx: []
    spf_include: {include: eu._spf.gw.test, source: *test}
"""


def _zone(*records: str) -> list[str]:
    return [f"ns1 A {DNS_ADDRESS}", *records]


def zones() -> dict[str, list[str]]:
    return {
        # The gateway's MX host as each region sees it: one that answers, one whose port is
        # refused and one that never answers (the last two: the bot cannot reach port 25).
        "gw.test": _zone(f"mx1 A {ADDRESSES['good']}"),
        "gwdown.test": _zone(f"mx1 A {ADDRESSES['closed']}"),
        "gwsilent.test": _zone(f"mx1 A {ADDRESSES['silent']}"),
        # Old MX hosts, one per behaviour.
        "old.test": _zone(
            f"open A {ADDRESSES['openmx']}",  # accepts RCPT TO
            f"rejects A {ADDRESSES['closedmx']}",  # 550 to RCPT TO
            f"closed A {ADDRESSES['closed']}",  # connection refused
            f"silent A {ADDRESSES['silent']}",  # never answers
            f"reset A {RESET_ADDRESS}",
            f"greet554 A {GREET_554_ADDRESS}",
        ),
        # The customer's domains.
        "switched.test": _zone("@ 3600 MX 10 mx1.gw.test."),
        "halfway.test": _zone("@ 3600 MX 10 mx1.gw.test.", "@ 3600 MX 20 closed.old.test."),
        "cutdown.test": _zone("@ 3600 MX 10 mx1.gwdown.test."),
        "cutsilent.test": _zone("@ 3600 MX 10 mx1.gwsilent.test."),
        "noaddr.test": _zone("@ 3600 MX 10 mx1.gw.test.", "@ 3600 MX 20 gone.old.test."),
        "pp.test": _zone("@ 3600 MX 10 mx0a-0012.pphosted.com."),
        # A Proofpoint host, served here (never asked on the Internet).
        "pphosted.com": _zone(f"mx0a-0012 A {ADDRESSES['closed']}"),
    }


class ScriptedSmtp:
    """A one-trick SMTP server on a loopback address, one connection at a time.

    greeting: the first line it sends. reset: at the client's first command, close with a TCP
    reset (SO_LINGER 0) instead of answering; otherwise answer 221 to anything and close.
    """

    def __init__(self, address: str, port: int, greeting: str, *, reset: bool) -> None:
        self.greeting = greeting
        self.reset = reset
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((address, port))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            with conn:
                conn.settimeout(5)
                try:
                    conn.sendall(self.greeting.encode() + b"\r\n")
                    conn.recv(1024)  # EHLO (or QUIT after a 554 greeting)
                    if self.reset:  # linger on, for 0 s: close() sends a reset
                        conn.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )
                    else:
                        conn.sendall(b"221 2.0.0 bye\r\n")
                except OSError:
                    pass

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@dataclass
class World:
    nsd: NsdServer
    smtp: SmtpWorld
    profile: GatewayProfile
    reset: ScriptedSmtp

    def resolver(self) -> DnsResolver:
        return DnsResolver(
            [self.nsd.nameserver], timeout=1.0, lifetime=2.0, direct_port=self.nsd.port
        )

    @property
    def port(self) -> int:
        return self.smtp.port

    def options(self) -> ProbeOptions:
        return ProbeOptions(
            resolver=self.resolver(), allow_private=True, timeout=TIMEOUT, helo_name="bot.test"
        )

    def service(
        self, database: Database, resolver: Callable[[], DnsResolver] | None = None
    ) -> CheckService:
        port = self.port
        return CheckService(
            database,
            self.profile,
            resolver or self.resolver,
            allow_private=True,
            ports=ProbePorts(gateway=port, old_mx=port, lockdown=port, forwarding_default=port),
            ca_file=str(self.smtp.ca.ca_file),
            timeout=TIMEOUT,
        )


@pytest.fixture(scope="module")
def world(smtp_world: SmtpWorld) -> Iterator[World]:
    reset = ScriptedSmtp(RESET_ADDRESS, smtp_world.port, "220 reset.old.test ESMTP", reset=True)
    greet = ScriptedSmtp(
        GREET_554_ADDRESS, smtp_world.port, "554 5.3.2 no mail service here", reset=False
    )
    try:
        with NsdServer(zones(), address=DNS_ADDRESS) as nsd:
            profile = parse_profile(yaml.safe_load(PROFILE), "truth-profile.yml")
            yield World(nsd, smtp_world, profile, reset)
    finally:
        reset.stop()
        greet.stop()


# --- 1. inbound.mx_leftovers without the data to judge ------------------------------------------


def leftovers(world: World, domain: str, region: str, resolver: DnsResolver | None = None):  # type: ignore[no-untyped-def]
    profile_region = world.profile.region(region)
    results = run_dns_checks([domain], profile_region, resolver or world.resolver(), {"inbound"})
    return {r.id: r for r in results}


def test_leftovers_in_a_region_without_mx_hosts_is_skipped_naming_the_gap(world: World) -> None:
    results = leftovers(world, "switched.test", "nomx")
    result = results["inbound.mx_leftovers"]
    assert result.status is CheckStatus.SKIPPED, result  # was: pass, "no MX host besides..."
    assert "lists no inbound MX hosts for region nomx" in result.summary
    assert "confirm them with your gateway engineer" in result.summary
    assert "besides the gateway's" not in result.summary
    assert results["inbound.mx_gateway"].status is CheckStatus.SKIPPED


@pytest.mark.parametrize("region", ["ca", "uspcom"])
def test_shipped_regions_without_mx_hosts_skip_the_leftovers(world: World, region: str) -> None:
    shipped = load_profile().region(region)
    assert shipped.mx_hosts == ()  # the shipped profile's gap this test is about
    results = run_dns_checks(["switched.test"], shipped, world.resolver(), {"inbound"})
    (result,) = [r for r in results if r.id == "inbound.mx_leftovers"]
    assert result.status is CheckStatus.SKIPPED, result
    assert f"no inbound MX hosts for region {region}" in result.summary


def test_without_mx_hosts_an_address_less_mx_still_fails_and_the_gap_is_named(
    world: World,
) -> None:
    result = leftovers(world, "noaddr.test", "nomx")["inbound.mx_leftovers"]
    assert result.status is CheckStatus.FAIL, result
    assert "gone.old.test has no address" in result.summary
    assert "Whether any other MX host is left over cannot be told" in result.summary
    assert "region nomx" in result.summary


def test_an_mx_host_whose_address_was_not_read_is_not_said_to_resolve(world: World) -> None:
    # mx1.gw.test's A question times out; its AAAA question says "no such record". Nobody
    # saw an address, so "every MX host resolves" would be untrue.
    with DnsProxy(
        (world.nsd.address, world.nsd.port),
        address="127.0.0.47",
        drop_unless={"mx1.gw.test": ("AAAA", "MX", "NS", "SOA")},
    ) as proxy:
        resolver = DnsResolver(
            [proxy.nameserver], timeout=0.5, lifetime=1.0, direct_port=world.nsd.port
        )
        results = leftovers(world, "switched.test", "gw", resolver)
    assert results["inbound.mx_gateway"].status is CheckStatus.PASS
    result = results["inbound.mx_leftovers"]
    assert result.status is CheckStatus.UNKNOWN, result
    assert "Could not resolve mx1.gw.test (A timeout, AAAA nodata)" in result.summary


def test_leftovers_with_gateway_hosts_still_pass_on_evidence(world: World) -> None:
    result = leftovers(world, "switched.test", "gw")["inbound.mx_leftovers"]
    assert result.status is CheckStatus.PASS, result
    assert any("127.0.2.1" in line for line in result.evidence)


# --- 2. inbound.old_mx_retired through the check service ----------------------------------------


def onboarding(world: World, database: Database, region: str, domains: str) -> Router:
    checks_service = world.service(database)
    router = Router(
        Services.build(
            database,
            allow_private_targets=True,
            checks=checks_service,
            regions={key: key for key in world.profile.regions},
        )
    )
    router.handle_text(ENGINEER, f"open acme --service both --region {region}")
    router.services.rfi.bind_thread("acme", "C0ACME", "1.0", "U0ENG")
    for n, text in enumerate([CONTACTS, "next", "127.0.0.40", "next", domains]):
        router.services.rfi.reply(Incoming("C0ACME", "1.0", f"2.{n}", "U0CUST", text))
    return router


def old_mx_hosts(database: Database, hosts: dict[str, list[str]]) -> None:
    """What an earlier check recorded as the MX hosts before the switch."""
    with database.session(write=True) as session:
        row = session.exec(select(Onboarding)).one()
        row.old_mx_hosts = hosts
        session.add(row)


def run(
    world: World, database: Database, router: Router, *steps: Step
) -> dict[tuple[str, str | None], CheckResult]:
    service = world.service(database)
    plan = router.handle_text(ENGINEER, "check acme")
    assert isinstance(plan, CheckPlan)
    report = service.run(replace(plan, steps=steps or (Step.INBOUND,)), "U0ENG")
    return {(r.id, r.subject): r for r in report.results}


def test_an_old_mx_host_still_in_the_live_mx_is_not_judged(
    world: World, database: Database
) -> None:
    # closed.old.test refuses connections, and it is still the domain's MX at preference 20:
    # it was reported "no longer takes its mail" while senders still use it.
    router = onboarding(world, database, "gw", "halfway.test")
    old_mx_hosts(database, {"halfway.test": ["closed.old.test"]})
    results = run(world, database, router)
    assert results[("inbound.mx_gateway", "halfway.test")].status is CheckStatus.FAIL
    result = results[("inbound.old_mx_retired", "halfway.test")]
    assert result.status is CheckStatus.SKIPPED, result
    assert "do not point only at the gateway yet" in result.summary
    assert "no longer take" not in result.summary


def test_a_reset_after_the_banner_is_unknown_not_retired(world: World, database: Database) -> None:
    router = onboarding(world, database, "gw", "switched.test")
    old_mx_hosts(database, {"switched.test": ["reset.old.test"]})
    before = world.reset.connections
    result = run(world, database, router)[("inbound.old_mx_retired", "switched.test")]
    assert world.reset.connections > before  # the probe did reach the host
    assert result.status is CheckStatus.UNKNOWN, result
    assert "reset.old.test" in result.summary
    assert "answered, then" in result.summary
    assert "no longer take" not in result.summary


@pytest.mark.parametrize(
    ("region", "domain", "status", "words"),
    [
        # The gateway's host answers the bot, so a refusal is the old host's own.
        ("gw", "switched.test", CheckStatus.PASS, "refuses connections"),
        # The gateway's host is refused too, or silent: the bot cannot reach port 25 at all.
        ("down", "cutdown.test", CheckStatus.UNKNOWN, NO_WAY_OUT),
        ("hush", "cutsilent.test", CheckStatus.UNKNOWN, NO_WAY_OUT),
    ],
)
def test_a_refused_port_retires_a_host_only_when_the_bot_can_reach_port_25(
    world: World, database: Database, region: str, domain: str, status: CheckStatus, words: str
) -> None:
    router = onboarding(world, database, region, domain)
    old_mx_hosts(database, {domain: ["closed.old.test"]})
    result = run(world, database, router)[("inbound.old_mx_retired", domain)]
    assert result.status is status, result
    assert words in result.summary
    assert result.summary.count(NO_WAY_OUT) <= 1


def test_a_host_that_times_out_is_unknown(world: World, database: Database) -> None:
    router = onboarding(world, database, "gw", "switched.test")
    old_mx_hosts(database, {"switched.test": ["silent.old.test"]})
    result = run(world, database, router)[("inbound.old_mx_retired", "switched.test")]
    assert result.status is CheckStatus.UNKNOWN, result
    assert "silent.old.test port" in result.summary
    assert "did not answer within 1 s (waiting for the banner)" in result.summary


def test_blocked_port_25_is_said_once_by_every_probe_that_relies_on_silence(
    world: World, database: Database
) -> None:
    # The gateway refuses the bot like everything else: the lockdown would pass and the old
    # MX host would look retired, both on nothing but the bot's own blocked port.
    router = onboarding(world, database, "down", "cutdown.test")
    old_mx_hosts(database, {"cutdown.test": ["closed.old.test"]})
    results = run(world, database, router, Step.INBOUND, Step.FIREWALL)
    for key in (("inbound.old_mx_retired", "cutdown.test"), ("firewall.lockdown", None)):
        result = results[key]
        assert result.status is CheckStatus.UNKNOWN, result
        assert result.summary.count(NO_WAY_OUT) == 1
        assert "mx1.gwdown.test" in result.summary  # the gateway host that was tried
        assert "connection refused" in result.summary


def test_old_mx_hosts_are_kept_only_from_an_mx_answer(world: World, database: Database) -> None:
    router = onboarding(world, database, "gw", "halfway.test, switched.test")
    plan = router.handle_text(ENGINEER, "check acme inbound")
    assert isinstance(plan, CheckPlan)
    # First run: switched.test's name server does not answer. A timeout is not "no MX host".
    with DnsProxy(
        (world.nsd.address, world.nsd.port), address="127.0.0.47", drop={"switched.test"}
    ) as proxy:

        def slow() -> DnsResolver:
            return DnsResolver(
                [proxy.nameserver], timeout=0.3, lifetime=0.6, direct_port=world.nsd.port
            )

        world.service(database, slow).run(plan, "U0ENG")
    with database.session() as session:
        row = session.exec(select(Onboarding)).one()
    assert row.old_mx_hosts == {"halfway.test": ["closed.old.test"]}
    # The next run that reads its MX keeps it; what was kept stays.
    world.service(database).run(plan, "U0ENG")
    with database.session() as session:
        row = session.exec(select(Onboarding)).one()
    assert row.old_mx_hosts == {"halfway.test": ["closed.old.test"], "switched.test": []}


# --- 2. inbound.old_mx_retired, each answer, against the same run's DNS report ------------------


def old_mx(world: World, region: str, domain: str, *hosts: str) -> CheckResult:
    profile_region = world.profile.region(region)
    report = run_dns_report([domain], profile_region, world.resolver(), {"inbound"})
    opts = world.options()
    egress = EgressProbe(egress_hosts(profile_region), world.port, opts)
    return asyncio.run(
        check_old_mx_retired(
            domain,
            hosts,
            opts,
            region=profile_region,
            mx_now=report.mx_now().get(domain),
            port=world.port,
            egress=egress,
        )
    )


def test_explicit_refusals_retire_old_hosts(world: World) -> None:
    result = old_mx(world, "gw", "switched.test", "rejects.old.test", "greet554.old.test")
    assert result.status is CheckStatus.PASS, result
    assert "rejects.old.test" in result.summary
    assert "rejects the recipient (550" in result.summary
    assert "greet554.old.test" in result.summary
    assert "refuses SMTP (554 5.3.2" in result.summary
    assert "MX of switched.test in this run: mx1.gw.test" in result.evidence


def test_an_old_host_that_accepts_still_fails(world: World) -> None:
    result = old_mx(world, "gw", "switched.test", "open.old.test", "rejects.old.test")
    assert result.status is CheckStatus.FAIL, result
    assert "open.old.test" in result.summary
    assert "still accepts mail for switched.test" in result.summary


def test_an_old_host_name_that_no_longer_resolves_is_unknown(world: World) -> None:
    result = old_mx(world, "gw", "switched.test", "gone.old.test")
    assert result.status is CheckStatus.UNKNOWN, result
    assert "gone.old.test has no address" in result.summary


def test_old_mx_in_a_region_without_mx_hosts_is_skipped_naming_the_gap(world: World) -> None:
    result = old_mx(world, "nomx", "switched.test", "closed.old.test")
    assert result.status is CheckStatus.SKIPPED, result
    assert "lists no inbound MX hosts for region nomx" in result.summary


def test_no_route_out_is_said_once_by_every_probe(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every connection fails as a host without a route out fails (ENETUNREACH): each probe
    check that would read that as a verdict says so once, and nothing passes."""

    async def no_route(*args: object, **kwargs: object) -> object:
        raise OSError(errno.ENETUNREACH, "Network is unreachable")

    monkeypatch.setattr(net, "open_stream", no_route)
    region = world.profile.region("gw")
    report = asyncio.run(
        run_probe_checks_async(
            region.model_copy(update={"smart_hosts": region.inbound_mx}),
            world.resolver(),
            {"outbound", "inbound", "firewall"},
            outbound_ips=[ADDRESSES["closed"]],
            forwarding=[f"{ADDRESSES['closed']}:{world.port}"],
            old_mx={"switched.test": ["closed.old.test"]},
            mx_now=run_dns_report(
                ["switched.test"], region, world.resolver(), {"inbound"}
            ).mx_now(),
            allow_private=True,
            timeout=TIMEOUT,
            ports=ProbePorts(gateway=world.port, old_mx=world.port, lockdown=world.port),
        )
    )
    by_id = {r.id: r for r in report.results}
    for check_id in (
        "outbound.smart_hosts",
        "inbound.delivery_routes",
        "inbound.old_mx_retired",
        "firewall.lockdown",
    ):
        result = by_id[check_id]
        assert result.status is CheckStatus.UNKNOWN, result
        assert result.summary.count(NO_WAY_OUT) == 1, result.summary
        assert "Network is unreachable" in result.summary
    assert CheckStatus.PASS not in {r.status for r in report.results}


# --- 3. one provider per report -----------------------------------------------------------------


def provider_onboarding(world: World, database: Database, named: str | None) -> Router:
    router = onboarding(world, database, "gw", "pp.test")
    answers = ["next", f"{ADDRESSES['closed']}", "next", "Exchange 2019"]
    answers.append(named or "none")
    for n, text in enumerate(answers):
        router.services.rfi.reply(Incoming("C0ACME", "1.0", f"3.{n}", "U0CUST", text))
    return router


def provider_run(world: World, database: Database, router: Router) -> CheckReport:
    plan = router.handle_text(ENGINEER, "check acme")
    assert isinstance(plan, CheckPlan)
    return world.service(database).run(replace(plan, steps=(Step.INBOUND, Step.FIREWALL)), "U0ENG")


def test_the_check_and_the_footer_name_the_provider_this_run_recognised(
    world: World, database: Database
) -> None:
    router = provider_onboarding(world, database, None)
    report = provider_run(world, database, router)
    assert report.previous_provider == "Proofpoint"
    (provider,) = [r for r in report.results if r.id == "firewall.previous_provider"]
    assert "Previous provider: Proofpoint" in provider.summary, provider
    assert "recognised in this run from the records of pp.test: MX mx0a-0012.pphosted.com" in (
        provider.summary
    )
    text = render(report).text
    assert "Previous provider recognised: *Proofpoint*" in text
    assert "No previous provider" not in text

    # The next run recognises nothing new: the footer is quiet, the check still names it.
    again = provider_run(world, database, router)
    assert again.previous_provider is None
    (provider,) = [r for r in again.results if r.id == "firewall.previous_provider"]
    assert "Previous provider: Proofpoint (recognised from the MX/SPF records" in provider.summary
    assert "Previous provider recognised" not in render(again).text


def test_an_rfi_answer_naming_another_provider_does_not_contradict_the_records(
    world: World, database: Database
) -> None:
    router = provider_onboarding(world, database, "Barracuda")
    report = provider_run(world, database, router)
    assert report.previous_provider == "Proofpoint"
    (provider,) = [r for r in report.results if r.id == "firewall.previous_provider"]
    assert "Previous provider: Proofpoint" in provider.summary, provider
    assert "Barracuda" not in provider.summary
    assert "the RFI names Barracuda as the previous provider" in provider.evidence
    assert "Previous provider recognised: *Proofpoint*" in render(report).text


def test_an_rfi_answer_alone_is_named_as_such(world: World, database: Database) -> None:
    router = provider_onboarding(world, database, "Barracuda")
    plan = router.handle_text(ENGINEER, "check acme firewall")  # no DNS: nothing recognised
    assert isinstance(plan, CheckPlan)
    report = world.service(database).run(plan, "U0ENG")
    (provider,) = [r for r in report.results if r.id == "firewall.previous_provider"]
    assert "Previous provider: Barracuda (named in the RFI)" in provider.summary, provider
