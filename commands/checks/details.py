"""The evidence of a check report, behind its *Details* button.

The report in the channel says what passed and what to fix; what was seen (records, hosts asked,
answers) comes from the stored runs, never from the button: a button's value is something a
person can forge, so it only names the runs, and the clicker must be allowed to see the
onboarding those runs belong to, exactly as if they had typed a command about it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from commands.checks.result import CheckResult
from commands.core.access import authorise
from commands.core.context import Caller, Refused
from commands.core.roles import NOT_YOURS
from commands.core.text import Command, Text
from commands.core.views import OnboardingView, view_of
from commands.reminders.confirmations import from_stored
from store import checks as check_store
from store.db import Database

MAX_RUNS = 10  # a report keeps one run per step; a longer list was not made by the bot


@dataclass(frozen=True)
class CheckDetails:
    """Every result of one report's runs, with all its evidence."""

    onboarding: OnboardingView
    run_at: datetime
    run_by: str
    results: tuple[CheckResult, ...]
    public = True


def run_ids_of(value: str) -> list[int]:
    """ "12,13" -> [12, 13]; anything else -> [] (a forged or truncated value)."""
    parts = value.split(",") if value else []
    if not 0 < len(parts) <= MAX_RUNS or not all(p.isdigit() and len(p) <= 12 for p in parts):
        return []
    return [int(p) for p in parts]


class CheckDetailsService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def details(self, caller: Caller, run_ids: list[int]) -> CheckDetails:
        """The stored results of `run_ids`, for a caller allowed to see their onboarding. Runs of
        several onboardings, or none, are refused like another customer's key."""
        with self.db.session() as session:
            runs = check_store.runs_by_id(session, run_ids)
            owners = {run.onboarding_id for run in runs}
            if len(owners) != 1 or len(runs) != len(set(run_ids)):
                raise Refused(NOT_YOURS)
            onboarding = check_store.onboarding_of(session, runs[0])
            if onboarding is None:
                raise Refused(NOT_YOURS)
            authorise(session, caller, onboarding, verb="check")
            results = tuple(r for run in runs for r in from_stored(run.results))
            if not results:
                raise Refused(
                    Text(
                        "That run kept no results; {check} runs the checks again.",
                        check=Command(f"check {onboarding.key}"),
                    )
                )
            first = runs[0]
            return CheckDetails(view_of(session, onboarding), first.run_at, first.run_by, results)
