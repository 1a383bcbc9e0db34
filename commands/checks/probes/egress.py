"""Can the bot reach port 25 at all? Told by hosts that must answer anyone: the gateway's own.

A refused or silent port of a customer's host is a verdict (an old MX host retired, a firewall
locked down) only when one of the gateway's hosts answered the bot in the same run; otherwise the
bot's own network (a blocked port 25, no route out) may be what refused, and the checks say so
once, plainly. One run asks the gateway's hosts once (`EgressProbe`), whichever check asks first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from commands.checks.probes.targets import HostProbe, ProbeOptions, probe_host
from commands.checks.result import CheckResult, CheckStatus
from commands.profiles import GatewayRegion


def host_evidence(hosts: Sequence[HostProbe]) -> tuple[str, ...]:
    """Every host's evidence lines, in order."""
    return tuple(line for host in hosts for line in host.evidence())


@dataclass(frozen=True)
class Egress:
    """Whether the bot can open SMTP connections at all, told by hosts that must answer anyone:
    the gateway's own (its inbound MX hosts, and its smart hosts, Microsoft 365 ones included,
    and journal hosts).

    open: one of them answered with a banner. closed: they were dialled and none answered
    (refused, silent or unreachable: the bot's network blocks port 25, or has no route out).
    untested: none could be dialled (the profile lists none, or they did not resolve).
    """

    state: Literal["open", "closed", "untested"]
    reason: str = ""  # why not open: each host tried and what happened, in a few words
    evidence: tuple[str, ...] = ()

    @property
    def open(self) -> bool:
        return self.state == "open"


def egress_hosts(region: GatewayRegion) -> tuple[str, ...]:
    """The hosts that tell whether the bot can reach port 25: every gateway host of the region."""
    smart = (*region.smart_hosts, *region.m365_smart_hosts, *region.journal_hosts)
    return tuple(dict.fromkeys([*region.mx_hosts, *(f.host for f in smart)]))


async def probe_egress(hosts: Sequence[str], port: int, options: ProbeOptions) -> Egress:
    """Read the banner of each of `hosts` (then QUIT): does anything answer the bot?"""
    if not hosts:
        return Egress("untested", "the gateway profile lists no gateway hosts to try")
    probed = await asyncio.gather(
        *(probe_host(h, port, options, tls_mode="off", banner_only=True) for h in hosts)
    )
    evidence = tuple(f"reachability: {line}" for line in host_evidence(probed))
    if any(p.answered for h in probed for p in h.probes):
        return Egress("open", evidence=evidence)
    reason = "; ".join(f"{h.label}: {h.problem}" for h in probed)
    return Egress("closed" if any(h.probes for h in probed) else "untested", reason, evidence)


class EgressProbe:
    """One run's reachability check: started by the first check that asks, shared by the rest,
    so the gateway's hosts are asked once per run."""

    def __init__(self, hosts: Sequence[str], port: int, options: ProbeOptions) -> None:
        self.hosts = tuple(hosts)
        self.port = port
        self.options = options
        self._task: asyncio.Task[Egress] | None = None

    async def result(self) -> Egress:
        if self._task is None:
            self._task = asyncio.create_task(probe_egress(self.hosts, self.port, self.options))
        return await asyncio.shield(self._task)


NOT_ASKED = Egress("untested", "the run did not check that the bot can reach port 25")


async def egress_of(egress: EgressProbe | None) -> Egress:
    return await egress.result() if egress is not None else NOT_ASKED


async def egress_if_silent(hosts: Sequence[HostProbe], egress: EgressProbe | None) -> Egress:
    """The run's reachability, asked only when hosts were dialled and none of them answered."""
    dialled = [p for h in hosts for p in h.probes]
    if egress is None or not dialled or any(p.answered for p in dialled):
        return NOT_ASKED
    return await egress.result()


def no_way_out(egress: Egress, what: str) -> str:
    """The one plain sentence for a bot that cannot reach port 25 anywhere."""
    return (
        "The bot could not open an SMTP connection to any host, not even the gateway's own "
        f"({egress.reason}): its network blocks outgoing port 25 or has no route out, so {what} "
        "could not be checked. Run the checks from a host that may connect out on port 25."
    )


def blocked(
    check_id: str, subject: str | None, what: str, hosts: Sequence[HostProbe], egress: Egress
) -> CheckResult | None:
    """The unknown result when none of `hosts` answered and the gateway's hosts did not either."""
    dialled = [p for h in hosts for p in h.probes]
    if egress.state != "closed" or not dialled or any(p.answered for p in dialled):
        return None
    return CheckResult(
        check_id,
        CheckStatus.UNKNOWN,
        subject,
        no_way_out(egress, what),
        host_evidence(hosts) + egress.evidence,
    )
