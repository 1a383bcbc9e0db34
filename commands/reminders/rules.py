"""The reminders the Connect process sets by itself, each keyed so that running a rule twice
never adds a second one (the store ignores a key it has).

Called inside the transaction of whatever happened (an onboarding opened, a step moved, a check
run, an RFI question asked), so the reminder exists exactly when the change does.

- At open: the seed's implementation considerations, due the next working day (the archive
  export only for services with archiving).
- Outbound done (outbound mail flows through the gateway; the seed's "outbound-only mode"
  starts): after `outbound_period_days`, "the period is complete, consider the inbound switch".
- `inbound.mx_gateway` passing for the first time: after `old_mx_after_days`, ask the ISP to
  confirm the old MX hosts no longer receive mail; daily until Done. Later runs of
  `inbound.old_mx_retired` are written into its text.
- Inbound done: cancel the previous provider's contract before the firewall lockdown.
- An RFI question open in its thread: a nudge after `rfi_nudge_working_days` without activity,
  re-armed on every activity and cancelled when the RFI is complete.
- A go-live date set: for each step not started, on the latest day it must start to keep the
  date (commands/core/golive.py). Setting another date re-plans them; a step started drops its
  own; closing cancels them with the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import partial

from sqlmodel import Session

from commands.checks.result import CheckResult, CheckStatus
from commands.core import golive
from commands.core.process import Service, Step, StepState
from commands.core.steps import StepHook
from store import reminders as store
from store.models import Onboarding, Reminder, ReminderState

BOT = "bot"  # created_by of automatic reminders

CONSIDERATIONS_ARCHIVE = "considerations.archive"
CONSIDERATIONS_POLICIES = "considerations.policies"
CONSIDERATIONS_TESTING = "considerations.testing"
OUTBOUND_PERIOD = "outbound.period_complete"
OLD_MX_CONFIRM = "inbound.old_mx_confirm"
CANCEL_PROVIDER = "inbound.cancel_provider"
RFI_NUDGE = "rfi.nudge"
GO_LIVE = "golive"  # kinds "golive.<step>": one per step, so a started step drops only its own

# What a Done on each kind confirms: the manual item the checks cannot see for themselves.
CONFIRMS: dict[str, str] = {
    OLD_MX_CONFIRM: "inbound.old_mx_retired",
    CANCEL_PROVIDER: "firewall.previous_provider",
}

MX_GATEWAY = "inbound.mx_gateway"
OLD_MX_RETIRED = "inbound.old_mx_retired"


@dataclass(frozen=True)
class ReminderDelays:
    """How long the process waits before each automatic reminder (settings can change them)."""

    outbound_period_days: int = 5
    old_mx_after_days: int = 3
    old_mx_repeat_days: int = 1
    rfi_nudge_working_days: int = 2
    considerations_working_days: int = 1
    # Reminders counted in working days fall due at this hour, UTC: an onboarding has no time
    # zone of its own, and Slack shows the time in each reader's.
    working_hour_utc: int = 9


DEFAULT_DELAYS = ReminderDelays()

CONSIDERATIONS: tuple[tuple[str, str], ...] = (
    (
        CONSIDERATIONS_ARCHIVE,
        "Implementation consideration: export the historical messages you archive today, so "
        "that they can be imported into the gateway's archive.",
    ),
    (
        CONSIDERATIONS_POLICIES,
        "Implementation consideration: document the policies and settings of your current "
        "email service; they often cannot be exported, and the same behaviour must be set up "
        "on the gateway before mail moves.",
    ),
    (
        CONSIDERATIONS_TESTING,
        "Implementation consideration: plan and provision your acceptance testing for each "
        "step of the switch.",
    ),
)


def working_days_after(now: datetime, days: int, hour: int) -> datetime:
    """`days` working days (Monday to Friday) after `now`, at `hour`:00 UTC."""
    day = now.astimezone(UTC).date()
    left = max(days, 1)
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return datetime.combine(day, time(hour), tzinfo=UTC)


def _key(kind: str, onboarding: Onboarding, *extra: str) -> str:
    return ":".join((kind, str(onboarding.id), *extra))


def _add(
    session: Session,
    onboarding: Onboarding,
    kind: str,
    text: str,
    due_at: datetime,
    *,
    key: str | None = None,
    thread_ts: str | None = None,
    channel_id: str | None = None,
    repeat_seconds: int | None = None,
) -> Reminder | None:
    channel = channel_id or onboarding.channel_id
    if channel is None or onboarding.id is None:
        return None  # nowhere to post it (an onboarding opened outside a channel)
    return store.add(
        session,
        onboarding_id=onboarding.id,
        kind=kind,
        text=text,
        due_at=due_at,
        channel_id=channel,
        thread_ts=thread_ts,
        created_by=BOT,
        key=key or _key(kind, onboarding),
        repeat_seconds=repeat_seconds,
        confirms=CONFIRMS.get(kind),
    )


# --- the rules -----------------------------------------------------------------------------


def on_open(
    session: Session, onboarding: Onboarding, *, now: datetime, delays: ReminderDelays
) -> None:
    due = working_days_after(now, delays.considerations_working_days, delays.working_hour_utc)
    archiving = Service(onboarding.service) in (Service.ARCHIVING, Service.BOTH)
    for kind, text in CONSIDERATIONS:
        if kind == CONSIDERATIONS_ARCHIVE and not archiving:
            continue
        _add(session, onboarding, kind, text, due)


def on_close(session: Session, onboarding: Onboarding) -> None:
    """A closed onboarding has nothing left to chase."""
    if onboarding.id is not None:
        store.cancel_open(session, onboarding.id)


def step_hook(delays: ReminderDelays) -> StepHook:
    """What a step change does to the reminders, with this deployment's delays."""
    return partial(on_step_changed, delays=delays)


