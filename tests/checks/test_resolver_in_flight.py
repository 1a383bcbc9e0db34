"""A check run keeps a bounded number of DNS queries in flight, however many domains it has:
unbounded, 200 domains opened over a thousand sockets at once, past the descriptor limit and
past what the HTTP server's select() loop could take (it stopped answering Slack)."""

from __future__ import annotations

import asyncio

from support.nsd import DnsProxy, NsdServer

from commands.checks.dns import DnsResolver
from commands.checks.dns.resolver import MAX_IN_FLIGHT, LookupStatus

NAMES = 300


def test_three_hundred_lookups_at_once_keep_at_most_the_cap_in_flight() -> None:
    zones = {
        f"d{n}.flight.test": ["ns1 A 127.0.0.5", "@ MX 10 mx.flight.test."] for n in range(NAMES)
    }
    with (
        NsdServer(zones, address="127.0.0.5") as nsd,
        DnsProxy((nsd.address, nsd.port), address="127.0.0.7", delay=0.2) as proxy,
    ):
        resolver = DnsResolver([proxy.nameserver], timeout=10.0, lifetime=30.0)

        async def every() -> list[LookupStatus]:
            found = await asyncio.gather(
                *(resolver.lookup(f"d{n}.flight.test", "MX") for n in range(NAMES))
            )
            return [lookup.status for lookup in found]

        statuses = asyncio.run(every())

    assert statuses == [LookupStatus.OK] * NAMES  # waiting for a turn is not a timeout
    assert proxy.most_in_flight <= MAX_IN_FLIGHT
    assert proxy.most_in_flight >= MAX_IN_FLIGHT // 2  # they did overlap: the cap was tested
