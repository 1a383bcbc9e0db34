"""The one resolver every check uses, built from CONNECT_DNS_NAMESERVERS-style values.

Answers come back as `Lookup` values whose status tells apart the cases a check must not confuse:
NXDOMAIN (the name does not exist), NODATA (it exists, without that type), TIMEOUT and SERVFAIL
(no answer could be had: the check says "unknown", never "missing").

Queries are async (dns.asyncresolver) so a check can ask everything it needs at once; a sync twin
serves pyspf, which runs in worker threads (see commands/checks/spf_eval.py).
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

import dns.asyncquery
import dns.asyncresolver
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.nameserver
import dns.rcode
import dns.rdatatype
import dns.resolver

DEFAULT_TIMEOUT = 2.0  # seconds for one try at one server
DEFAULT_LIFETIME = 6.0  # seconds for a whole query, all servers and retries included
CNAME_LOOP = "CNAME loop or chain too long"
# Queries one check run has in flight at once. Unbounded, 200 domains opened well over a
# thousand sockets together: past the process's descriptor limit, and past what select() takes.
MAX_IN_FLIGHT = 64

_Resolver = TypeVar("_Resolver", bound=dns.resolver.BaseResolver)  # the sync one or the async one


class LookupStatus(StrEnum):
    OK = "ok"
    NXDOMAIN = "nxdomain"  # the name does not exist
    NODATA = "nodata"  # the name exists but has no record of that type
    TIMEOUT = "timeout"  # nobody answered in time
    SERVFAIL = "servfail"  # the servers answered with an error (SERVFAIL, REFUSED, ...)
    ERROR = "error"  # anything else (a malformed name, a broken answer)


@dataclass(frozen=True)
class Lookup:
    """One DNS question and what came back.

    records: the answer's records as presentation text ("10 mx.example.com.", TXT joined into
    one string), in the order received. rdata keeps dnspython's objects for callers that need
    fields (MX preference, SOA serial).
    """

    name: str
    rdtype: str
    status: LookupStatus
    records: tuple[str, ...] = ()
    ttl: int | None = None
    canonical_name: str | None = None  # differs from `name` when a CNAME was followed
    reason: str | None = None
    server: str | None = None  # for direct queries: the server asked
    rdata: tuple[Any, ...] = field(default=(), compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return self.status is LookupStatus.OK

    @property
    def missing(self) -> bool:
        """A definite negative answer (the servers said so), as opposed to no answer."""
        return self.status in (LookupStatus.NXDOMAIN, LookupStatus.NODATA)

    @property
    def failed(self) -> bool:
        """No usable answer: a check must report `unknown`, not a verdict."""
        return self.status in (LookupStatus.TIMEOUT, LookupStatus.SERVFAIL, LookupStatus.ERROR)

    @property
    def via_cname(self) -> bool:
        return bool(
            self.canonical_name
            and self.canonical_name.rstrip(".").lower() != self.name.rstrip(".").lower()
        )

    def describe(self) -> str:
        """One line of evidence: "acme.test MX: 10 mx.acme.test." or "acme.test MX: timeout ..."."""
        where = f" (asked {self.server})" if self.server else ""
        head = f"{self.name} {self.rdtype}{where}"
        if self.ok:
            return f"{head}: " + "; ".join(self.records)
        if self.status is LookupStatus.NXDOMAIN:
            return f"{head}: the name does not exist (NXDOMAIN)"
        if self.status is LookupStatus.NODATA:
            return f"{head}: no {self.rdtype} records"
        return f"{head}: {self.status} ({self.reason})" if self.reason else f"{head}: {self.status}"


@dataclass(frozen=True)
class Nameserver:
    host: str
    port: int = 53

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == 53 else f"{host}:{self.port}"


def parse_nameservers(values: Sequence[str]) -> tuple[Nameserver, ...]:
    """("127.0.0.5:5353", "[::1]:53", "192.0.2.1") -> Nameserver values. Hosts must be IP
    addresses: a resolver cannot use a name to find itself."""
    servers = []
    for item in values:
        text = item.strip()
        if not text:
            continue
        host, port = text, 53
        if text.startswith("["):
            host, _, rest = text[1:].partition("]")
            if rest.startswith(":"):
                port = int(rest[1:])
        elif text.count(":") == 1:
            host, port_text = text.split(":")
            port = int(port_text)
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ValueError(f"{item!r}: a name server must be an IP address") from None
        if not 0 < port < 65536:
            raise ValueError(f"{item!r}: bad port")
        servers.append(Nameserver(host, port))
    return tuple(servers)


def _text(rdata: Any, rdtype: str) -> str:
    if rdtype in ("TXT", "SPF"):
        # A TXT record may be split into several strings; SPF joins them with nothing between.
        return b"".join(rdata.strings).decode("utf-8", errors="replace")
    return rdata.to_text()


def _from_answer(name: str, rdtype: str, answer: dns.resolver.Answer, server: str | None) -> Lookup:
    rrset = answer.rrset
    if rrset is None:  # dnspython raises NoAnswer instead; belt and braces
        return Lookup(name, rdtype, LookupStatus.NODATA, server=server)
    return Lookup(
        name=name,
        rdtype=rdtype,
        status=LookupStatus.OK,
        records=tuple(_text(r, rdtype) for r in rrset),
        ttl=rrset.ttl,
        canonical_name=answer.canonical_name.to_text(omit_final_dot=True),
        server=server,
        rdata=tuple(rrset),
    )


def _from_exception(name: str, rdtype: str, exc: Exception, server: str | None) -> Lookup:
    if isinstance(exc, dns.resolver.NXDOMAIN):
        return Lookup(name, rdtype, LookupStatus.NXDOMAIN, server=server)
    if isinstance(exc, dns.resolver.NoAnswer):
        return Lookup(name, rdtype, LookupStatus.NODATA, server=server)
    if isinstance(exc, dns.exception.Timeout):
        return Lookup(name, rdtype, LookupStatus.TIMEOUT, reason="no answer in time", server=server)
    if isinstance(exc, dns.resolver.NoNameservers):
        errors = exc.kwargs.get("errors") or []
        if errors and all(isinstance(e[3], dns.message.ChainTooLong) for e in errors):
            # A CNAME loop is wrong data, not a passing failure: asking again will not help.
            return Lookup(name, rdtype, LookupStatus.ERROR, reason=CNAME_LOOP, server=server)
        return Lookup(
            name, rdtype, LookupStatus.SERVFAIL, reason=_servfail_reason(exc), server=server
        )
    if isinstance(exc, OSError):  # e.g. connection refused over TCP
        return Lookup(name, rdtype, LookupStatus.TIMEOUT, reason=str(exc), server=server)
    return Lookup(
        name, rdtype, LookupStatus.ERROR, reason=str(exc) or type(exc).__name__, server=server
    )


def _servfail_reason(exc: dns.resolver.NoNameservers) -> str:
    errors = exc.kwargs.get("errors") or []
    parts = []
    for error in errors:
        # (server, tcp, port, exception-or-rcode-text, response)
        server, detail = str(error[0]).removeprefix("Do53:").replace("@", ":"), error[3]
        parts.append(f"{server} answered {detail}")
    return "; ".join(parts) or "every name server failed"


class DnsResolver:
    """CONNECT_DNS_NAMESERVERS made usable: empty = the system resolver (/etc/resolv.conf).

    timeout: seconds per try at one server; lifetime: seconds for the whole query.
    direct_port: the port used when asking a domain's own name servers directly (propagation);
    53 in production, the test server's port in tests.
    cache: keep answers for their TTL (one per check run, so that a fix shows at the next run).
    """

    def __init__(
        self,
        nameservers: Sequence[str] = (),
        *,
        timeout: float = DEFAULT_TIMEOUT,
        lifetime: float = DEFAULT_LIFETIME,
        direct_port: int = 53,
        cache: bool = False,
    ) -> None:
        self.nameservers = parse_nameservers(nameservers)
        self.timeout = timeout
        self.lifetime = lifetime
        self.direct_port = direct_port
        self._cache: dns.resolver.Cache | None = dns.resolver.Cache() if cache else None
        self._async = self._configure(dns.asyncresolver.Resolver(configure=not self.nameservers))
        self._sync = self._configure(dns.resolver.Resolver(configure=not self.nameservers))
        self._gate_of: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    def with_fresh_cache(self) -> DnsResolver:
        """The same configuration with its own empty cache: one per check run."""
        return DnsResolver(
            [str(ns) for ns in self.nameservers],
            timeout=self.timeout,
            lifetime=self.lifetime,
            direct_port=self.direct_port,
            cache=True,
        )

    def _configure(self, resolver: _Resolver) -> _Resolver:
        if self.nameservers:
            resolver.nameservers = [
                dns.nameserver.Do53Nameserver(ns.host, ns.port) for ns in self.nameservers
            ]
        resolver.timeout = self.timeout
        resolver.lifetime = self.lifetime
        resolver.retry_servfail = False
        resolver.cache = self._cache
        return resolver

    def describe(self) -> str:
        if not self.nameservers:
            return "the system resolver"
        return ", ".join(str(ns) for ns in self.nameservers)

    def _gate(self) -> asyncio.Semaphore:
        """The cap on this event loop's queries in flight (each check run has its own loop)."""
        loop = asyncio.get_running_loop()
        if self._gate_of is None or self._gate_of[0] is not loop:
            self._gate_of = (loop, asyncio.Semaphore(MAX_IN_FLIGHT))
        return self._gate_of[1]

    async def lookup(self, name: str, rdtype: str) -> Lookup:
        """Ask the configured resolver(s); never raises for DNS outcomes."""
        try:
            async with self._gate():
                answer = await self._async.resolve(name, rdtype, search=False)
        except Exception as exc:  # every outcome becomes a Lookup status
            return _from_exception(name, rdtype, exc, None)
        return _from_answer(name, rdtype, answer, None)

    def lookup_sync(self, name: str, rdtype: str) -> Lookup:
        """The same, blocking: for pyspf in a worker thread."""
        try:
            answer = self._sync.resolve(name, rdtype, search=False)
        except Exception as exc:
            return _from_exception(name, rdtype, exc, None)
        return _from_answer(name, rdtype, answer, None)

    async def lookup_at(
        self, server: str, name: str, rdtype: str, port: int | None = None
    ) -> Lookup:
        """Ask one server directly, without recursion: what an authoritative server itself
        serves. UDP first, TCP when the answer was truncated."""
        port = self.direct_port if port is None else port
        label = str(Nameserver(server, port))
        try:
            query = dns.message.make_query(name, rdtype)
            query.flags &= ~dns.flags.RD
            async with self._gate():
                response, _ = await dns.asyncquery.udp_with_fallback(
                    query, server, timeout=self.lifetime, port=port
                )
        except Exception as exc:
            return _from_exception(name, rdtype, exc, label)
        rcode = response.rcode()
        if rcode == dns.rcode.NXDOMAIN:
            return Lookup(name, rdtype, LookupStatus.NXDOMAIN, server=label)
        if rcode != dns.rcode.NOERROR:
            reason = dns.rcode.to_text(rcode)
            return Lookup(name, rdtype, LookupStatus.SERVFAIL, reason=reason, server=label)
        qname = dns.name.from_text(name)
        wanted = dns.rdatatype.from_text(rdtype)
        for rrset in response.answer:
            if rrset.name == qname and rrset.rdtype == wanted:
                return Lookup(
                    name=name,
                    rdtype=rdtype,
                    status=LookupStatus.OK,
                    records=tuple(_text(r, rdtype) for r in rrset),
                    ttl=rrset.ttl,
                    canonical_name=name,
                    server=label,
                    rdata=tuple(rrset),
                )
        if not response.flags & dns.flags.AA:
            # A referral or a lame server: it does not hold the zone.
            return Lookup(
                name, rdtype, LookupStatus.SERVFAIL, reason="not authoritative (lame)", server=label
            )
        return Lookup(name, rdtype, LookupStatus.NODATA, server=label)
