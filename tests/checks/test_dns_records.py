"""`/connect dns` (issue 14): the records each domain should publish, through the router and the
renderer, against a real NSD on loopback (and a relay in front of it that never answers TXT).

- the MX records do not depend on TXT: they show when the TXT lookup times out, with why the SPF
  record is not given;
- a domain that does not exist (NXDOMAIN) is said to not exist, not to be tried again later;
- after `/connect set acme --region de` the SPF record drops the EU include;
- every bullet is a line of its own (trim_blocks ate the newline after a line ending in a tag).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from support.nsd import DnsProxy, NsdServer

from bot.render.mrkdwn import as_typed
from bot.render.renderer import render
from commands.checks.dns import DnsResolver
from commands.checks.dns.publish import (
    other_region_includes,
    plan_records,
    records_to_publish,
)
from commands.checks.result import CheckStatus
from commands.checks.service import CheckPlan, CheckService, DnsRecords
from commands.checks.spf.outbound import GatewayRanges, check_spf
from commands.core.context import Caller
from commands.core.process import Service, Step, initial_state
from commands.core.roles import Role
from commands.core.views import OnboardingView, StepView
from commands.profiles import GatewayProfile, parse_profile
from commands.rfi.service import Incoming
from commands.router import Router
from commands.services import Services
from store.db import Database

pytestmark = pytest.mark.timeout(60)

ENGINEER = Caller("U0ENG", "C0ACME", "T0TEST", role=Role.ENGINEER)
ADDRESS = "127.0.0.5"

PROFILE_YAML = """
gateway: Test Gateway
version: 1
x-sources:
  test: &test {url: "https://gateway.test/docs", taken: 2026-11-28}
regions:
  eu:
    name: Test Europe
    inbound_mx:
      - {host: mx1.gateway.test, preference: 10, source: *test}
      - {host: mx2.gateway.test, preference: 20, source: *test}
    spf_include: {include: eu._spf.gateway.test, source: *test}
  de:
    name: Test Germany
    inbound_mx:
      - {host: de-mx1.gateway.test, preference: 10, source: *test}
    spf_include: {include: de._spf.gateway.test, source: *test}
  bare:
    name: Region without hosts
"""
REGIONS = {"eu": "Test Europe", "de": "Test Germany"}

EU_INCLUDE = "eu._spf.gateway.test"
DE_INCLUDE = "de._spf.gateway.test"
MOVED_SPF = f"v=spf1 include:{EU_INCLUDE} ip4:203.0.113.5 -all"


def zones() -> dict[str, list[str]]:
    return {
        "test": ["@ A 127.0.0.1"],  # the parent: names under .test that are not here: NXDOMAIN
        "gateway.test": [
            'eu._spf TXT "v=spf1 ip4:192.0.2.0/25 include:r2._spf.gateway.test ~all"',
            'r2._spf TXT "v=spf1 ip4:198.51.100.16/28 ~all"',
            'de._spf TXT "v=spf1 ip4:198.18.0.0/24 ~all"',
        ],
        # Set up for the EU region: its record already includes the EU include.
        "moved.test": [f'@ TXT "{MOVED_SPF}"', '@ TXT "site-verification=x"'],
        # Its TXT question is never answered through the relay (see `world`).
        "quiet.test": ['@ TXT "v=spf1 ip4:203.0.113.9 -all"', "@ 3600 MX 10 mail.quiet.test."],
    }


class World:
    def __init__(self, nsd: NsdServer, relay: DnsProxy) -> None:
        self.nsd = nsd
        self.relay = relay
        self.profile: GatewayProfile = parse_profile(yaml.safe_load(PROFILE_YAML), "test.yml")

    def resolver(self) -> DnsResolver:
        # Through the relay: quiet.test's TXT times out, everything else is NSD's answer.
        return DnsResolver([self.relay.nameserver], timeout=0.3, lifetime=0.9)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with NsdServer(zones(), address=ADDRESS) as nsd:
        answered = {"quiet.test": ("MX", "A", "AAAA", "NS", "SOA")}  # never TXT
        with DnsProxy((nsd.address, nsd.port), address="127.0.0.7", drop_unless=answered) as relay:
            yield World(nsd, relay)


def onboarding(world: World, tmp_path: Path, domains: str) -> Router:
    """acme, in region eu, with `domains` answered in its RFI thread."""
    database = Database(f"sqlite:///{tmp_path / 'dns.db'}")
    database.upgrade()
    checks = CheckService(database, world.profile, world.resolver)
    router = Router(
        Services.build(database, allow_private_targets=True, checks=checks, regions=REGIONS)
    )
    router.handle_text(ENGINEER, "open acme --service both --region eu")
    router.services.rfi.bind_thread("acme", "C0ACME", "1.0", "U0ENG")
    answers = [
        "Jane, jane@acme.example, primary\nRaj, raj@acme.example, technical",
        "next",
        "127.0.0.40",
        "next",
        domains,
    ]
    for n, text in enumerate(answers):
        router.services.rfi.reply(Incoming("C0ACME", "1.0", f"2.{n}", "U0CUST", text))
    return router


def dns(router: Router) -> tuple[DnsRecords, str]:
    """`/connect dns acme`: the result and the message's text as posted."""
    result = router.handle_text(ENGINEER, "dns acme")
    assert isinstance(result, DnsRecords), result
    return result, render(result).text


