"""`/connect remind`, `/connect reminders` and the Done / Snooze buttons on a posted reminder.

A Done records who and when; on a reminder that confirms a manual item (the old MX host retired,
the previous provider cancelled) it also re-judges that step's latest check run with the
confirmation counted, so the step is done as soon as nothing else is missing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from commands.checks.result import CheckStatus
from commands.checks.service import follow
from commands.core import audit
from commands.core.access import authorise, find_onboarding
from commands.core.context import Caller, Refused
from commands.core.process import Step, StepState
from commands.core.text import Command, Text
from commands.reminders import confirmations
from commands.reminders.rules import DEFAULT_DELAYS, ReminderDelays
from commands.reminders.when import BadTime, parse_due
from commands.replies import (
    ReminderCancelled,
    ReminderDone,
    ReminderList,
    ReminderSet,
    ReminderSnoozed,
    ReminderView,
)
from store import checks as check_store
from store import onboardings
from store import reminders as store
from store.db import Database
from store.models import Onboarding, Reminder, ReminderState, utcnow

MAX_TEXT_CHARS = 1_000
LIST_LIMIT = 30
SNOOZES: dict[str, timedelta] = {"1d": timedelta(days=1), "1w": timedelta(weeks=1)}
EXAMPLE = "remind acme in 3d call the ISP"


class ReminderService:
    def __init__(self, db: Database, *, delays: ReminderDelays = DEFAULT_DELAYS) -> None:
        self.db = db
        self.delays = delays

    # --- verbs ---------------------------------------------------------------------------

    def remind(
        self, caller: Caller, key: str | None, spec: str, *, now: datetime | None = None
    ) -> ReminderSet:
        """`spec` is what follows the customer: the due time, then the text."""
        now = now or utcnow()
        words = spec.split()
        if not words:
            raise Refused(Text("Say when, then what: {example}.", example=Command(EXAMPLE)))
        try:
            due = parse_due(words, now=now, tz=caller.tz)
        except BadTime as exc:
            raise Refused(exc.text) from None
        parts = spec.split(maxsplit=due.words)
        text = parts[due.words].strip() if len(parts) > due.words else ""
        if not text:
            raise Refused(
                Text(
                    "Say what to be reminded of after the time: {example}.",
                    example=Command(EXAMPLE),
                )
            )
        if len(text) > MAX_TEXT_CHARS:
            raise Refused(
                Text(
                    "That reminder is {length} characters; keep it to {limit}.",
                    length=len(text),
                    limit=MAX_TEXT_CHARS,
                )
            )
        with self.db.session(write=True) as session:
            onboarding = find_onboarding(session, caller, key, verb="remind")
            if onboarding.closed_at is not None:
                raise Refused(Text("{key} is closed; it takes no reminders.", key=onboarding.key))
            channel = onboarding.channel_id or caller.channel_id
            if channel is None or onboarding.id is None:
                raise Refused(
                    Text("{key} has no channel to post reminders in.", key=onboarding.key)
                )
            row = store.add(
                session,
                onboarding_id=onboarding.id,
                kind="manual",
                text=text,
                due_at=due.at,
                channel_id=channel,
                created_by=caller.user_id,
            )
            assert row is not None  # no key, so no conflict
            assert row.id is not None
            audit.record(
                session,
                onboarding.id,
                caller.user_id,
                audit.ReminderAdded(row.id, due.at.isoformat()),
                at=now,
            )
            return ReminderSet(_view(row, onboarding.key), due.zone)

    def list(self, caller: Caller, key: str | None) -> ReminderList:
        with self.db.session() as session:
            onboarding: Onboarding | None = None
            # Every open onboarding's reminders only for an engineer outside a bound channel;
            # a customer contact always gets their channel's (or a refusal).
            if (
                key is not None
                or not caller.is_engineer
                or (
                    caller.channel_id
                    and onboardings.get_open_in_channel(session, caller.channel_id)
                )
            ):
                onboarding = find_onboarding(session, caller, key, verb="reminders")
            rows, total = store.open_reminders(
                session,
                onboarding_id=onboarding.id if onboarding else None,
                limit=LIST_LIMIT,
            )
            return ReminderList(
                tuple(_view(r, k) for r, k in rows), total, onboarding.key if onboarding else None
            )

    def done_by_command(self, caller: Caller, id_text: str | None) -> ReminderDone:
        return self.done(caller, _parse_id(id_text, "done"), clicked=False)

    def cancel(self, caller: Caller, id_text: str | None) -> ReminderCancelled:
        reminder_id = _parse_id(id_text, "cancel")
        with self.db.session(write=True) as session:
            row, key = self._mine(session, caller, reminder_id)
            if store.cancel(session, reminder_id) is None:
                raise Refused(
                    Text(
                        "Reminder #{id} is {state} already; nothing to cancel.",
                        id=str(reminder_id),
                        state=row.state,
                    )
                )
            audit.record(
                session, row.onboarding_id, caller.user_id, audit.ReminderCancelled(reminder_id)
            )
            return ReminderCancelled(_view(row, key), caller.user_id)

    # --- buttons -------------------------------------------------------------------------

    def done(
        self,
        caller: Caller,
        reminder_id: int,
        *,
        now: datetime | None = None,
        clicked: bool = True,
    ) -> ReminderDone:
        """The Done button (clicked) or `/connect remind done <id>`."""
        now = now or utcnow()
        with self.db.session(write=True) as session:
            row, key = self._mine(session, caller, reminder_id, clicked=clicked)
            if row.state == ReminderState.DONE:
                return ReminderDone(_view(row, key), caller.user_id, now, already=True)
            if store.complete(session, reminder_id, by=caller.user_id, at=now) is None:
                raise Refused(
                    Text(
                        "Reminder #{id} was cancelled; there is nothing to do.", id=str(reminder_id)
                    )
                )
            audit.record(
                session,
                row.onboarding_id,
                caller.user_id,
                audit.ReminderDone(reminder_id, row.confirms),
                at=now,
            )
            step, state = None, None
            if row.confirms:
                step, state = self._rejudge(session, row, caller.user_id)
            return ReminderDone(
                _view(row, key),
                caller.user_id,
                now,
                confirmed=row.confirms,
                step=step,
                step_state=state,
            )

    def snooze(
        self, caller: Caller, reminder_id: int, span: str, *, now: datetime | None = None
    ) -> ReminderSnoozed:
        now = now or utcnow()
        delta = SNOOZES.get(span)
        if delta is None:
            raise Refused(Text("Snooze for {spans}.", spans=" or ".join(SNOOZES)))
        with self.db.session(write=True) as session:
            row, key = self._mine(session, caller, reminder_id, clicked=True)
            until = now + delta
            if store.snooze(session, reminder_id, until=until, by=caller.user_id) is None:
                raise Refused(
                    Text(
                        "Reminder #{id} is {state}; it cannot be snoozed.",
                        id=str(reminder_id),
                        state=row.state,
                    )
                )
            audit.record(
                session,
                row.onboarding_id,
                caller.user_id,
                audit.ReminderSnoozed(reminder_id, until.isoformat()),
                at=now,
            )
            return ReminderSnoozed(_view(row, key), caller.user_id, until)

    # --- internals -----------------------------------------------------------------------

    def _mine(
        self, session: Session, caller: Caller, reminder_id: int, *, clicked: bool = False
    ) -> tuple[Reminder, str]:
        """The reminder, if the caller may act on it from where they are: a click only on the
        reminder's own message (its channel), a command only in its onboarding's channel or in
        a channel bound to none."""
        row = store.get(session, reminder_id)
        onboarding = session.get(Onboarding, row.onboarding_id) if row else None
        missing = Refused(
            Text(
                "There is no reminder #{id}; {list} shows them with their ids.",
                id=str(reminder_id),
                list=Command("reminders"),
            )
        )
        if row is None or onboarding is None:
            raise missing
        # Whoever asks must be allowed on the reminder's onboarding, as for a command: the id
        # alone (typed, or a button's forgeable value) opens nothing. Another customer's
        # reminder is answered like one that does not exist, so ids reveal nothing.
        try:
            authorise(session, caller, onboarding, verb="remind")
        except Refused:
            raise missing from None
        if clicked:
            elsewhere = caller.channel_id != row.channel_id
        else:
            bound = (
                onboardings.get_open_in_channel(session, caller.channel_id)
                if caller.channel_id
                else None
            )
            elsewhere = bound is not None and bound.id != row.onboarding_id
        if elsewhere:
            raise Refused(
                Text(
                    "Reminder #{id} belongs to {key}; act on it in that onboarding's channel.",
                    id=str(reminder_id),
                    key=onboarding.key,
                )
            )
        return row, onboarding.key

    def _rejudge(
        self, session: Session, row: Reminder, actor: str
    ) -> tuple[Step | None, StepState | None]:
        """Judge the confirmed item's step again from its latest run, the confirmation counted."""
        assert row.confirms is not None
        step = Step(row.confirms.partition(".")[0])
        onboarding = session.get(Onboarding, row.onboarding_id)
        assert onboarding is not None
        run = check_store.latest_runs(session, row.onboarding_id).get(step.value)
        if run is None or onboarding.closed_at is not None:
            return None, None
        results = confirmations.apply(
            session, row.onboarding_id, confirmations.from_stored(run.results)
        )
        if not results or any(r.status is not CheckStatus.PASS for r in results):
            return None, None  # something else is still missing; the next check says what
        move = follow(session, onboarding, step, results, actor, delays=self.delays)
        return (move.step, move.after) if move else (None, None)


def _view(row: Reminder, key: str) -> ReminderView:
    assert row.id is not None
    return ReminderView(
        id=row.id,
        key=key,
        kind=row.kind,
        text=row.text,
        due_at=row.due_at,
        state=row.state,
        created_by=row.created_by,
        channel_id=row.channel_id,
        thread_ts=row.thread_ts,
        repeat_seconds=row.repeat_seconds,
        confirms=row.confirms,
        done_by=row.done_by,
        done_at=row.done_at,
        failed_reason=row.failed_reason,
    )


def _parse_id(text: str | None, verb: str) -> int:
    cleaned = (text or "").lstrip("#")
    if not cleaned.isdigit() or len(cleaned) > 12:
        raise Refused(
            Text(
                "Say which reminder by its number: {example}; {list} shows them.",
                example=Command(f"remind {verb} 12"),
                list=Command("reminders"),
            )
        )
    return int(cleaned)
