"""Issue 14 s.2: the gateway's facts, complete and honest about their source.

- The shipped profile carries the researched facts (../shared/research/mimecast-regions.md), each
  with a source, a date and a confidence; the Jersey region is one of them.
- A check that relies on a fact below `official` says so in its evidence.
- A Microsoft 365 customer (the RFI's mail platform) is judged against the Microsoft 365 smart
  hosts, anyone else against the others.
- A check whose fact is missing is `skipped` naming the gap, and its advice speaks to whoever
  can act: a customer contact is not told to edit a server setting.
- Jersey end to end: opened with --region je, its DNS records shown, its checks run.

Real parts: an NSD on loopback serves the customer's domains and the test gateway's hosts (and
the smart hosts, which are the aiosmtpd servers of `smtp_world`, on its one port).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from support.nsd import NsdServer
from support.smtp_servers import ADDRESSES, SmtpWorld, probe_zones

from bot.render.renderer import render
from commands.checks.details import CheckDetailsService
from commands.checks.dns import DnsResolver
from commands.checks.dns.report import run_dns_checks
from commands.checks.probes.run import ProbePorts, run_probe_checks_async
from commands.checks.result import CheckResult, CheckStatus
from commands.checks.service import CheckPlan, CheckService, DnsRecords
from commands.core.context import Caller, Door
from commands.core.roles import Role
from commands.profiles import (
    Confidence,
    GatewayProfile,
    ProfileError,
    load_profile,
    parse_profile,
)
from commands.regions import REGIONS
from commands.rfi.service import Incoming
from commands.router import Router
from commands.services import Services
from store.db import Database

pytestmark = pytest.mark.timeout(120)

DNS_ADDRESS = "127.0.0.61"
TIMEOUT = 1.0
ENGINEER = Caller("U0ENG", "C0ACME", "T0TEST", role=Role.ENGINEER)
CUSTOMER = Caller("U0CUST", "C0ACME", "T0CUST", role=Role.CUSTOMER, door=Door.MENTION)
CONTACTS = "Jane, jane@acme.example, primary\nRaj, raj@acme.example, technical"
CODE_CAVEAT = "host names from public configurations"
DNS_CAVEAT = "seen in public DNS answers"
CONFIRM = "with your gateway engineer"

# "eu": every host fact below official, the standard and the Microsoft 365 smart hosts apart
# (good.probe.test and good2.probe.test of smtp_world); "bare": an official MX only; "none":
# no fact at all.
PROFILE = """
gateway: Test Gateway
version: 1
x-sources:
  page: &page {url: "https://gateway.test/docs", taken: 2026-12-06}
  seen: &seen {taken: 2026-12-06, note: seen in customers' MX answers}
  scripts: &scripts {taken: 2026-12-06, note: public connector scripts}
regions:
  eu:
    name: Test Europe
    inbound_mx:
      - {host: mx1.facts-gw.test, preference: 10, confidence: dns, source: *seen}
    spf_include: {include: eu._spf.facts-gw.test, confidence: official, source: *page}
    smart_hosts:
      - {host: good.probe.test, confidence: code, source: *scripts}
    m365_smart_hosts:
      - {host: good2.probe.test, confidence: code, source: *scripts}
    journal_hosts:
      - {host: journal.probe.test, confidence: official, source: *page}
  bare:
    name: Test Bare
    inbound_mx:
      - {host: mx1.facts-gw.test, preference: 10, confidence: official, source: *page}
  none:
    name: Test Nothing
"""


def zones() -> dict[str, list[str]]:
    ns = f"ns1 A {DNS_ADDRESS}"
    return {
        **probe_zones(),  # good, good2, journal.probe.test: smtp_world's servers
        "facts-gw.test": [
            ns,
            f"mx1 A {ADDRESSES['good']}",
            'eu._spf TXT "v=spf1 ip4:192.0.2.0/25 -all"',
        ],
        "acme.test": [
            ns,
            "@ 3600 MX 10 mx1.facts-gw.test.",
            '@ TXT "v=spf1 include:eu._spf.facts-gw.test -all"',
        ],
        # Jersey: the shipped profile's hosts, served here (never asked on the Internet).
        "mimecast-offshore.com": [
            ns,
            f"je-smtp-inbound-1 A {ADDRESSES['good']}",
            f"je-smtp-inbound-2 A {ADDRESSES['good2']}",
        ],
        "jersey.test": [
            ns,
            "@ 3600 MX 10 je-smtp-inbound-1.mimecast-offshore.com.",
            "@ 3600 MX 10 je-smtp-inbound-2.mimecast-offshore.com.",
            '@ TXT "v=spf1 ip4:203.0.113.5 -all"',
        ],
    }


@dataclass
class World:
    nsd: NsdServer
    smtp: SmtpWorld
    profile: GatewayProfile

    def resolver(self) -> DnsResolver:
        return DnsResolver(
            [self.nsd.nameserver], timeout=1.0, lifetime=2.0, direct_port=self.nsd.port
        )

    def service(self, database: Database, profile: GatewayProfile | None = None) -> CheckService:
        port = self.smtp.port
        return CheckService(
            database,
            profile or self.profile,
            self.resolver,
            allow_private=True,
            ports=ProbePorts(gateway=port, old_mx=port, lockdown=port, forwarding_default=port),
            ca_file=str(self.smtp.ca.ca_file),
            timeout=TIMEOUT,
        )


@pytest.fixture(scope="module")
def world(smtp_world: SmtpWorld) -> Iterator[World]:
    with NsdServer(zones(), address=DNS_ADDRESS) as nsd:
        yield World(nsd, smtp_world, parse_profile(yaml.safe_load(PROFILE), "facts.yml"))


def onboarding(
    world: World,
    database: Database,
    *,
    region: str,
    domains: str,
    platform: str,
    profile: GatewayProfile | None = None,
) -> Router:
    """acme, opened by an engineer in `region`, with the RFI answered up to the mail platform."""
    profile = profile or world.profile
    services = Services.build(
        database,
        allow_private_targets=True,
        profile=profile,
        checks=world.service(database, profile),
    )
    router = Router(services)
    router.handle_text(ENGINEER, f"open acme --service both --region {region}")
    router.services.rfi.bind_thread("acme", "C0ACME", "1.0", "U0ENG")
    answers = [CONTACTS, "next", "127.0.0.40", "next", domains, "next", "127.0.0.41", "next"]
    for n, text in enumerate([*answers, platform]):
        router.services.rfi.reply(Incoming("C0ACME", "1.0", f"2.{n}", "U0CUST", text))
    return router


def run_checks(
    world: World,
    router: Router,
    database: Database,
    step: str,
    *,
    caller: Caller = ENGINEER,
    profile: GatewayProfile | None = None,
) -> dict[str, CheckResult]:
    plan = router.handle_text(caller, f"check acme {step}")
    assert isinstance(plan, CheckPlan), plan
    report = world.service(database, profile).run(plan, caller.user_id)
    return {r.id: r for r in report.results}


# --- the shipped profile ------------------------------------------------------------------------


def test_every_shipped_fact_has_a_source_a_date_and_a_confidence() -> None:
    profile = load_profile()
    facts = 0
    for key, region in profile.regions.items():
        include = (region.spf_include,) if region.spf_include else ()
        every = (
            *region.inbound_mx,
            *region.smart_hosts,
            *region.m365_smart_hosts,
            *region.journal_hosts,
            *include,
            *region.published_ranges,
        )
        for fact in every:
            facts += 1
            where = f"{key}: {fact}"
            assert isinstance(fact.confidence, Confidence), where
            assert fact.source.url or fact.source.note, where
            assert fact.source.taken.year >= 2026, where
    assert facts >= 50  # the research's facts, not a region or two


def test_the_shipped_profile_holds_the_researched_facts() -> None:
    profile = load_profile()
    assert set(profile.regions) == set(REGIONS)
    je = profile.region("je")
    assert je.mx_hosts == (
        "je-smtp-inbound-1.mimecast-offshore.com",
        "je-smtp-inbound-2.mimecast-offshore.com",
    )
    assert je.spf_include is None  # none published: every candidate is NXDOMAIN
    assert [f.host for f in je.m365_smart_hosts] == [
        "je-smtp-o365-outbound-1.mimecast-offshore.com",
        "je-smtp-o365-outbound-2.mimecast-offshore.com",
    ]
    eu = profile.region("eu")
    assert [f.host for f in eu.smart_hosts] == [
        "eu-smtp-outbound-1.mimecast.com",
        "eu-smtp-outbound-2.mimecast.com",
    ]
    assert {f.confidence for f in eu.m365_smart_hosts} == {Confidence.CODE}
    assert eu.spf_include is not None
    assert eu.spf_include.confidence is Confidence.OFFICIAL
    us = profile.region("us")
    assert [f.confidence for f in us.inbound_mx] == [Confidence.OFFICIAL, Confidence.DNS]
    assert {f.confidence for f in us.journal_hosts} == {Confidence.MIRROR}
    # Found nowhere, so left out.
    assert profile.region("ca").mx_hosts == ()
    assert profile.region("usb").journal_hosts == profile.region("ca").journal_hosts == ()
    assert profile.region("za").journal_hosts == ()
    assert profile.region("usb").m365_smart_hosts == ()
    ca_include = profile.region("ca").spf_include
    assert ca_include is not None
    assert ca_include.confidence is Confidence.DNS


def test_a_confidence_outside_the_four_levels_is_refused() -> None:
    data = yaml.safe_load(PROFILE)
    data["regions"]["eu"]["inbound_mx"][0]["confidence"] = "pattern"
    with pytest.raises(ProfileError) as caught:
        parse_profile(data, "p.yml")
    assert str(caught.value).startswith("p.yml: regions.eu.inbound_mx[0].confidence: ")


def test_a_source_without_a_page_must_say_where_the_fact_was_seen() -> None:
    data = yaml.safe_load(PROFILE)
    data["regions"]["eu"]["inbound_mx"][0]["source"] = {"taken": "2026-12-06"}
    with pytest.raises(ProfileError, match=r"regions\.eu\.inbound_mx\[0\]\.source: a source needs"):
        parse_profile(data, "p.yml")


# --- caveats in the evidence --------------------------------------------------------------------


def test_an_mx_fact_below_official_is_named_in_the_evidence(world: World) -> None:
    results = run_dns_checks(["acme.test"], world.profile.region("eu"), world.resolver())
    by_id = {r.id: r for r in results}
    gateway = by_id["inbound.mx_gateway"]
    assert gateway.status is CheckStatus.PASS, gateway
    caveat = (
        f"mx1.facts-gw.test: {DNS_CAVEAT}, not in the gateway's documentation; confirm it {CONFIRM}"
    )
    assert caveat in gateway.evidence[:4]  # the report shows the first four lines
    assert caveat in by_id["inbound.mx_leftovers"].evidence[:4]
    # The include is official: no caveat on outbound.spf.
    spf = by_id["outbound.spf"]
    assert spf.status is CheckStatus.PASS, spf
    assert not any(CONFIRM in line for line in spf.evidence)
    # An official MX fact carries none either.
    bare = run_dns_checks(
        ["acme.test"], world.profile.region("bare"), world.resolver(), {"inbound"}
    )
    assert not any(CONFIRM in line for r in bare for line in r.evidence)


def test_an_include_below_official_is_named_in_the_evidence(world: World) -> None:
    region = world.profile.region("eu")
    assert region.spf_include is not None
    weak = region.model_copy(
        update={"spf_include": region.spf_include.model_copy(update={"confidence": Confidence.DNS})}
    )
    (spf,) = run_dns_checks(["acme.test"], weak, world.resolver(), {"outbound"})
    assert spf.status is CheckStatus.PASS, spf
    assert f"include:eu._spf.facts-gw.test: {DNS_CAVEAT}" in spf.evidence[0]


# --- Microsoft 365 smart hosts ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("platform", "judged", "not_judged", "what"),
    [
        ("Microsoft 365", "good2.probe.test", "good.probe.test", "Microsoft 365 smart hosts"),
        ("Exchange 2019", "good.probe.test", "good2.probe.test", "smart hosts"),
    ],
)
def test_the_smart_hosts_follow_the_rfi_mail_platform(
    world: World, database: Database, platform: str, judged: str, not_judged: str, what: str
) -> None:
    router = onboarding(world, database, region="eu", domains="acme.test", platform=platform)
    result = run_checks(world, router, database, "outbound")["outbound.smart_hosts"]
    assert result.status is CheckStatus.PASS, result
    assert result.summary.startswith(f"The {what} accept SMTP"), result.summary
    text = " ".join(result.evidence)
    assert judged in text
    assert not_judged + ":" not in text
    assert f"{not_judged} " not in text
    assert f"judged against the {what} of Test Europe: the mail platform in the answers is " in text
    assert f"{judged}: host name from public configurations" in result.evidence[0]
    assert CONFIRM in result.evidence[0]
    # And the evidence a person reads behind the report's Details button shows it.
    plan = router.handle_text(ENGINEER, "check acme outbound")
    assert isinstance(plan, CheckPlan)
    report = world.service(database).run(plan, "U0ENG")
    details = CheckDetailsService(database).details(ENGINEER, list(report.run_ids))
    assert "public configurations" in render(details).text


def test_exchange_hybrid_is_judged_on_premises_and_told_of_the_other_pair(
    world: World, database: Database
) -> None:
    router = onboarding(
        world, database, region="eu", domains="acme.test", platform="Exchange 2019 hybrid"
    )
    result = run_checks(world, router, database, "outbound")["outbound.smart_hosts"]
    assert result.status is CheckStatus.PASS, result
    assert result.evidence[1].startswith("judged against the smart hosts of Test Europe")
    assert result.evidence[2] == (
        "Exchange hybrid: mail that Exchange Online sends through its own outbound connector "
        "goes to the Microsoft 365 smart hosts instead (good2.probe.test), not checked here"
    )


# --- missing facts: skipped, naming the gap, advice for whoever can act ------------------------


def test_missing_smart_and_journal_hosts_are_skipped_naming_the_gap(world: World) -> None:
    shipped = load_profile()
    for key, platform_kind, what in (
        ("ca", "m365", "Microsoft 365 smart hosts"),  # standard ones exist; M365 ones do not
        ("usb", "m365", "Microsoft 365 smart hosts"),
    ):
        report = asyncio.run(
            run_probe_checks_async(
                shipped.region(key),
                world.resolver(),
                {"outbound", "journaling"},
                platform_kind=platform_kind,
                platform="Microsoft 365",
                journaling_method="smtp",
                allow_private=True,
                timeout=TIMEOUT,
            )
        )
        by_id = {r.id: r for r in report.results}
        smart = by_id["outbound.smart_hosts"]
        assert smart.status is CheckStatus.SKIPPED, smart
        assert f"the gateway profile lists no {what} for region {key}" in smart.summary
        journal = by_id["journaling.smtp"]
        assert journal.status is CheckStatus.SKIPPED, journal
        assert f"lists no journal hosts for region {key}" in journal.summary
        assert "CONNECT_GATEWAY_PROFILE" in journal.summary  # the engineer's advice


def test_a_customer_is_not_told_to_edit_the_profile(world: World, database: Database) -> None:
    router = onboarding(
        world, database, region="none", domains="acme.test", platform="Microsoft 365"
    )
    gaps = {
        ("outbound.spf", "acme.test"): "SPF include",
        ("outbound.smart_hosts", None): "Microsoft 365 smart hosts",
        ("journaling.smtp", None): "journal hosts",
        ("inbound.mx_gateway", "acme.test"): "inbound MX hosts",
        ("inbound.mx_leftovers", "acme.test"): "inbound MX hosts",
    }
    for caller in (CUSTOMER, ENGINEER):
        results: dict[tuple[str, str | None], CheckResult] = {}
        for step in ("outbound", "journaling", "inbound"):
            plan = router.handle_text(caller, f"check acme {step}")
            assert isinstance(plan, CheckPlan), plan
            report = world.service(database).run(plan, caller.user_id)
            results |= {(r.id, r.subject): r for r in report.results}
        for key, what in gaps.items():
            result = results[key]
            assert result.status is CheckStatus.SKIPPED, result
            assert what in result.summary, result.summary
            assert "region none (Test Nothing)" in result.summary
            if caller is CUSTOMER:
                assert "nothing is needed from you" in result.summary, result.summary
                assert "Connect engineer" in result.summary
                for word in ("CONNECT_GATEWAY_PROFILE", "profile", ".yml"):
                    assert word not in result.summary, result.summary
            else:
                assert "CONNECT_GATEWAY_PROFILE" in result.summary, result.summary


def test_a_region_without_an_spf_include_skips_outbound_spf(world: World) -> None:
    je = load_profile().region("je")
    (spf,) = run_dns_checks(["jersey.test"], je, world.resolver(), {"outbound"})
    assert spf.status is CheckStatus.SKIPPED, spf  # was: unknown, "run the check again later"
    assert "lists no SPF include for region je (Jersey (offshore))" in spf.summary
    assert "again later" not in spf.summary
    assert spf.evidence == ("SPF record: v=spf1 ip4:203.0.113.5 -all",)


# --- Jersey end to end --------------------------------------------------------------------------


def test_jersey_opens_shows_its_records_and_runs_its_checks(
    world: World, database: Database, tmp_path: Path
) -> None:
    shipped = load_profile()
    router = onboarding(
        world,
        database,
        region="je",
        domains="jersey.test",
        platform="Exchange 2019",
        profile=shipped,
    )
    records = router.handle_text(ENGINEER, "dns acme")
    assert isinstance(records, DnsRecords), records
    text = render(records).text
    assert "jersey.test. 3600 IN MX 10 je-smtp-inbound-1.mimecast-offshore.com." in text
    assert "jersey.test. 3600 IN MX 10 je-smtp-inbound-2.mimecast-offshore.com." in text
    assert DNS_CAVEAT in text
    assert "confirm them " + CONFIRM in text
    assert "no SPF include is known for region je (Jersey (offshore))" in text
    assert "IN TXT" not in text  # no SPF record to publish without the include

    results = run_checks(world, router, database, "inbound", profile=shipped)
    gateway = results["inbound.mx_gateway"]
    assert gateway.status is CheckStatus.PASS, gateway
    assert any(DNS_CAVEAT in line for line in gateway.evidence[:4])
    spf = run_checks(world, router, database, "outbound", profile=shipped)["outbound.spf"]
    assert spf.status is CheckStatus.SKIPPED, spf
    assert "SPF include" in spf.summary
