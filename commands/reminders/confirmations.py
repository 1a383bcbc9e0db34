"""Manual items a person confirms with a reminder's Done, counted by the checks.

Some checks cannot see the answer for themselves: nobody can probe whether the previous
provider's contract is cancelled (`firewall.previous_provider`), and the old MX host often cannot
be reached from the bot (`inbound.old_mx_retired` comes back unknown). A Done on the reminder
that asked for it confirms the item: a skipped or inconclusive result of that check then passes,
naming who confirmed it and when. A failure stays a failure: if the probe sees the old MX host
still accepting mail, that outweighs anyone's word.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlmodel import Session

from commands.checks.result import CheckResult, CheckStatus
from store import reminders as store
from store.models import Reminder

# Only these results give way to a person's confirmation.
CONFIRMABLE = frozenset({CheckStatus.SKIPPED, CheckStatus.UNKNOWN})


def apply(
    session: Session, onboarding_id: int, results: Sequence[CheckResult]
) -> list[CheckResult]:
    """`results` with every confirmed item's skipped or unknown result turned into a pass."""
    confirmed = store.confirmations(session, onboarding_id)
    if not confirmed:
        return list(results)
    return [_confirmed(r, confirmed[r.id]) if r.id in confirmed else r for r in results]


def _confirmed(result: CheckResult, reminder: Reminder) -> CheckResult:
    if result.status not in CONFIRMABLE:
        return result
    when = f"{reminder.done_at:%d %b %Y %H:%M} UTC" if reminder.done_at else "earlier"
    return replace(
        result,
        status=CheckStatus.PASS,
        summary=f"Confirmed by {reminder.done_by or 'a person'} on {when} (reminder "
        f"#{reminder.id}). Before that: {result.summary}",
        evidence=(*result.evidence, f"confirmed with reminder #{reminder.id}"),
    )


def from_stored(results: Sequence[dict[str, object]]) -> list[CheckResult]:
    """A check run's stored results back as CheckResult values (enough to judge a step)."""
    out = []
    for item in results:
        evidence = item.get("evidence") or ()
        out.append(
            CheckResult(
                id=str(item["id"]),
                status=CheckStatus(str(item["status"])),
                subject=str(item["subject"]) if item.get("subject") else None,
                summary=str(item.get("summary") or ""),
                evidence=tuple(str(e) for e in evidence)
                if isinstance(evidence, list | tuple)
                else (),
                fix=str(item["fix"]) if item.get("fix") else None,
            )
        )
    return out
