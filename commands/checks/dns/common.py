"""Small pieces the DNS checks share: MX parsing and the results for answers that never came."""

from __future__ import annotations

from commands.checks.dns.names import display_name, normalize_host
from commands.checks.dns.resolver import Lookup, LookupStatus
from commands.checks.result import CheckResult, CheckStatus


def mx_records(lookup: Lookup) -> list[tuple[int, str]]:
    """(preference, host) sorted by preference then name; [] unless the lookup succeeded."""
    if not lookup.ok:
        return []
    return sorted((int(r.preference), normalize_host(str(r.exchange))) for r in lookup.rdata)


def shown(domain: str) -> str:
    """How a domain appears in a sentence: its Unicode form, with the A-label when different."""
    pretty = display_name(domain)
    return pretty if pretty == domain else f"{pretty} ({domain})"


def unanswered(check_id: str, domain: str, lookup: Lookup, what: str) -> CheckResult | None:
    """The result for a lookup that gives no verdict: NXDOMAIN is a fail (the domain does not
    exist); timeout/SERVFAIL is unknown with the reason; anything else is None (go on)."""
    if lookup.status is LookupStatus.NXDOMAIN and normalize_host(lookup.name) == domain:
        return CheckResult(
            check_id,
            CheckStatus.FAIL,
            domain,
            f"{shown(domain)} does not exist in DNS (NXDOMAIN): check the spelling in the answers "
            "or register the domain.",
            (lookup.describe(),),
        )
    if lookup.failed:
        return CheckResult(
            check_id,
            CheckStatus.UNKNOWN,
            domain,
            f"Could not read the {what} of {shown(domain)} ({lookup.status}: "
            f"{lookup.reason or 'no reason given'}); run the check again later.",
            (lookup.describe(),),
        )
    return None
