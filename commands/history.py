"""`/connect history`: an onboarding's audit trail, newest first, a page at a time.

Each stored event becomes one line of Text; the values in it (answers, names) are people's
text and are escaped when rendered, like every other value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from commands.checks.probes.old_mx import OLD_MX_RETIRED
from commands.checks.probes.verdicts import PREVIOUS_PROVIDER
from commands.core import audit
from commands.core.access import find_onboarding
from commands.core.context import Caller, Refused
from commands.core.text import Command, Text
from commands.core.views import OnboardingView, view_of
from commands.rfi.questions import QUESTIONS
from store import audit as audit_store
from store.db import Database

PER_PAGE = 20
BOT_ACTOR = "connect-bot"
# History names a question by the title people see in the RFI, not by its id (`outbound_ips`).
NAMES = audit.Names(
    {q.id: q.title for q in QUESTIONS},
    {
        OLD_MX_RETIRED: "that the old MX hosts no longer take mail",
        PREVIOUS_PROVIDER: "that the previous provider is cancelled",
    },
)


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    actor: str
    text: Text


@dataclass(frozen=True)
class History:
    onboarding: OnboardingView
    lines: tuple[HistoryLine, ...]
    page: int
    pages: int
    total: int
    public = False

    @property
    def next_page(self) -> int | None:
        return self.page + 1 if self.page < self.pages else None


class HistoryService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def history(self, caller: Caller, key: str | None, page: str | None) -> History:
        number = _page_number(page)
        with self.db.session() as session:
            onboarding = find_onboarding(session, caller, key, verb="history")
            assert onboarding.id is not None
            found = audit_store.page(session, onboarding.id, number=number, per_page=PER_PAGE)
            if number > found.pages:
                raise Refused(
                    Text(
                        "{key} has {pages} page(s) of history; {example} shows the first.",
                        key=onboarding.key,
                        pages=found.pages,
                        example=Command(f"history {onboarding.key}"),
                    )
                )
            lines = tuple(
                HistoryLine(e.at, e.actor, describe(e.action, e.detail)) for e in found.events
            )
            return History(view_of(session, onboarding), lines, number, found.pages, found.total)


def _page_number(page: str | None) -> int:
    if page is None:
        return 1
    if not page.isdigit() or not 0 < int(page) <= 100_000:
        raise Refused(
            Text(
                "{page} is not a page number; pages count from 1: {example}.",
                page=page[:20],
                example=Command("history acme --page 2"),
            )
        )
    return int(page)


def describe(action: str, detail: object) -> Text:
    """One stored audit event as a line of text, said by its event class; an action or a detail
    no class reads (old data) still shows what it recorded."""
    return audit.parse(action, detail).describe(NAMES)