def on_step_changed(
    session: Session,
    onboarding: Onboarding,
    step: Step,
    before: StepState,
    after: StepState,
    *,
    now: datetime,
    delays: ReminderDelays,
) -> None:
    if after in (StepState.IN_PROGRESS, StepState.DONE) and onboarding.id is not None:
        store.cancel_kind(session, onboarding.id, go_live_kind(step))  # it has started
    if after is not StepState.DONE or before is StepState.DONE:
        return
    if step is Step.OUTBOUND:
        days = delays.outbound_period_days
        _add(
            session,
            onboarding,
            OUTBOUND_PERIOD,
            f"The outbound-only period ({days} day{'s' if days != 1 else ''} of outbound mail "
            "through the gateway) is complete: consider the inbound switch, pointing your MX "
            "records at the gateway.",
            now + timedelta(days=days),
        )
    elif step is Step.INBOUND:
        provider = onboarding.previous_provider or "your previous provider"
        _add(
            session,
            onboarding,
            CANCEL_PROVIDER,
            f"Cancel your contract with {provider} before the firewall lockdown. Press Done "
            "once it is cancelled: that confirms the firewall step's previous-provider item.",
            now,
        )


def on_check_results(
    session: Session,
    onboarding: Onboarding,
    results: Sequence[CheckResult],
    *,
    now: datetime,
    delays: ReminderDelays,
) -> None:
    """After a check run: start the old-MX chase, and keep its text on the latest probe."""
    gateway = [r for r in results if r.id == MX_GATEWAY]
    if gateway and all(r.status is CheckStatus.PASS for r in gateway):
        _add(
            session,
            onboarding,
            OLD_MX_CONFIRM,
            old_mx_text(onboarding, [r.subject for r in gateway if r.subject]),
            now + timedelta(days=delays.old_mx_after_days),
            repeat_seconds=delays.old_mx_repeat_days * 86_400,
        )
    retired = [r for r in results if r.id == OLD_MX_RETIRED]
    if retired:
        row = store.by_key(session, _key(OLD_MX_CONFIRM, onboarding))
        if row is not None and row.state not in (ReminderState.DONE, ReminderState.CANCELLED):
            row.text = old_mx_text(onboarding, None, retired=retired, at=now)
            session.add(row)