def section(text: str, domain: str) -> list[str]:
    """The lines of one domain's part of the message (from its bold name to the next blank)."""
    lines = text.splitlines()
    start = lines.index(f"*{domain}*")
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start + 1 : end]


# --- 1. TXT unreadable, NXDOMAIN, lines of their own ----------------------------------------------


def test_the_mx_records_show_when_the_txt_lookup_times_out(world: World, tmp_path: Path) -> None:
    router = onboarding(world, tmp_path, "quiet.test, moved.test")
    result, text = dns(router)
    quiet = section(text, "quiet.test")
    assert quiet[0].startswith("⚠️ could not read the TXT records of quiet.test (")
    assert "timeout" in quiet[0]
    assert "publish the MX records now" in quiet[0]
    # The MX lines, to copy and as bullets; no SPF record (it would drop what the domain has).
    assert "quiet.test. 3600 IN MX 10 mx1.gateway.test." in quiet
    assert "quiet.test. 3600 IN MX 20 mx2.gateway.test." in quiet
    assert "• MX 10 mx1.gateway.test" in quiet
    assert not [line for line in quiet if "TXT" in line and "IN TXT" in line]
    assert not [line for line in quiet if line.startswith("• TXT")]
    records = {d.domain: d.records for d in result.domains}
    assert records["quiet.test"] is not None
    assert records["quiet.test"].spf is None
    # The other domain is not held up by it.
    assert f'moved.test. 3600 IN TXT "{MOVED_SPF}"' in section(text, "moved.test")


def test_a_domain_that_does_not_exist_is_said_to_not_exist(world: World, tmp_path: Path) -> None:
    router = onboarding(world, tmp_path, "gone.test")
    _, text = dns(router)
    gone = section(text, "gone.test")
    assert gone[0] == (
        "⚠️ gone.test does not exist in DNS (NXDOMAIN): check the domain in the RFI answers; if "
        "it is new, create its zone at your DNS host and publish these records there."
    )
    assert "again later" not in text
    assert "could not read" not in text
    # Nothing exists to merge with: the records are the ones to publish once the zone exists.
    assert "gone.test. 3600 IN MX 10 mx1.gateway.test." in gone
    assert 'gone.test. 3600 IN TXT "v=spf1 include:eu._spf.gateway.test ~all"' in gone


