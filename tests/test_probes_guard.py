"""The network-target guard: what is refused, and proof that a refused target is never dialled."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterator

import pytest
from support.dns_fixtures import make_test_profile
from support.smtp_servers import (
    SilentServer,
    SmtpWorld,
)

from commands.checks.result import CheckStatus
from commands.probes import guard, net
from commands.probes.guard import TargetRefused, TargetUnresolved, refusal, resolve_target
from commands.probes.pop import PopCredentials
from commands.probes.run import ProbePorts, run_probe_checks_async

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
    ],
)
def test_address_kinds(address: str, kind: str | None) -> None:
    assert guard.address_kind(ip(address)) == kind


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
    ["169.254.169.254", "fd00:ec2::254", "100.100.100.200", "224.0.0.1", "0.0.0.0", "::"],
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