def old_mx_text(
    onboarding: Onboarding,
    domains: Sequence[str] | None,
    *,
    retired: Sequence[CheckResult] = (),
    at: datetime | None = None,
) -> str:
    old = onboarding.old_mx_hosts or {}
    hosts = sorted({h for found in old.values() for h in found})
    names = list(domains or old) or ["your domains"]
    shown = _join(hosts) or "(the ones before the switch)"
    text = (
        f"Ask your ISP to confirm that the old MX host(s) {shown} "
        f"no longer receive mail for {_join(names)}. Press Done once they confirm: that confirms "
        "the inbound step's old-MX item."
    )
    if retired and at is not None:
        lines = [f"{r.subject or 'all'}: {r.status.value}: {r.summary}" for r in retired]
        text += f"\nLatest {OLD_MX_RETIRED} check ({at:%d %b %Y %H:%M} UTC): " + " / ".join(lines)
    return text


def on_rfi_question(
    session: Session,
    onboarding: Onboarding,
    *,
    channel_id: str,
    thread_ts: str,
    question_title: str | None,
    activity_at: datetime,
    delays: ReminderDelays,
) -> None:
    """The RFI thread is waiting on a question (None: it is complete). One nudge at a time,
    keyed by the last activity, so repeating this for the same activity changes nothing."""
    if onboarding.id is None:
        return
    if question_title is None:
        store.cancel_kind(session, onboarding.id, RFI_NUDGE)
        return
    stamp = str(int(activity_at.timestamp() * 1_000_000))
    key = _key(RFI_NUDGE, onboarding, stamp)
    if store.by_key(session, key) is not None:
        return
    store.cancel_kind(session, onboarding.id, RFI_NUDGE)
    days = delays.rfi_nudge_working_days
    _add(
        session,
        onboarding,
        RFI_NUDGE,
        f"The question *{question_title}* has waited {days} working day"
        f"{'s' if days != 1 else ''} for an answer: reply in this thread, or use the form "
        "button on the RFI message.",
        working_days_after(activity_at, days, delays.working_hour_utc),
        key=key,
        channel_id=channel_id,
        thread_ts=thread_ts,
    )


def go_live_kind(step: Step) -> str:
    return f"{GO_LIVE}.{step.value}"


def go_live_plan(onboarding: Onboarding) -> golive.GoLivePlan | None:
    """The onboarding's go-live plan, the one status and Home show (None: no date set)."""
    if onboarding.go_live is None:
        return None
    return golive.plan(onboarding.go_live, Service(onboarding.service))


def on_go_live(
    session: Session,
    onboarding: Onboarding,
    states: Mapping[Step, StepState],
    *,
    now: datetime,
    delays: ReminderDelays,
) -> None:
    """The go-live date was set, moved or cleared: the previous plan's reminders go, and each
    step not started gets one at `working_hour_utc` on the latest day it must start. A day
    already past gets none (status shows the step as behind). Keys carry the plan's date and
    when it was made, so planning the same date again after a move arms afresh."""
    if onboarding.id is None:
        return
    for step in Step:
        store.cancel_kind(session, onboarding.id, go_live_kind(step))
    planned = go_live_plan(onboarding)
    if planned is None:
        return
    stamp = str(int(now.timestamp() * 1_000_000))
    for m in planned.milestones:
        due = datetime.combine(m.start_by, time(delays.working_hour_utc), tzinfo=UTC)
        if states.get(m.step) is not StepState.NOT_STARTED or due.date() < now.date():
            continue
        kind = go_live_kind(m.step)
        text = (
            f"Go-live plan: {m.step.title} must start today to keep the go-live date of "
            f"{golive.day_label(planned.go_live)} (mail through the gateway), and be done by "
            f"{golive.day_label(m.done_by)}."
        )
        key = _key(kind, onboarding, planned.go_live.isoformat(), stamp)
        _add(session, onboarding, kind, text, max(due, now), key=key)


def _join(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
