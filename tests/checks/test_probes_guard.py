"""The network-target guard: what is refused, and proof that a refused target is never dialled."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.dns_fixtures import make_test_profile
from support.smtp_servers import (
    SilentServer,
    SmtpWorld,
)

from commands.checks.dns.mx import MxNow
from commands.checks.probes import guard, net
from commands.checks.probes.guard import TargetRefused, TargetUnresolved, refusal, resolve_target
from commands.checks.probes.pop import PopCredentials
from commands.checks.probes.run import ProbePorts, run_probe_checks_async
from commands.checks.result import CheckResult, CheckStatus
from commands.rfi.validators import Invalid, outbound_ips

ip = ipaddress.ip_address


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("100.100.100.200", "metadata"),
        ("169.254.10.1", "link-local"),
        ("fe80::1", "link-local"),
        ("100.64.1.1", "shared"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "broadcast"),
        ("fc00::1", "private"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped: judged as the IPv4 address
        ("64:ff9b::a9fe:a9fe", "metadata"),  # NAT64 form of 169.254.169.254
        ("2002:0a00:0001::1", "private"),  # 6to4 of 10.0.0.1
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
        # IPv6 forms that carry an IPv4 address are judged by it (issue 16, section 4).
        ("::127.0.0.1", "loopback"),  # IPv4-compatible
        ("::ffff:0:7f00:1", "loopback"),  # SIIT
        ("::ffff:0:a9fe:a9fe", "metadata"),
        ("::169.254.169.254", "metadata"),
        ("64:ff9b::7f00:1", "loopback"),
        ("64:ff9b:1::a9fe:a9fe", "metadata"),  # local-use NAT64, /96 prefix
        ("64:ff9b:1:a9:fe:a9fe::", "metadata"),  # the same with a /56 prefix
        ("64:ff9b:1:a9fe:a9:fe00::", "metadata"),  # /48
        ("64:ff9b:1:0:a9:fea9:fe00:0", "metadata"),  # /64
        ("64:ff9b:1::808:808", "reserved"),  # the whole /48 is not public
        ("2002:7f00:1::1", "loopback"),  # 6to4
        ("2002:a9fe:a9fe::1", "metadata"),
        ("2002::1", "unspecified"),  # 6to4 of 0.0.0.0
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback"),  # Teredo, client 127.0.0.1
        ("2001:0:a9fe:a9fe::1", "metadata"),  # Teredo, server 169.254.169.254
        ("2001:0:808:808:0:0:f7f7:f7f7", "reserved"),  # Teredo of public addresses
        ("2a00:1450:4001::5efe:a9fe:a9fe", "metadata"),  # ISATAP interface id
        ("2a00:1450:4001::200:5efe:a00:1", "private"),
        ("::8.8.8.8", "reserved"),  # IPv4-compatible is deprecated even for a public address
        ("::ffff:0:808:808", "reserved"),  # SIIT likewise
        ("3fff::1", "documentation"),
        ("3fff:fff:ffff::1", "documentation"),
        ("5f00::1", "reserved"),  # SRv6 segment identifiers
        ("2001:db8::1", "documentation"),
        ("2001:2::1", "reserved"),  # benchmarking
        ("fec0::1", "private"),
        ("100::1", "reserved"),
        ("4000::1", "reserved"),  # outside 2000::/3
        ("192.88.99.1", "reserved"),
        # Public, whichever Python runs (3.13's is_global says no to 2002::/16).
        ("::ffff:8.8.8.8", None),
        ("64:ff9b::808:808", None),  # what DNS64 answers on an IPv6-only host
        ("2002:808:808::1", None),
        ("2a00:1450:4001::200:5efe:808:808", None),
        ("3fff:1000::1", None),  # just past 3fff::/20
    ],
)
def test_address_kinds(address: str, kind: str | None) -> None:
    assert guard.address_kind(ip(address)) == kind


@pytest.mark.parametrize(
    ("address", "words"),
    [
        ("::127.0.0.1", "::7f00:1 is the IPv4-compatible form of 127.0.0.1, which is a loopback"),
        ("::ffff:0:7f00:1", "::ffff:0:7f00:1 is the SIIT form of 127.0.0.1, which is a loopback"),
        ("64:ff9b:1::a9fe:a9fe", "local-use NAT64 form of 169.254.169.254, which is a cloud"),
        ("2002:7f00:1::1", "2002:7f00:1::1 is the 6to4 form of 127.0.0.1"),
        ("64:ff9b:1::808:808", "64:ff9b:1::808:808 (local-use NAT64, 64:ff9b:1::/48) is in a"),
        ("3fff::1", "3fff::1 is a documentation address"),
        ("5f00::1", "5f00::1 is in a reserved range"),
    ],
)
def test_refusals_of_ipv6_forms_name_what_they_carry(address: str, words: str) -> None:
    text = refusal(ip(address), allow_private=False)
    assert text is not None
    assert words in text


def test_refusal_says_why_and_the_setting() -> None:
    text = refusal(ip("10.0.0.1"), allow_private=False)
    assert text is not None
    assert "10.0.0.1 is a private address" in text
    assert "CONNECT_ALLOW_PRIVATE_TARGETS" in text
    assert refusal(ip("8.8.8.8"), allow_private=False) is None


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "::1", "10.0.0.1", "100.64.0.1", "169.254.1.1", "fd12::1"]
)
def test_allow_private_lets_private_kinds_through(address: str) -> None:
    assert refusal(ip(address), allow_private=True) is None


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",
        "fd00:ec2::254",
        "100.100.100.200",
        "224.0.0.1",
        "0.0.0.0",
        "::",
        # the metadata endpoint in every IPv6 form that carries an IPv4 address
        "::ffff:169.254.169.254",
        "::169.254.169.254",
        "::ffff:0:a9fe:a9fe",
        "64:ff9b::a9fe:a9fe",
        "64:ff9b:1::a9fe:a9fe",
        "64:ff9b:1:a9:fe:a9fe::",
        "2002:a9fe:a9fe::1",
        "2001:0:a9fe:a9fe::1",
        "2001:0:4136:e378:8000:63bf:5601:5601",  # Teredo client 169.254.169.254 (inverted)
        "2a00:1450:4001::5efe:a9fe:a9fe",
        "64:ff9b::a83f:8110",  # Azure's wire server, 168.63.129.16
    ],
)
def test_metadata_multicast_unspecified_refused_even_when_allowed(address: str) -> None:
    text = refusal(ip(address), allow_private=True)
    assert text is not None
    assert "never probed" in text


def test_a_name_with_one_bad_address_is_refused_as_a_whole(smtp_world: SmtpWorld) -> None:
    resolver = smtp_world.resolver()
    with pytest.raises(TargetRefused) as caught:
        asyncio.run(resolve_target("twofaced.probe.test", resolver, allow_private=True))
    assert "twofaced.probe.test resolves to 169.254.169.254" in caught.value.reason
    assert "metadata" in caught.value.reason


def test_names_are_resolved_and_cleared(smtp_world: SmtpWorld) -> None:
    resolver = smtp_world.resolver()
    target = asyncio.run(resolve_target("good.probe.test", resolver, allow_private=True))
    assert target.addresses == (ip("127.0.2.1"),)
    with pytest.raises(TargetRefused, match="loopback"):
        asyncio.run(resolve_target("good.probe.test", resolver, allow_private=False))
    with pytest.raises(TargetUnresolved) as caught:
        asyncio.run(resolve_target("nothing.probe.test", resolver, allow_private=True))
    assert not caught.value.timeout
    assert "no address" in caught.value.reason


def test_literals_are_cleared_without_dns(smtp_world: SmtpWorld) -> None:
    resolver = smtp_world.resolver()
    target = asyncio.run(resolve_target("[::1]", resolver, allow_private=True))
    assert target.is_literal
    assert target.addresses == (ip("::1"),)
    with pytest.raises(TargetRefused, match=r"^::1 is a loopback address"):
        asyncio.run(resolve_target("::1", resolver, allow_private=False))


@pytest.fixture
def listeners() -> Iterator[list[SilentServer]]:
    """A recording listener on 127.0.0.1 and, with the same port, on ::1."""
    first = SilentServer("127.0.0.1")
    servers = [first]
    if socket.has_ipv6:
        servers.append(SilentServer("::1", first.port))
    try:
        yield servers
    finally:
        for server in servers:
            server.stop()


def at_gateway(domain: str) -> MxNow:
    """The same run's DNS report, as the old-MX check sees it: the MX points at the gateway."""
    verdict = CheckResult("inbound.mx_gateway", CheckStatus.PASS, domain, "at the gateway")
    return MxNow(domain, ("mx1.gateway.test", "mx2.gateway.test"), verdict)


