"""DNS scenarios for the check tests: a test gateway profile (gateway.test host names) and the
zones of every scenario in issue 4, served by a real NSD on loopback.

Fixtures (import them into a test module, or register this module with `-p support.dns_fixtures`):
  dns_world   module-scoped NSD with every scenario zone; .resolver() points at it
  gateway_region   the test profile's "eu" region
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from commands.checks.dns import DnsResolver
from commands.profiles import GatewayProfile, GatewayRegion, parse_profile
from support.nsd import NsdError, NsdServer, free_port

NS_ADDRESS = "127.0.0.5"
NS_ADDRESS_2 = "127.0.0.6"

TEST_PROFILE_YAML = """
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
    smart_hosts:
      - {host: out1.gateway.test, source: *test}
  bare:
    name: Region without hosts
"""

# The gateway's sending ranges, behind one nested include as vendors do it (2 lookups).
GATEWAY_RANGES = ("192.0.2.0/25", "198.51.100.16/28")

GATEWAY_SPF = "v=spf1 ip4:192.0.2.0/25 include:r2._spf.gateway.test ~all"
GOOD_SPF = "v=spf1 include:eu._spf.gateway.test -all"


def make_test_profile() -> GatewayProfile:
    return parse_profile(yaml.safe_load(TEST_PROFILE_YAML), "test-profile.yml")


def _domain(*records: str, ns: str = NS_ADDRESS) -> list[str]:
    return [f"ns1 A {ns}", *records]


GOOD_MX = ("@ 3600 MX 10 mx1.gateway.test.", "@ 3600 MX 20 mx2.gateway.test.")


def scenario_zones() -> dict[str, list[str]]:
    """zone -> records: one zone per scenario domain, plus the gateway's and a provider's."""
    deep_includes = {
        # deep.test: 1 (gateway include) + 2 beneath it + a chain of includes and a/mx terms
        # that brings the total to 13.
        "l1": "v=spf1 include:l2.deep.test a mx -all",
        "l2": "v=spf1 include:l3.deep.test a -all",
        "l3": "v=spf1 include:l4.deep.test mx a:mail.deep.test -all",
        "l4": "v=spf1 ip4:203.0.113.0/24 -all",
    }
    return {
        "test": ["@ A 127.0.0.1"],  # parent zone: unknown names under .test get NXDOMAIN
        "gateway.test": [
            f"ns1 A {NS_ADDRESS}",
            "mx1 A 127.0.1.1",
            "mx2 A 127.0.1.2",
            "out1 A 127.0.1.3",
            f'eu._spf TXT "{GATEWAY_SPF}"',
            'r2._spf TXT "v=spf1 ip4:198.51.100.16/28 ~all"',
        ],
        # A previous provider's hosts, served locally (never asked on the Internet).
        "protection.outlook.com": [
            f"ns1 A {NS_ADDRESS}",
            "acme-test.mail A 127.0.2.1",
            'spf TXT "v=spf1 ip4:40.92.0.0/15 include:spfa.protection.outlook.com -all"',
            'spfa TXT "v=spf1 ip4:40.107.0.0/16 -all"',
        ],
        "good.test": _domain(*GOOD_MX, f'@ TXT "{GOOD_SPF}"', '@ TXT "site-verification=x"'),
        "leftover.test": _domain(
            *GOOD_MX,
            "@ 3600 MX 30 acme-test.mail.protection.outlook.com.",
            '@ TXT "v=spf1 include:eu._spf.gateway.test include:spf.protection.outlook.com -all"',
        ),
        "nospf.test": _domain(*GOOD_MX, '@ TXT "site-verification=abc"'),
        "twospf.test": _domain(
            *GOOD_MX,
            '@ TXT "v=spf1 include:eu._spf.gateway.test -all"',
            '@ TXT "v=spf1 ip4:203.0.113.5 ~all"',
        ),
        "deep.test": _domain(
            *GOOD_MX,
            "@ A 203.0.113.10",
            "mail A 203.0.113.11",
            '@ TXT "v=spf1 include:eu._spf.gateway.test include:l1.deep.test -all"',
            *(f'{name} TXT "{text}"' for name, text in deep_includes.items()),
        ),
        "plusall.test": _domain(*GOOD_MX, '@ TXT "v=spf1 include:eu._spf.gateway.test +all"'),
        "void.test": _domain(
            *GOOD_MX,
            '@ TXT "v=spf1 include:eu._spf.gateway.test a:gone1.void.test a:gone2.void.test'
            ' a:gone3.void.test -all"',
        ),
        "noall.test": _domain(*GOOD_MX, '@ TXT "v=spf1 include:eu._spf.gateway.test"'),
        "softfail.test": _domain(*GOOD_MX, '@ TXT "v=spf1 ip4:203.0.113.0/24 mx ~all"'),
        "cname.test": _domain(
            "@ 3600 MX 10 mail.cname.test.", "mail CNAME mx1.gateway.test.", f'@ TXT "{GOOD_SPF}"'
        ),
        "noaddr.test": _domain(*GOOD_MX, "@ 3600 MX 30 gone.noaddr.test.", f'@ TXT "{GOOD_SPF}"'),
        "oldmx.test": _domain(
            "@ 3600 MX 10 acme-test.mail.protection.outlook.com.",
            '@ TXT "v=spf1 include:spf.protection.outlook.com a -all"',
            "@ A 203.0.113.20",
        ),
        # An internationalised domain: bücher.test.
        "xn--bcher-kva.test": _domain(*GOOD_MX, f'@ TXT "{GOOD_SPF}"'),
        "slow.test": _domain(*GOOD_MX, f'@ TXT "{GOOD_SPF}"'),
    }


@dataclass
class DnsWorld:
    nsd: NsdServer
    profile: GatewayProfile

    @property
    def region(self) -> GatewayRegion:
        return self.profile.region("eu")

    def resolver(self, *, lifetime: float = 3.0, timeout: float = 1.0) -> DnsResolver:
        return DnsResolver(
            [self.nsd.nameserver], timeout=timeout, lifetime=lifetime, direct_port=self.nsd.port
        )


def bot_env_for(world: DnsWorld, directory: Path, **extra: str) -> dict[str, str]:
    """The environment of a `connect-bot serve` that checks against `world`: the test profile
    (written into `directory`), its NSD, and probes of loopback allowed; `extra` adds settings."""
    profile = directory / "profile.yml"
    profile.write_text(TEST_PROFILE_YAML)
    return {
        "CONNECT_ALLOW_PRIVATE_TARGETS": "true",  # every host in these tests is on loopback
        "CONNECT_GATEWAY_PROFILE": str(profile),
        "CONNECT_DNS_NAMESERVERS": world.nsd.nameserver,
        "CONNECT_DNS_DIRECT_PORT": str(world.nsd.port),
        **extra,
    }


def free_port_on(*addresses: str) -> int:
    """A port free on every one of `addresses` (two NSDs on one port, two loopback addresses)."""
    for _ in range(50):
        port = free_port(addresses[0])
        ok = True
        for address in addresses[1:]:
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                with socket.socket(socket.AF_INET, kind) as sock:
                    try:
                        sock.bind((address, port))
                    except OSError:
                        ok = False
        if ok:
            return port
    raise NsdError(f"no port free on all of {addresses}")


@pytest.fixture(scope="module")
def dns_world() -> Iterator[DnsWorld]:
    with NsdServer(scenario_zones(), address=NS_ADDRESS) as nsd:
        yield DnsWorld(nsd, make_test_profile())


@pytest.fixture
def gateway_region() -> GatewayRegion:
    return make_test_profile().region("eu")
