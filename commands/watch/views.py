"""`/connect watch [customer] [pause|resume]`: what is watched, when next, what was last seen;
engineers may pause and resume it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from commands.core import audit
from commands.core.access import find_onboarding
from commands.core.context import Caller, Refused
from commands.core.process import StepState
from commands.core.steps import step_state
from commands.core.text import Text
from commands.core.views import OnboardingView, view_of
from commands.watch.schedule import WATCHED_STEP, Mode, mode_for
from store import watches as store
from store.db import Database
from store.models import utcnow

ACTIONS = ("pause", "resume")


@dataclass(frozen=True)
class WatchedDomain:
    domain: str
    status: str  # the worst status of the domain's last run: pass, fail, unknown, ...
    summary: str
    switched_at: datetime | None = None
    alerted: tuple[str, ...] = ()  # regressions raised and not yet cleared: "mx", "spf"


@dataclass(frozen=True)
class WatchShown:
    onboarding: OnboardingView
    mode: Mode | None  # None: not watched
    reason: str = ""  # why it is not watched
    due_at: datetime | None = None
    last_run_at: datetime | None = None
    paused_by: str | None = None
    paused_at: datetime | None = None
    domains: tuple[WatchedDomain, ...] = ()
    changed: bool = False  # a pause or resume changed something (else it already was so)
    action: str | None = None  # "pause" | "resume" when one was asked for
    public = True


def _why_not(state: StepState, closed: bool) -> str:
    if closed:
        return "the onboarding is closed"
    if state is StepState.NOT_APPLICABLE:
        return "its service has no inbound step"
    return "the inbound step has not started (the watch begins once it is in progress)"


def watch(db: Database, caller: Caller, key: str | None, action: str | None) -> WatchShown:
    """Show the watch; with an action, pause or resume it first (engineers only)."""
    if action is not None and not caller.is_engineer:
        raise Refused(Text("Only a Connect engineer can {action} the DNS watch.", action=action))
    now = utcnow()
    with db.session(write=action is not None) as session:
        onboarding = find_onboarding(session, caller, key, verb="watch")
        assert onboarding.id is not None
        closed = onboarding.closed_at is not None
        state = step_state(session, onboarding, WATCHED_STEP)
        mode = mode_for(state.value, closed)
        changed = False
        if action is not None:
            if mode is None:
                raise Refused(
                    Text(
                        "{key} is not watched, so there is nothing to {action}: {why}.",
                        key=onboarding.key,
                        action=action,
                        why=_why_not(state, closed),
                    )
                )
            # The watcher makes the watch within a poll; a pause must not wait for that.
            store.ensure(session, onboarding.id, mode=mode.value, due_at=now)
            pausing = action == "pause"
            changed = store.set_paused(
                session,
                onboarding.id,
                by=caller.user_id if pausing else None,
                at=now if pausing else None,
            )
            if changed:
                event = audit.WatchPaused() if pausing else audit.WatchResumed()
                audit.record(session, onboarding.id, caller.user_id, event, at=now)
        row = store.for_onboarding(session, onboarding.id) if mode is not None else None
        view = view_of(session, onboarding)
        if row is None:
            why = _why_not(state, closed) if mode is None else "its first run is being scheduled"
            return WatchShown(view, mode, why)
        return WatchShown(
            view,
            Mode(row.mode),
            due_at=row.due_at,
            last_run_at=row.last_run_at,
            paused_by=row.paused_by,
            paused_at=row.paused_at,
            domains=_domains(row.seen or {}),
            changed=changed,
            action=action,
        )


def _domains(seen: dict[str, object]) -> tuple[WatchedDomain, ...]:
    shown = []
    for domain, entry in seen.items():
        if not isinstance(entry, dict):
            continue
        statuses = [entry.get(k) for k in ("gateway", "propagation", "spf") if entry.get(k)]
        order = ("fail", "unknown", "warn", "pass", "skipped")
        status = min(statuses, key=lambda s: order.index(s) if s in order else 0, default="unknown")
        switched = entry.get("switched_at")
        shown.append(
            WatchedDomain(
                domain,
                str(status),
                str(entry.get("summary") or ""),
                datetime.fromisoformat(switched) if isinstance(switched, str) else None,
                tuple(entry.get("alerted") or ()),
            )
        )
    return tuple(shown)
