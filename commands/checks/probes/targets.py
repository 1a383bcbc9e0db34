"""Probing one host the way every check does: guard, resolve, probe each address at once.

A host's verdict is the best of its addresses (one address that works is a working host); the
evidence keeps every address. The guard runs first, so a refused host is never dialled.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from commands.checks.dns.resolver import DnsResolver
from commands.checks.probes.guard import Target, TargetRefused, TargetUnresolved, resolve_target
from commands.checks.probes.smtp import SmtpProbe, TlsMode, probe_smtp
from commands.core.roles import Role

DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class ProbeOptions:
    """How probes run: the resolver, the private-target setting (CONNECT_ALLOW_PRIVATE_TARGETS),
    the roots to trust (None: the system store), the per-step timeout, the EHLO name, and who
    the results are for (the role of whoever ran the checks: a missing gateway fact's advice
    speaks to them)."""

    resolver: DnsResolver
    allow_private: bool = False
    ca_file: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    helo_name: str | None = None
    audience: Role = Role.ENGINEER


@dataclass
class HostProbe:
    """One host's probe: refused by the guard, not resolved, or one SmtpProbe per address."""

    host: str
    port: int
    target: Target | None = None
    refused: str | None = None  # the guard's reason
    unresolved: TargetUnresolved | None = None
    probes: list[SmtpProbe] = field(default_factory=list)

    @property
    def state(self) -> str:
        """good | tls (answers, TLS or SMTP not right) | timeout | down | refused | unresolved |
        dns-timeout."""
        if self.refused is not None:
            return "refused"
        if self.unresolved is not None:
            return "dns-timeout" if self.unresolved.timeout else "unresolved"
        if any(tls_issue(p) is None and p.accepts_smtp for p in self.probes):
            return "good"
        if any(p.answered for p in self.probes):
            return "tls"
        if self.probes and all(p.outcome == "timeout" for p in self.probes):
            return "timeout"
        return "down"

    @property
    def problem(self) -> str:
        """What is wrong with the host, in a few words (empty when it is good)."""
        state = self.state
        if state == "refused":
            return f"not probed: {self.refused}"
        if state in ("unresolved", "dns-timeout"):
            assert self.unresolved is not None
            return self.unresolved.reason
        if state == "tls":
            issues = [tls_issue(p) for p in self.probes if p.answered]
            return next((i for i in issues if i), "")
        if state == "timeout":
            return self.probes[0].error or "did not answer"
        if state == "down":
            return "; ".join(sorted({p.error or p.outcome for p in self.probes}))
        return ""

    @property
    def not_after(self) -> datetime | None:
        dates = [
            p.tls.cert.not_after
            for p in self.probes
            if p.tls and p.tls.cert and p.tls.cert.not_after
        ]
        return min(dates) if dates else None

    def evidence(self) -> list[str]:
        if self.refused is not None:
            return [f"{self.host}: not probed, {self.refused}"]
        if self.unresolved is not None:
            return [f"{self.host}: {self.unresolved.reason}"]
        return [p.evidence() for p in self.probes]

    @property
    def label(self) -> str:
        return self.host if self.port == 25 else f"{self.host} port {self.port}"


def tls_issue(probe: SmtpProbe) -> str | None:
    """Why an answering server is not a good STARTTLS server, None when it is."""
    if probe.banner is None:
        return probe.error or "did not answer"
    if probe.banner.code != 220:
        return f"refuses SMTP ({probe.banner.describe()})"
    if probe.ehlo is None or probe.ehlo.code != 250:
        return probe.error or "did not accept EHLO"
    if probe.starttls_offered is False:
        return "does not offer STARTTLS"
    if probe.tls is not None and probe.tls.failure is not None:
        return probe.tls.failure.describe()
    if probe.tls is None:
        return probe.error or "STARTTLS did not complete"
    if probe.error:
        return probe.error
    return None


async def cleared(host: str, port: int, options: ProbeOptions) -> HostProbe:
    """Guard and resolve `host`; the HostProbe says refused/unresolved, or carries the target."""
    result = HostProbe(host, port)
    try:
        result.target = await resolve_target(
            host, options.resolver, allow_private=options.allow_private
        )
        result.host = result.target.host
    except TargetRefused as exc:
        result.refused = exc.reason
    except TargetUnresolved as exc:
        result.unresolved = exc
    return result


async def probe_host(
    host: str,
    port: int,
    options: ProbeOptions,
    *,
    tls_mode: TlsMode = "verify",
    rcpt: str | None = None,
    banner_only: bool = False,
) -> HostProbe:
    """Guard, resolve, then SMTP-probe every address of `host` concurrently."""
    result = await cleared(host, port, options)
    if result.target is None:
        return result
    target = result.target
    result.probes = list(
        await asyncio.gather(
            *(
                probe_smtp(
                    target.host,
                    str(address),
                    port,
                    timeout=options.timeout,
                    tls_mode=tls_mode,
                    ca_file=options.ca_file,
                    rcpt=rcpt,
                    helo_name=options.helo_name,
                    banner_only=banner_only,
                )
                for address in target.addresses
            )
        )
    )
    return result
