"""What a watch run decides from what it saw and what the runs before it saw: a switch to post
(once per domain), regressions to raise (once each, until they clear), whether anything changed
(the back-off), and what to remember. Pure: no DNS, no store.

A switch is seen only when inbound.mx_gateway passes and every name server serves it
(inbound.mx_propagation passes): an unknown answer (a timeout, SERVFAIL, a silent name server)
never counts as a switch, and never clears or raises a regression either.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from commands.checks.result import CheckResult, CheckStatus
from commands.watch.observe import DomainLook
from commands.watch.schedule import Mode

SWITCH = "switch"
REGRESSION = "regression"
CHANNEL = "channel"
ENGINEERS = "engineers"
MX = "mx"
SPF = "spf"


@dataclass(frozen=True)
class Notice:
    """A message the watcher posts: the switch seen, or a regression (to the channel and to the
    engineers). Kept as plain JSON in the watch's outbox until it is posted."""

    kind: str  # SWITCH | REGRESSION
    audience: str  # CHANNEL | ENGINEERS
    key: str
    name: str
    domain: str
    name_servers: int = 0
    caches_expire_at: datetime | None = None  # switch: when caches of the old MX expire
    problem: str | None = None  # regression: MX | SPF
    summary: str = ""  # regression: the check's own sentence (what is wrong, what to do)
    channel_id: str | None = None  # the onboarding's channel (engineers' notices link it)
    seq: int = -1  # set when queued
    attempted: bool = False
    public = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "audience": self.audience,
            "key": self.key,
            "name": self.name,
            "domain": self.domain,
            "name_servers": self.name_servers,
            "caches_expire_at": self.caches_expire_at.isoformat()
            if self.caches_expire_at
            else None,
            "problem": self.problem,
            "summary": self.summary,
            "channel_id": self.channel_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Notice:
        expire = data.get("caches_expire_at")
        return cls(
            kind=str(data["kind"]),
            audience=str(data["audience"]),
            key=str(data["key"]),
            name=str(data.get("name") or data["key"]),
            domain=str(data["domain"]),
            name_servers=int(data.get("name_servers") or 0),
            caches_expire_at=datetime.fromisoformat(expire) if expire else None,
            problem=data.get("problem"),
            summary=str(data.get("summary") or ""),
            channel_id=data.get("channel_id"),
            seq=int(data.get("seq", -1)),
            attempted=bool(data.get("attempted", False)),
        )


@dataclass(frozen=True)
class Conclusion:
    seen: dict[str, Any]
    notices: tuple[Notice, ...] = ()
    changed: bool = False
    # Every domain's MX now points at the gateway on every name server (cut-over mode): the
    # moment the old-MX reminder is armed from.
    all_switched: bool = False
    gateway_results: tuple[CheckResult, ...] = field(default=())


@dataclass(frozen=True)
class Onboarded:
    """The onboarding a notice names."""

    key: str
    name: str
    channel_id: str | None


def _status(result: CheckResult | None) -> str | None:
    return result.status.value if result is not None else None


def _signature(entry: Mapping[str, Any]) -> tuple[object, ...]:
    return (
        tuple(entry.get("mx") or ()),
        entry.get("gateway"),
        entry.get("propagation"),
        entry.get("spf"),
    )


def conclude(
    mode: Mode,
    looks: Mapping[str, DomainLook],
    previous: Mapping[str, Any] | None,
    onboarding: Onboarded,
    *,
    now: datetime,
) -> Conclusion:
    before: Mapping[str, Any] = previous or {}
    seen: dict[str, Any] = {}
    notices: list[Notice] = []
    changed = False
    for domain, look in looks.items():
        prev: Mapping[str, Any] = before.get(domain) or {}
        entry = _observed(look, prev, now)
        if mode is Mode.CUTOVER:
            notice = _switch(look, prev, entry, onboarding, now)
            if notice is not None:
                notices.append(notice)
        else:
            notices += _regressions(look, prev, entry, onboarding)
        changed = changed or not prev or _signature(prev) != _signature(entry)
        seen[domain] = entry
    gateway = tuple(look.mx_gateway for look in looks.values())
    all_switched = (
        mode is Mode.CUTOVER
        and bool(looks)
        and all(seen[d].get("switched") for d in looks)
        and all(r.status is CheckStatus.PASS for r in gateway)
    )
    return Conclusion(seen, tuple(notices), changed, all_switched, gateway)


def _observed(look: DomainLook, prev: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """What to remember of a domain: its MX as seen (kept from before when unanswered), the
    statuses, and what earlier runs decided (switched, the regressions raised)."""
    answered = look.mx_gateway.status in (CheckStatus.PASS, CheckStatus.FAIL)
    entry: dict[str, Any] = {
        "mx": list(look.mx_hosts) if answered else list(prev.get("mx") or []),
        "gateway": _status(look.mx_gateway),
        "propagation": _status(look.propagation),
        "spf": _status(look.spf),
        "summary": _summary(look),
        "at": now.isoformat(),
        "switched": bool(prev.get("switched")),
        "switched_at": prev.get("switched_at"),
        "alerted": list(prev.get("alerted") or []),
        # The TTL of the last MX records seen before the switch: how long caches keep them.
        "old_ttl": prev.get("old_ttl"),
    }
    if look.mx_gateway.status is CheckStatus.FAIL and look.mx_ttl is not None:
        entry["old_ttl"] = look.mx_ttl
    return entry


def _summary(look: DomainLook) -> str:
    """The one line the watch verb shows for the domain: the worst result's own sentence."""
    worst = max(look.results, key=lambda r: r.status.rank)
    return worst.summary


def _switch(
    look: DomainLook,
    prev: Mapping[str, Any],
    entry: dict[str, Any],
    onboarding: Onboarded,
    now: datetime,
) -> Notice | None:
    at_gateway = look.mx_gateway.status is CheckStatus.PASS
    everywhere = look.propagation is not None and look.propagation.status is CheckStatus.PASS
    if not (at_gateway and everywhere) or prev.get("switched"):
        return None
    entry["switched"] = True
    entry["switched_at"] = now.isoformat()
    ttl = entry.get("old_ttl") or look.mx_ttl or 0
    return Notice(
        SWITCH,
        CHANNEL,
        onboarding.key,
        onboarding.name,
        look.domain,
        name_servers=look.name_servers,
        caches_expire_at=now + timedelta(seconds=int(ttl)),
        channel_id=onboarding.channel_id,
    )


def _regressions(
    look: DomainLook, prev: Mapping[str, Any], entry: dict[str, Any], onboarding: Onboarded
) -> list[Notice]:
    """A regression is raised once when its check fails, and may be raised again only after
    the check has passed in between; unknown and skipped leave it as it was."""
    alerted = set(entry["alerted"])
    notices = []
    for problem, result in ((MX, look.mx_gateway), (SPF, look.spf)):
        if result is None:
            continue
        if result.status is CheckStatus.PASS:
            alerted.discard(problem)
        elif result.status is CheckStatus.FAIL and problem not in alerted:
            alerted.add(problem)
            for audience in (CHANNEL, ENGINEERS):
                notices.append(
                    Notice(
                        REGRESSION,
                        audience,
                        onboarding.key,
                        onboarding.name,
                        look.domain,
                        problem=problem,
                        summary=result.summary,
                        channel_id=onboarding.channel_id,
                    )
                )
    entry["alerted"] = sorted(alerted)
    return notices