def test_every_bullet_is_a_line_of_its_own(world: World, tmp_path: Path) -> None:
    router = onboarding(world, tmp_path, "moved.test")
    router.handle_text(ENGINEER, "set acme --region de")
    _, text = dns(router)
    moved = section(text, "moved.test")
    # Notes are plain text: the renderer shows their underscores as look-alikes (not italics).
    bullets = [as_typed(line) for line in moved if line.startswith("•")]
    assert bullets == [
        "• MX 10 de-mx1.gateway.test",
        f"• TXT `v=spf1 include:{DE_INCLUDE} ip4:203.0.113.5 -all` (1 of 10 DNS lookups)",
        f"• SPF today: `{MOVED_SPF}`",
        f"• dropped include:{EU_INCLUDE}: that is the gateway's include for region eu, and this "
        f"onboarding's region uses include:{DE_INCLUDE}",
    ]
    assert all(line.count("•") == 1 for line in bullets)


# --- 2. a region change ------------------------------------------------------------------------


def test_after_a_region_change_the_old_regions_include_goes(world: World, tmp_path: Path) -> None:
    router = onboarding(world, tmp_path, "moved.test")
    before, _ = dns(router)
    (eu,) = before.domains
    assert eu.records is not None
    assert eu.records.spf == MOVED_SPF  # right for EU as it is
    assert not eu.records.spf_changed

    router.handle_text(ENGINEER, "set acme --region de")
    after, text = dns(router)
    (de,) = after.domains
    assert de.records is not None
    assert de.records.spf == f"v=spf1 include:{DE_INCLUDE} ip4:203.0.113.5 -all"
    assert de.records.spf_changed
    assert de.records.lookups == 1  # the DE include; the EU include and its nested one are gone
    assert EU_INCLUDE not in de.records.zone_lines()[-1]
    assert [(m.preference, m.host) for m in de.records.mx] == [(10, "de-mx1.gateway.test")]
    assert f'moved.test. 3600 IN TXT "v=spf1 include:{DE_INCLUDE} ip4:203.0.113.5 -all"' in text


def test_other_region_includes_come_from_the_profile(world: World) -> None:
    profile = world.profile
    assert other_region_includes(profile, profile.region("de")) == {EU_INCLUDE: "eu"}
    assert other_region_includes(profile, profile.region("eu")) == {DE_INCLUDE: "de"}
    # A region without an include: every other region's include goes.
    assert other_region_includes(profile, profile.region("bare")) == {
        EU_INCLUDE: "eu",
        DE_INCLUDE: "de",
    }


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        # Already on the new region as well: the old include still goes, the new one stays.
        (
            f"v=spf1 include:{DE_INCLUDE} include:{EU_INCLUDE} mx ~all",
            f"v=spf1 include:{DE_INCLUDE} mx ~all",
        ),
        # Written in capitals, with a qualifier: still the gateway's EU include.
        ("v=spf1 ?include:EU._SPF.Gateway.Test. -all", f"v=spf1 include:{DE_INCLUDE} -all"),
        # A redirect to the old region: the record ends with ~all instead.
        (
            f"v=spf1 ip4:203.0.113.5 redirect={EU_INCLUDE}",
            f"v=spf1 include:{DE_INCLUDE} ip4:203.0.113.5 ~all",
        ),
        # Someone else's include that only looks alike stays.
        (
            "v=spf1 include:eu._spf.other.test -all",
            f"v=spf1 include:{DE_INCLUDE} include:eu._spf.other.test -all",
        ),
    ],
)
def test_the_merge_drops_only_the_gateways_other_regions(
    world: World, current: str, expected: str
) -> None:
    profile = world.profile
    de = profile.region("de")
    records = records_to_publish(
        "acme.test", current, de, other_includes=other_region_includes(profile, de)
    )
    assert records.spf == expected


def test_the_checks_fix_drops_the_old_region_too(world: World) -> None:
    # outbound.spf's "Publish:" line goes through the same merge when told the other regions.
    profile = world.profile
    de = profile.region("de")
    resolver = world.resolver()

    async def run() -> tuple[str | None, str | None]:
        txt = await resolver.lookup("moved.test", "TXT")
        gateway = GatewayRanges(DE_INCLUDE, None, ("198.18.0.0", "198.18.0.255"), 1, None)
        told = await check_spf(
            "moved.test",
            txt,
            de,
            gateway,
            resolver,
            other_includes=other_region_includes(profile, de),
        )
        untold = await check_spf("moved.test", txt, de, gateway, resolver)
        return told.fix, untold.fix

    told, untold = asyncio.run(run())
    assert told == f'moved.test. TXT "v=spf1 include:{DE_INCLUDE} ip4:203.0.113.5 -all"'
    assert untold is not None
    assert EU_INCLUDE in untold  # what report.py gets until it passes them


