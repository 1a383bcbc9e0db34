"""`/connect report`: gather everything recorded about one onboarding for the customer's change
board: steps, the latest check results with their evidence, the records asked for and seen,
the RFI's answers, reminders and confirmations, the logins (never a password) and the trail.

Who may ask is who may see the status: an engineer any onboarding, a customer contact only the
one bound to their channel (commands/core/access.py). Nothing here touches the network: the
report says what was recorded, it does not check again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from sqlmodel import Session

from commands.checks.result import CheckResult
from commands.core import audit
from commands.core.access import find_onboarding
from commands.core.context import Caller
from commands.core.process import Service, Step, applies
from commands.core.roles import Role
from commands.core.views import OnboardingView, view_of
from commands.profiles import GatewayProfile
from commands.reminders import confirmations
from commands.reminders.rules import CONFIRMS
from commands.report.model import (
    AnswerLine,
    CheckLine,
    Confirmation,
    DomainRecords,
    LoginLine,
    OnboardingReport,
    ReminderLine,
    StepLine,
    TrailLine,
)
from commands.rfi import questions
from commands.rfi.service import current_answers
from store import members as member_store
from store import reminders as reminder_store
from store import report as store
from store import rfi as rfi_store
from store.db import Database
from store.models import Onboarding, utcnow

# Bounds, so one long-lived onboarding cannot make a report without end.
MAX_RUNS = 500  # check runs read for the latest results (newest first)
MAX_REMINDERS = 1_000
MAX_TRAIL = 5_000  # audit events; a longer trail keeps its newest events and says so

# The checks whose evidence is what the domain's DNS showed.
DNS_CHECKS = frozenset(
    {"inbound.mx_gateway", "inbound.mx_leftovers", "inbound.mx_propagation", "outbound.spf"}
)
# Manual items, as the change board reads them, and the step each belongs to.
CONFIRMATION_TITLES: dict[str, tuple[str, Step]] = {
    "inbound.old_mx_retired": ("The old MX host no longer accepts mail", Step.INBOUND),
    "firewall.previous_provider": ("The previous provider is cancelled", Step.FIREWALL),
}


class ReportService:
    def __init__(
        self, db: Database, profile: GatewayProfile, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.db = db
        self.profile = profile
        self.clock = clock

    def report(self, caller: Caller, key: str | None) -> OnboardingReport:
        with self.db.session() as session:
            onboarding = find_onboarding(session, caller, key, verb="report")
            return self._gather(session, onboarding, caller.user_id)

    def _gather(self, session: Session, onboarding: Onboarding, by: str) -> OnboardingReport:
        assert onboarding.id is not None
        oid = onboarding.id
        view = view_of(session, onboarding)
        checks = _latest_results(session, oid)
        answers, domains = _answers(session, onboarding)
        trail = store.trail(session, oid, limit=MAX_TRAIL)
        return OnboardingReport(
            onboarding=view,
            generated_at=self.clock(),
            generated_by=by,
            steps=_steps(view),
            checks=checks,
            records=tuple(self._records(onboarding.region, domains, checks)),
            answers=answers,
            reminders=tuple(
                ReminderLine(
                    r.id or 0, r.text, r.due_at, r.state, r.created_by, r.done_by, r.done_at
                )
                for r in store.reminders(session, oid, limit=MAX_REMINDERS)
            ),
            confirmations=_confirmations(session, oid, view.service),
            logins=tuple(
                LoginLine(x.kind, x.host, x.port, x.username, x.set_by, x.set_at)
                for x in store.logins(session, oid)
            ),
            members=tuple(
                (m.user_id, Role(m.role).label if m.role in set(Role) else m.role)
                for m in member_store.members_of(session, oid)
            ),
            trail=tuple(
                TrailLine(e.at, e.actor, audit.parse(e.action, e.detail).describe())
                for e in trail.events
            ),
            trail_total=trail.total,
        )

    def _records(
        self, region_key: str | None, domains: tuple[str, ...], checks: tuple[CheckLine, ...]
    ) -> Iterable[DomainRecords]:
        """Per domain: the gateway's MX and SPF include for the region (what every domain is
        asked to publish), the exact fixes the latest checks asked for, and what they saw."""
        region = self.profile.regions.get(region_key) if region_key else None
        for domain in domains:
            asked: list[str] = []
            if region is not None:
                asked += [f"{domain}. MX {pref} {host}." for pref, host in region.mx_lines()]
                if region.include:
                    asked.append(f'{domain}. TXT "v=spf1 include:{region.include} … ~all"')
            mine = [c for c in checks if c.subject == domain]
            asked += [c.fix for c in mine if c.fix and c.fix not in asked]
            dns = [c for c in mine if c.id in DNS_CHECKS]
            seen = tuple(dict.fromkeys(e for c in dns for e in c.evidence))
            yield DomainRecords(domain, tuple(asked), seen, max((c.at for c in dns), default=None))


def _steps(view: OnboardingView) -> tuple[StepLine, ...]:
    return tuple(
        StepLine(
            s.step,
            s.state,
            s.changed_by,
            s.changed_at,
            last.worst if (last := view.last_check(s.step)) else None,
        )
        for s in view.steps
        if s.applies
    )


def _latest_results(session: Session, onboarding_id: int) -> tuple[CheckLine, ...]:
    """Each check's latest result per subject, with a person's confirmation applied as the
    checks apply it (a confirmed old MX host passes, naming who confirmed it)."""
    latest: dict[tuple[str, str | None], tuple[CheckResult, datetime, str]] = {}
    for run in store.check_runs(session, onboarding_id, limit=MAX_RUNS):
        for result in confirmations.from_stored(run.results):
            latest.setdefault((result.id, result.subject), (result, run.run_at, run.run_by))
    confirmed = confirmations.apply(session, onboarding_id, [r for r, _, _ in latest.values()])
    order = {step.value: index for index, step in enumerate(Step)}
    lines = [
        CheckLine(
            r.id,
            r.step,
            str(r.status),
            r.subject,
            r.summary,
            r.evidence,
            r.fix,
            at,
            by,
        )
        for r, (_, at, by) in zip(confirmed, latest.values(), strict=True)
    ]
    lines.sort(key=lambda c: (order.get(c.step, len(order)), c.id, c.subject or ""))
    return tuple(lines)


def _answers(
    session: Session, onboarding: Onboarding
) -> tuple[tuple[AnswerLine, ...], tuple[str, ...]]:
    """The RFI's answers, with who gave each last and when; and its domains (A-labels)."""
    assert onboarding.id is not None
    current = current_answers(session, onboarding)
    last = {row.question: row for row in rfi_store.answers(session, onboarding.id)}
    lines = []
    for question in questions.for_service(Service(onboarding.service)):
        values = current.get(question.id)
        state = "missing" if values is None else ("answered" if values else "skipped")
        row = last.get(question.id)
        lines.append(
            AnswerLine(
                question.title,
                tuple(questions.shown(v) for v in values or ()),
                state,
                row.answered_by if row else None,
                row.answered_at if row else None,
            )
        )
    domains = tuple(d.ascii for d in current.get("domains", []))
    return tuple(lines), domains


def _confirmations(
    session: Session, onboarding_id: int, service: Service
) -> tuple[Confirmation, ...]:
    done = reminder_store.confirmations(session, onboarding_id)
    found = []
    for item in dict.fromkeys(CONFIRMS.values()):
        title, step = CONFIRMATION_TITLES.get(item, (item, None))
        if step is not None and not applies(service, step):
            continue
        reminder = done.get(item)
        if reminder is None:
            found.append(Confirmation(item, title, None, None, None))
        else:
            found.append(Confirmation(item, title, reminder.done_by, reminder.done_at, reminder.id))
    return tuple(found)
