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


MAX_LABEL = 63  # octets (RFC 1035 2.3.4)
MAX_NAME = 253  # octets in presentation form, without the final dot


def malformed(domain: str) -> str | None:
    """Why `domain` cannot be evaluated (RFC 7208 4.3: malformed, or not a multi-label domain
    name, makes check_host() return none at once, with no DNS query), or None when it can.

    Multi-label means ending in a top-level label as RFC 7208's grammar has it (toplabel: not all
    digits), which also rules out an address literal such as [192.0.2.1]."""
    name = domain[:-1] if domain.endswith(".") else domain
    if not name:
        return "it is empty"
    labels = name.split(".")
    if any(not label for label in labels):
        return "it has an empty label"
    if any(len(label.encode("utf-8", "surrogatepass")) > MAX_LABEL for label in labels):
        return f"a label is longer than {MAX_LABEL} octets"
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME:
        return f"it is longer than {MAX_NAME} octets"
    if spf.RE_TOPLAB.split(name)[-1]:  # pyspf's own toplabel rule, as in its best_guess()
        return "it is not a multi-label domain name ending in a top-level label"
    return None


def check_host_sync(
    resolver: DnsResolver, ip: str, sender: str, helo: str, *, timeout: float = 20.0
) -> SpfVerdict:
    """check_host() for `ip` sending as `sender` (HELO `helo`; the HELO name is checked when the
    sender is empty), through `resolver`."""
    # The domain check_host() is given: the sender's, or the HELO name for the null sender.
    domain = spf.split_email(sender, helo)[1] if sender else helo
    if (why := malformed(domain)) is not None:
        # pyspf checks the label lengths itself, but would ask DNS about a single label or an
        # address literal; RFC 7208 4.3 answers none for those without a query.
        return SpfVerdict(ip, "none", f"{domain!r} is not a domain SPF applies to: {why}")
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
