"""The check-result contract (DESIGN.md): a stable id, a status, one line on what to do, evidence.

Everything here is plain text; bot/ escapes it for Slack. A DNS timeout or SERVFAIL is `unknown`
with the reason, never reported as something being missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class CheckStatus(StrEnum):
    PASS = "pass"  # noqa: S105 (a status word, not a password)
    WARN = "warn"
    FAIL = "fail"
    UNKNOWN = "unknown"  # the answer could not be had (timeout, SERVFAIL, server down)
    SKIPPED = "skipped"  # the check does not apply or lacks its input

    @property
    def rank(self) -> int:
        """Worst first when sorting or rolling up: fail > unknown > warn > pass > skipped."""
        return _RANK[self]


_RANK = {
    CheckStatus.FAIL: 4,
    CheckStatus.UNKNOWN: 3,
    CheckStatus.WARN: 2,
    CheckStatus.PASS: 1,
    CheckStatus.SKIPPED: 0,
}


@dataclass(frozen=True)
class CheckResult:
    """One check for one subject (usually a domain).

    id:       stable, dotted, e.g. "inbound.mx_gateway"
    subject:  what was checked (the domain, as an A-label) or None for account-wide checks
    summary:  one plain-text sentence that says what is wrong and what to do
    evidence: what was seen (records, hosts asked, answers), one plain string each
    fix:      the exact thing to publish or change, when there is one
    until:    for time-bound states (stale caches), when the state ends (UTC)
    """

    id: str
    status: CheckStatus
    subject: str | None
    summary: str
    evidence: tuple[str, ...] = ()
    fix: str | None = None
    until: datetime | None = field(default=None, compare=False)

    @property
    def step(self) -> str:
        """The onboarding step the check belongs to: "inbound" for "inbound.mx_gateway"."""
        return self.id.partition(".")[0]

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form (CLI --json, logs)."""
        return {
            "id": self.id,
            "status": str(self.status),
            "subject": self.subject,
            "summary": self.summary,
            "evidence": list(self.evidence),
            "fix": self.fix,
            "until": self.until.isoformat() if self.until else None,
        }


def worst(results: list[CheckResult] | tuple[CheckResult, ...]) -> CheckStatus:
    """The roll-up status of several results (a step is done only when this is PASS)."""
    if not results:
        return CheckStatus.SKIPPED
    return max((r.status for r in results), key=lambda s: s.rank)
