"""A zone whose records change during a test: cut.test served by two NSDs (127.0.0.5 and
127.0.0.6, one port) and served again with other records between runs, for the DNS watch's
tests. The first server also serves gateway.test (the test profile's SPF include) and answers
the resolver's questions."""

from __future__ import annotations

from commands.checks.dns import DnsResolver
from support.dns_fixtures import GATEWAY_SPF, NS_ADDRESS, NS_ADDRESS_2, free_port_on
from support.nsd import NsdServer, SilentServer

NS = ("ns1.cut.test.", "ns2.cut.test.")
GLUE = (f"ns1 A {NS_ADDRESS}", f"ns2 A {NS_ADDRESS_2}")
OLD_MX = ("@ 7200 MX 10 acme-test.mail.protection.outlook.com.",)
NEW_MX = ("@ 3600 MX 10 mx1.gateway.test.", "@ 3600 MX 20 mx2.gateway.test.")
GATEWAY_ZONE = (
    f"ns1 A {NS_ADDRESS}",
    f'eu._spf TXT "{GATEWAY_SPF}"',
    'r2._spf TXT "v=spf1 ip4:198.51.100.16/28 ~all"',
)


class Zone:
    """cut.test on two name servers (127.0.0.5 and 127.0.0.6, one port), served again with
    other records by `serve`; the first also serves gateway.test, and answers recursion."""

    def __init__(self) -> None:
        self.port = free_port_on(NS_ADDRESS, NS_ADDRESS_2)
        self.servers: list[NsdServer | SilentServer] = []
        self.serial = 0

    def serve(self, *records: str, second: str = "same") -> None:
        """second: "same" (serves the zone too), "silent" (never answers) or "refusing"
        (an NSD without the zone: REFUSED)."""
        self.stop()
        self.serial += 1
        zone = [*records, *GLUE]
        options = {"serials": {"cut.test": self.serial}, "ns_names": {"cut.test": NS}}
        first = NsdServer(
            {"cut.test": zone, "gateway.test": list(GATEWAY_ZONE)},
            address=NS_ADDRESS,
            port=self.port,
            **options,  # type: ignore[arg-type]
        )
        other: NsdServer | SilentServer
        if second == "same":
            other = NsdServer({"cut.test": zone}, address=NS_ADDRESS_2, port=self.port, **options)  # type: ignore[arg-type]
        elif second == "silent":
            other = SilentServer(NS_ADDRESS_2, self.port)
        else:
            other = NsdServer(
                {"other.test": ["@ A 127.0.0.1"]}, address=NS_ADDRESS_2, port=self.port
            )
        for server in (first, other):
            server.__enter__()
            self.servers.append(server)

    def stop(self) -> None:
        while self.servers:
            self.servers.pop().__exit__(None, None, None)

    def resolver(self) -> DnsResolver:
        return DnsResolver(
            [f"{NS_ADDRESS}:{self.port}"], timeout=0.5, lifetime=1.5, direct_port=self.port
        )

    @property
    def nameserver(self) -> str:
        """The CONNECT_DNS_NAMESERVERS value that points at the first server."""
        return f"{NS_ADDRESS}:{self.port}"
