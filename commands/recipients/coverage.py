"""`recipients.coverage`: every RFI domain has at least one recipient the gateway knows of."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from commands.checks.result import CheckResult, CheckStatus

CHECK_ID = "recipients.coverage"


def coverage(
    domains: Sequence[str], stored: Mapping[str, int], read_now: Mapping[str, int] | None = None
) -> CheckResult:
    """`stored`: recipients kept per domain (sync or import); `read_now`: what this run's
    directory read found, which counts too (the directory is the source of truth)."""
    counts = {d: max(stored.get(d, 0), (read_now or {}).get(d, 0)) for d in domains}
    empty = [d for d, n in counts.items() if n == 0]
    evidence = tuple(f"{d}: {n} recipients" for d, n in counts.items())
    if not domains:
        return CheckResult(
            CHECK_ID, CheckStatus.SKIPPED, None, "The RFI has no domains yet.", evidence
        )
    if not empty:
        return CheckResult(
            CHECK_ID,
            CheckStatus.PASS,
            None,
            f"Every domain has recipients ({sum(counts.values())} in {len(counts)} domains).",
            evidence,
        )
    return CheckResult(
        CHECK_ID,
        CheckStatus.FAIL,
        ", ".join(empty),
        f"No recipient in {', '.join(empty)}: the gateway would refuse all mail for "
        f"{'it' if len(empty) == 1 else 'them'}.",
        evidence,
        fix="Add the domain's users to the directory the gateway reads (then /connect sync), "
        "or upload a spreadsheet that lists them; or take the domain out of the RFI.",
    )
