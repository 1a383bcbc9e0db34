"""RFC 7208 evaluation with pyspf, resolving through the project's resolver.

pyspf looks names up through its module-level `spf.DNSLookup`. We install one hook, once, that
asks the resolver held in a ContextVar: `asyncio.to_thread` copies the context into the worker
thread, so concurrent checks (and tests) each use their own resolver, never a global one.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import spf

from commands.checks.dns.resolver import CNAME_LOOP, DnsResolver, LookupStatus

_current: contextvars.ContextVar[DnsResolver | None] = contextvars.ContextVar(
    "connect_spf_resolver", default=None
)
_installed = threading.Lock()
_default: list[DnsResolver] = []  # the system resolver, made on first use when no check set one

RESULTS = ("pass", "fail", "softfail", "neutral", "none", "permerror", "temperror")


def _lookup(
    name: str, qtype: str, strict: bool = True, timeout: float | None = None
) -> list[tuple[tuple[str, str], object]]:
    """pyspf's DNSLookup contract: [((name, type), value), ...]; [] for NXDOMAIN/NODATA;
    spf.TempError for timeouts and SERVFAIL."""
    resolver = _current.get()
    if resolver is None:
        if not _default:
            _default.append(DnsResolver())
        resolver = _default[0]
    answer = resolver.lookup_sync(name, qtype)
    if answer.status in (LookupStatus.NXDOMAIN, LookupStatus.NODATA):
        return []
    if answer.reason == CNAME_LOOP:
        # RFC 7208 5.5: a name whose lookup errs is skipped; a loop is permanent, not temporary.
        return []
    if not answer.ok:
        raise spf.TempError(f"DNS {answer.status}: {name} {qtype} ({answer.reason or ''})")
    found: list[tuple[tuple[str, str], object]] = []
    for rdata in answer.rdata:
        if qtype in ("A", "AAAA"):
            found.append(((name, qtype), rdata.address))
        elif qtype == "MX":
            found.append(((name, qtype), (rdata.preference, rdata.exchange)))
        elif qtype == "PTR":
            found.append(((name, qtype), rdata.target.to_text(True)))
        elif qtype in ("TXT", "SPF"):
            found.append(((name, qtype), rdata.strings))
    return found


def install() -> None:
    """Route pyspf's lookups through `_lookup` (idempotent)."""
    with _installed:
        spf.DNSLookup = _lookup


@contextmanager
def using(resolver: DnsResolver) -> Iterator[None]:
    """Within the block (and threads started from it with asyncio.to_thread), pyspf resolves
    through `resolver`."""
    install()
    token = _current.set(resolver)
    try:
        yield
    finally:
        _current.reset(token)


@dataclass(frozen=True)
class SpfVerdict:
    ip: str
    result: str  # one of RESULTS
    explanation: str


def check_host_sync(
    resolver: DnsResolver, ip: str, sender: str, helo: str, *, timeout: float = 20.0
) -> SpfVerdict:
    """check_host() for `ip` sending as `sender` (HELO `helo`), through `resolver`."""
    with using(resolver):
        query = spf.query(i=ip, s=sender, h=helo, timeout=timeout, querytime=timeout)
        result, _code, explanation = query.check()
    return SpfVerdict(ip, str(result), str(explanation))


async def check_host(
    resolver: DnsResolver, ip: str, sender: str, helo: str, *, timeout: float = 20.0
) -> SpfVerdict:
    """The same, off the event loop (pyspf blocks)."""
    with using(resolver):
        return await asyncio.to_thread(check_host_sync, resolver, ip, sender, helo, timeout=timeout)