def test_refused_targets_are_never_dialled(
    smtp_world: SmtpWorld, listeners: list[SilentServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    dialled: list[tuple[str, int]] = []
    real_open = net.open_stream

    async def spy(address: str, port: int, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        dialled.append((address, port))
        return await real_open(address, port, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(net, "open_stream", spy)
    port = listeners[0].port
    report = asyncio.run(
        run_probe_checks_async(
            make_test_profile().region("eu"),
            smtp_world.resolver(),
            {"inbound", "firewall", "outbound", "journaling"},
            outbound_ips=["10.0.0.1", "127.0.0.1", "::1", "169.254.169.254"],
            forwarding=[
                f"127.0.0.1:{port}",
                f"[::1]:{port}",
                f"10.0.0.1:{port}",
                f"169.254.169.254:{port}",
                f"good.probe.test:{port}",
            ],
            old_mx={"acme.test": ["good.probe.test"]},
            mx_now={"acme.test": at_gateway("acme.test")},
            journaling_method="pop",
            pop=PopCredentials("127.0.0.1", port, "pop3s", "journal", "not-sent"),
            allow_private=False,
            timeout=1.0,
            ports=ProbePorts(gateway=port, old_mx=port, lockdown=port),
        )
    )
    assert dialled == []
    assert all(listener.accepted == 0 for listener in listeners)
    by_id = {r.id: r for r in report.results}
    routes = by_id["inbound.delivery_routes"]
    assert routes.status is CheckStatus.FAIL
    for expected in (
        "127.0.0.1 is a loopback address",
        "::1 is a loopback address",
        "10.0.0.1 is a private address",
        "169.254.169.254 is a cloud metadata endpoint",
        "good.probe.test resolves to 127.0.2.1",
    ):
        assert expected in routes.summary
    assert by_id["outbound.authorized_ips"].status is CheckStatus.FAIL
    assert "10.0.0.1 is a private address" in by_id["outbound.authorized_ips"].summary
    assert by_id["firewall.lockdown"].status is CheckStatus.UNKNOWN  # nothing could be probed
    assert by_id["inbound.old_mx_retired"].status is CheckStatus.UNKNOWN
    assert by_id["journaling.pop"].status is CheckStatus.FAIL
    assert "not probed: 127.0.0.1 is a loopback address" in by_id["journaling.pop"].summary


def test_with_the_setting_on_loopback_is_probed(
    smtp_world: SmtpWorld, listeners: list[SilentServer]
) -> None:
    port = listeners[0].port
    report = asyncio.run(
        run_probe_checks_async(
            make_test_profile().region("eu"),
            smtp_world.resolver(),
            {"inbound"},
            forwarding=[f"127.0.0.1:{port}"],
            allow_private=True,
            timeout=0.5,
        )
    )
    assert listeners[0].accepted == 1
    assert report.results[0].status is CheckStatus.UNKNOWN
    assert "did not answer within 0.5 s" in report.results[0].summary


_V4_SAMPLES = st.sampled_from(
    [
        "127.0.0.1",
        "10.1.2.3",
        "169.254.169.254",
        "100.100.100.200",
        "168.63.129.16",
        "192.0.2.1",
        "224.0.0.1",
        "0.0.0.0",
        "255.255.255.255",
        "81.2.69.160",
        "8.8.8.8",
    ]
).map(ipaddress.IPv4Address)
_PREFIXES = st.sampled_from(
    [
        "::ffff:0:0",
        "::",
        "::ffff:0:0:0",
        "64:ff9b::",
        "64:ff9b:1::",
        "2002::",
        "2001::",
        "2a00:1450:4001::5efe:0:0",
        "2a00:1450:4001::",
    ]
).map(lambda text: int(ipaddress.IPv6Address(text)))


@st.composite
def _carrying(draw: st.DrawFn) -> ipaddress.IPv6Address:
    """An IPv6 address with an IPv4 address where one of the forms puts it (or random bits)."""
    prefix = draw(_PREFIXES)
    v4 = int(draw(_V4_SAMPLES))
    where = draw(st.sampled_from(["low", "6to4", "teredo-server", "random"]))
    if where == "low":
        return ipaddress.IPv6Address(prefix | v4)
    if where == "6to4":
        return ipaddress.IPv6Address(prefix | (v4 << 80))
    if where == "teredo-server":
        return ipaddress.IPv6Address(prefix | (v4 << 64) | (v4 ^ 0xFFFFFFFF))
    return ipaddress.IPv6Address(prefix | draw(st.integers(0, 2**96 - 1)))


@settings(max_examples=2000, deadline=None)
@given(
    address=st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6), _carrying()),
    allow_private=st.booleans(),
)
def test_the_rfi_accepts_only_what_the_probes_accept(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_private: bool
) -> None:
    """One rule: an outbound IP the RFI takes is never refused when the checks probe it."""
    try:
        parsed = outbound_ips(str(address), allow_private=allow_private)
    except Invalid:
        return
    (value,) = parsed.values
    assert refusal(value.address, allow_private=allow_private) is None


@pytest.mark.parametrize("allow_private", [False, True])
def test_forms_of_loopback_and_metadata_are_never_dialled(
    smtp_world: SmtpWorld,
    listeners: list[SilentServer],
    monkeypatch: pytest.MonkeyPatch,
    allow_private: bool,
) -> None:
    """Probes aimed at IPv6 forms of 127.0.0.1 (where the listeners are) and of the metadata
    endpoint: the guard refuses each before a connection is opened. With the setting on, the
    loopback forms are allowed like 127.0.0.1 itself, and only the metadata forms are sent."""
    dialled: list[tuple[str, int]] = []
    real_open = net.open_stream

    async def spy(address: str, port: int, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        dialled.append((address, port))
        return await real_open(address, port, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(net, "open_stream", spy)
    port = listeners[0].port
    loopback_forms = [
        "::127.0.0.1",
        "::ffff:0:7f00:1",
        "64:ff9b:1::7f00:1",
        "2002:7f00:1::1",
        "2001:0:4136:e378:8000:63bf:80ff:fffe",
    ]
    metadata_forms = ["64:ff9b:1::a9fe:a9fe", "64:ff9b::a9fe:a9fe", "::ffff:0:a9fe:a9fe"]
    targets = metadata_forms if allow_private else loopback_forms + metadata_forms
    report = asyncio.run(
        run_probe_checks_async(
            make_test_profile().region("eu"),
            smtp_world.resolver(),
            {"inbound"},
            forwarding=[f"[{address}]:{port}" for address in targets],
            allow_private=allow_private,
            timeout=1.0,
        )
    )
    assert dialled == []
    assert all(listener.accepted == 0 for listener in listeners)
    (routes,) = report.results
    assert routes.status is CheckStatus.FAIL
    assert routes.summary.count("not probed") == len(targets)
    for address in targets:
        assert f"{address} port {port}: not probed" in routes.summary
    assert "which is a loopback address" in routes.summary or allow_private
    assert "which is a cloud metadata endpoint, never probed" in routes.summary