def test_plan_records_never_raises_for_a_dns_outcome(world: World) -> None:
    region = world.profile.region("eu")
    resolver = world.resolver()
    quiet = asyncio.run(plan_records("quiet.test", region, resolver))
    assert quiet.spf is None
    assert quiet.problem is not None
    assert "could not read the TXT records" in quiet.problem
    assert [line.split()[-1] for line in quiet.zone_lines()] == [
        "mx1.gateway.test.",
        "mx2.gateway.test.",
    ]
    gone = asyncio.run(plan_records("gone.test", region, resolver))
    assert gone.problem is not None
    assert "does not exist" in gone.problem
    assert gone.spf == f"v=spf1 include:{EU_INCLUDE} ~all"
    here = asyncio.run(plan_records("moved.test", region, resolver))
    assert here.problem is None


# --- other templates that list line by line ----------------------------------------------------


def _view() -> OnboardingView:
    at = datetime(2026, 11, 28, 10, 42, tzinfo=UTC)
    return OnboardingView(
        key="acme",
        name="Acme",
        service=Service.BOTH,
        region="eu",
        channel_id="C0ACME",
        opened_by="U0ENG",
        opened_at=at,
        closed_by=None,
        closed_at=None,
        steps=tuple(StepView(s, initial_state(Service.BOTH, s), at, None) for s in Step),
    )


def test_a_directory_read_lists_outside_addresses_and_the_sample_on_their_own_lines() -> None:
    from commands.checks.directory import Recipient
    from commands.recipients.sync import Synced

    at = datetime(2026, 11, 28, 10, 42, tzinfo=UTC)
    synced = Synced(
        _view(),
        "U0ENG",
        at,
        3,
        0,
        2,
        1,
        {"acme.example": 2},
        ("x@other.example",),
        1,
        (Recipient("a@acme.example", "A"),),
    )
    lines = render(synced).text.splitlines()
    assert lines[-3].endswith("ignore them): x@other.example")
    assert lines[-2] == "Sample: a@acme.example (A)"


def test_a_saved_directory_login_says_each_thing_on_its_own_line() -> None:
    from commands.credentials import CredentialsSaved

    saved = CredentialsSaved(
        _view(),
        "ldap",
        "ldap.acme.example",
        389,
        "plain",
        "cn=bind",
        "U0ENG",
        {"base_dn": "dc=acme"},
    )
    lines = render(saved).text.splitlines()
    assert lines[0].endswith("The password is stored encrypted.")
    assert lines[1].startswith("Base DN dc=acme. Next: ")
    assert lines[2].startswith("⚠️ Plain LDAP: ")


def test_after_a_region_change_the_checks_fix_drops_the_old_include_too(
    world: World, tmp_path: Path
) -> None:
    """`/connect check` asks to publish the same record as `/connect dns`: one answer."""
    router = onboarding(world, tmp_path, "moved.test")
    router.handle_text(ENGINEER, "set acme --region de")
    plan = router.handle_text(ENGINEER, "check acme outbound")
    assert isinstance(plan, CheckPlan), plan
    report = router.services.checks.run(plan, "U0ENG")
    (spf,) = [r for r in report.results if r.id == "outbound.spf"]
    assert spf.status is CheckStatus.FAIL  # the DE ranges are not authorised yet
    assert spf.fix is not None
    assert DE_INCLUDE in spf.fix
    assert EU_INCLUDE not in spf.fix
    (published,) = dns(router)[0].domains
    assert published.records is not None
    assert published.records.spf in spf.fix
