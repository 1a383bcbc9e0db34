"""The onboarding service: open, status, list, done, reopen, close. Business rules live here."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session

from commands.grammar import UsageError, check_key
from commands.regions import REGIONS
from commands.reminders import rules
from commands.reminders.rules import DEFAULT_DELAYS, ReminderDelays
from commands.results import (
    Closed,
    LastCheck,
    Listing,
    ListItem,
    OnboardingView,
    Opened,
    Status,
    StepChanged,
    StepView,
    Updated,
)
from commands.rfi import questions
from commands.roles import NOT_YOURS, TAKEN, Role
from commands.steps import (
    SERVICE_ALIASES,
    STEP_ALIASES,
    Service,
    Step,
    StepState,
    TransitionError,
    initial_state,
    transition,
)
from commands.text import Code, Text, UserRef, When
from store import audit, members, queries
from store import checks as check_store
from store import rfi as rfi_store
from store.db import Database
from store.models import Onboarding, utcnow

# A name is shown in a Slack header (at most 150 characters) next to the key.
MAX_NAME_CHARS = 100
LIST_LIMIT = 40


@dataclass(frozen=True)
class Caller:
    """Who asked, and where: the plain values every handler needs."""

    user_id: str
    channel_id: str | None = None
    team_id: str | None = None
    # The person's IANA time zone (Slack's users.info tz), for times they type; None: UTC.
    tz: str | None = None
    # Least privilege unless the transport says otherwise: Slack resolves it per request
    # (bot/identity.py); the local shell and the CLI speak as engineers.
    role: Role = Role.CUSTOMER

    @property
    def is_engineer(self) -> bool:
        return self.role is Role.ENGINEER


class Refused(Exception):
    """Raised inside a handler to stop, roll back, and answer with a Refusal."""

    def __init__(self, text: Text) -> None:
        super().__init__(text.template)
        self.text = text


class OnboardingService:
    def __init__(
        self,
        db: Database,
        *,
        regions: Mapping[str, str] = REGIONS,
        delays: ReminderDelays = DEFAULT_DELAYS,
    ) -> None:
        self.db = db
        self.regions = regions
        self.delays = delays

    # --- verbs -----------------------------------------------------------------------------

    def open(
        self,
        caller: Caller,
        key: str | None,
        *,
        service: str | None,
        region: str | None,
        name: str | None,
    ) -> Opened:
        if key is None:
            raise Refused(
                Text(
                    "Say which customer to open, e.g. {example}.",
                    example=Code("/connect open acme --service both"),
                )
            )
        check_key(key)
        chosen = _parse_service(service)
        chosen_region = _parse_region(region, self.regions)
        display = _parse_name(name, key)
        if not caller.is_engineer and not _shared_channel(caller.channel_id):
            raise Refused(SELF_SERVICE_WHERE)
        with self.db.session(write=True) as session:
            existing = queries.get_by_key(session, key)
            if existing is not None and not caller.is_engineer:
                raise Refused(TAKEN)  # who opened it, and when, is another customer's business
            if existing is not None:
                raise Refused(
                    Text(
                        "{key} exists already: opened by {user} {when}{closed}.",
                        key=key,
                        user=UserRef(existing.opened_by),
                        when=When(existing.opened_at),
                        closed=" (now closed)" if existing.closed_at else "",
                    )
                )
            if caller.channel_id:
                bound = queries.get_open_in_channel(session, caller.channel_id)
                if bound is not None and not caller.is_engineer:
                    raise Refused(
                        Text(
                            "This channel already has its onboarding: {status} shows it.",
                            status=Code("/connect status"),
                        )
                    )
                if bound is not None:
                    raise Refused(
                        Text(
                            "This channel is already bound to {bound}; open {key} in its own "
                            "channel (one onboarding per channel, so commands here need no key).",
                            bound=bound.key,
                            key=key,
                        )
                    )
            now = utcnow()
            onboarding = Onboarding(
                key=key,
                name=display,
                service=chosen.value,
                region=chosen_region,
                team_id=caller.team_id,
                channel_id=caller.channel_id,
                opened_by=caller.user_id,
                opened_at=now,
            )
            try:
                queries.add_onboarding(
                    session, onboarding, [(s.value, initial_state(chosen, s).value) for s in Step]
                )
            except queries.DuplicateKey:
                raise Refused(
                    TAKEN
                    if not caller.is_engineer
                    else Text("{key} was opened a moment ago by someone else.", key=key)
                ) from None
            assert onboarding.id is not None
            # The opener takes part from the start (recorded with the opening, no event of its own).
            members.add(
                session,
                onboarding_id=onboarding.id,
                user_id=caller.user_id,
                role=caller.role.value,
                added_by=caller.user_id,
                at=now,
            )
            audit.record(
                session,
                onboarding_id=onboarding.id,
                actor=caller.user_id,
                action="onboarding.opened",
                detail={
                    "service": chosen.value,
                    "region": chosen_region,
                    "name": display,
                    "role": caller.role.value,
                },
                at=now,
            )
            rules.on_open(session, onboarding, now=now, delays=self.delays)
            return Opened(view_of(session, onboarding), by_customer=not caller.is_engineer)

    def status(self, caller: Caller, key: str | None) -> Status:
        with self.db.session() as session:
            onboarding = find_onboarding(session, caller, key, verb="status")
            return Status(view_of(session, onboarding))

    def list(self, caller: Caller, *, include_closed: bool) -> Listing:
        with self.db.session() as session:
            only = None if caller.is_engineer else own_onboardings(session, caller)
            rows, total = queries.list_progress(
                session,
                include_closed=include_closed,
                limit=LIST_LIMIT,
                done_state=StepState.DONE.value,
                skip_state=StepState.NOT_APPLICABLE.value,
                only=only,
            )
            hidden = 0 if include_closed else queries.count_closed(session, only)
            items = tuple(
                ListItem(
                    key=p.onboarding.key,
                    name=p.onboarding.name,
                    service=Service(p.onboarding.service),
                    region=p.onboarding.region,
                    opened_at=p.onboarding.opened_at,
                    closed_at=p.onboarding.closed_at,
                    done=p.done,
                    applicable=p.applicable,
                )
                for p in rows
            )
            return Listing(
                items=items, total=total, closed_hidden=hidden, scoped=not caller.is_engineer
            )

    def mark_done(self, caller: Caller, key: str | None, step_name: str) -> StepChanged:
        return self._move(caller, key, step_name, StepState.DONE, verb="done")

    def reopen(self, caller: Caller, key: str | None, step_name: str) -> StepChanged:
        return self._move(caller, key, step_name, StepState.IN_PROGRESS, verb="reopen")

    def close(self, caller: Caller, key: str | None) -> Closed:
        if key is None:
            raise Refused(
                Text(
                    "Spell out the customer to close, e.g. {example}.",
                    example=Code("/connect close acme"),
                )
            )
        with self.db.session(write=True) as session:
            onboarding = find_onboarding(session, caller, key, verb="close", for_update=True)
            if onboarding.closed_at is not None:
                raise Refused(
                    Text(
                        "{key} is already closed (by {user} {when}).",
                        key=onboarding.key,
                        user=UserRef(onboarding.closed_by or onboarding.opened_by),
                        when=When(onboarding.closed_at),
                    )
                )
            now = utcnow()
            queries.close_onboarding(session, onboarding, caller.user_id, now)
            rules.on_close(session, onboarding)
            queries.record_event(
                session,
                onboarding_id=onboarding.id,
                actor=caller.user_id,
                action="onboarding.closed",
                detail={},
                at=now,
            )
            return Closed(view_of(session, onboarding))

    def update(
        self,
        caller: Caller,
        key: str | None,
        *,
        region: str | None,
        name: str | None,
        journal_address: str | None = None,
    ) -> Updated:
        if region is None and name is None and journal_address is None:
            raise Refused(
                Text(
                    "Say what to change: {example}.", example=Code("/connect set acme --region eu")
                )
            )
        new_region = _parse_region(region, self.regions)
        new_name = _parse_name(name, "") if name is not None else None
        new_journal = _parse_address(journal_address) if journal_address is not None else None
        with self.db.session(write=True) as session:
            onboarding = find_onboarding(session, caller, key, verb="set", for_update=True)
            if onboarding.closed_at is not None:
                raise Refused(Text("{key} is closed; it can no longer change.", key=onboarding.key))
            changes: dict[str, dict[str, str | None]] = {}
            if new_region is not None and new_region != onboarding.region:
                changes["region"] = {"from": onboarding.region, "to": new_region}
                onboarding.region = new_region
            if new_name is not None and new_name != onboarding.name:
                changes["name"] = {"from": onboarding.name, "to": new_name}
                onboarding.name = new_name
            if new_journal is not None and new_journal != onboarding.journal_address:
                changes["journal address"] = {"from": onboarding.journal_address, "to": new_journal}
                onboarding.journal_address = new_journal
            if not changes:
                raise Refused(
                    Text("Nothing to change: {key} has that already.", key=onboarding.key)
                )
            session.add(onboarding)
            queries.record_event(
                session,
                onboarding_id=onboarding.id,
                actor=caller.user_id,
                action="onboarding.changed",
                detail=changes,
            )
            return Updated(view_of(session, onboarding), tuple(changes), caller.user_id)

    # --- helpers ---------------------------------------------------------------------------

    def _move(
        self, caller: Caller, key: str | None, step_name: str, target: StepState, *, verb: str
    ) -> StepChanged:
        step = _parse_step(step_name)
        with self.db.session(write=True) as session:
            onboarding = find_onboarding(session, caller, key, verb=verb, for_update=True)
            if onboarding.closed_at is not None:
                raise Refused(
                    Text("{key} is closed; its steps can no longer change.", key=onboarding.key)
                )
            current = step_state(session, onboarding, step)
            if verb == "reopen" and current is not StepState.DONE:
                raise Refused(
                    Text(
                        "{step} is {state}, not done, so there is nothing to reopen.",
                        step=step.title,
                        state=current.label,
                    )
                )
            try:
                change_step(
                    session, onboarding, step, target, caller.user_id, how=verb, delays=self.delays
                )
            except TransitionError as exc:
                raise Refused(Text("{reason}", reason=str(exc))) from None
            return StepChanged(view_of(session, onboarding), step, current, caller.user_id)


def find_onboarding(
    session: Session,
    caller: Caller,
    key: str | None,
    *,
    verb: str,
    for_update: bool = False,
) -> Onboarding:
    """The onboarding a command is about: the key's, or the channel's when the key is left out.

    A customer contact only ever gets the onboarding bound to their channel; for any other key
    (existing or not) they get NOT_YOURS, with no suggestions, so nothing leaks."""
    if not caller.is_engineer:
        return _customers_onboarding(session, caller, key, verb=verb, for_update=for_update)
    if key is None:
        bound = (
            queries.get_open_in_channel(session, caller.channel_id) if caller.channel_id else None
        )
        if bound is None:
            raise Refused(
                Text(
                    "This channel has no onboarding, so say which customer: {example}.",
                    example=Code(f"/connect {verb} acme"),
                )
            )
        return bound
    check_key(key)
    onboarding = queries.get_by_key(session, key, for_update=for_update)
    if onboarding is None:
        close = difflib.get_close_matches(key, queries.all_keys(session), n=3, cutoff=0.6)
        hint = (
            Text(" Did you mean {keys}?", keys=" or ".join(close))
            if close
            else Text(" {list} shows every onboarding.", list=Code("/connect list"))
        )
        raise Refused(Text("There is no onboarding {key}.{hint}", key=key, hint=hint))
    return onboarding


def authorise(session: Session, caller: Caller, onboarding: Onboarding, *, verb: str) -> None:
    """May `caller` act on `onboarding`, found by something other than a key they typed (a
    reminder's id, a staged batch, a form's metadata)? The same rule as `find_onboarding`, so
    every door is checked alike; a customer contact elsewhere gets NOT_YOURS."""
    found = find_onboarding(session, caller, onboarding.key, verb=verb)
    if found.id != onboarding.id:
        raise Refused(NOT_YOURS)


def _customers_onboarding(
    session: Session, caller: Caller, key: str | None, *, verb: str, for_update: bool
) -> Onboarding:
    if key is not None:
        check_key(key)  # a malformed key says so: that reveals nothing about anyone
    bound = queries.get_open_in_channel(session, caller.channel_id) if caller.channel_id else None
    if bound is None:
        if key is None:
            raise Refused(
                Text(
                    "This channel has no onboarding yet. Ask your Connect engineer, or open one "
                    "here with {example}.",
                    example=Code("/connect open yourcompany --service both"),
                )
            )
        raise Refused(NOT_YOURS)
    if key is not None and key != bound.key:
        raise Refused(NOT_YOURS)
    if for_update:
        locked = queries.get_by_key(session, bound.key, for_update=True)
        assert locked is not None
        return locked
    return bound


def own_onboardings(session: Session, caller: Caller) -> set[int]:
    """A customer contact's onboardings: those they take part in, and their channel's."""
    ids = members.onboardings_of(session, caller.user_id)
    if caller.channel_id:
        bound = queries.get_open_in_channel(session, caller.channel_id)
        if bound is not None and bound.id is not None:
            ids.add(bound.id)
    return ids


def _shared_channel(channel_id: str | None) -> bool:
    """A channel a customer can open in: a channel (C... or G...), not a DM or nowhere."""
    return bool(channel_id) and channel_id[0] in "CG"  # type: ignore[index]


SELF_SERVICE_WHERE = Text(
    "Open your onboarding in the channel you share with us, so that your Connect engineers "
    "see it too."
)


def step_state(session: Session, onboarding: Onboarding, step: Step) -> StepState:
    assert onboarding.id is not None
    row = next(r for r in queries.step_rows(session, onboarding.id) if r.step == step)
    return StepState(row.state)


def change_step(
    session: Session,
    onboarding: Onboarding,
    step: Step,
    target: StepState,
    actor: str,
    *,
    how: str,
    delays: ReminderDelays = DEFAULT_DELAYS,
) -> StepState:
    """Move a step (raises TransitionError if it may not) and audit it; returns the old state."""
    assert onboarding.id is not None
    row = next(r for r in queries.step_rows(session, onboarding.id) if r.step == step)
    current = StepState(row.state)
    new = transition(step, current, target)
    now = utcnow()
    queries.set_step_state(session, row, new.value, actor, now)
    queries.record_event(
        session,
        onboarding_id=onboarding.id,
        actor=actor,
        action="step.changed",
        detail={"step": step.value, "from": current.value, "to": new.value, "by": how},
        at=now,
    )
    rules.on_step_changed(session, onboarding, step, current, new, now=now, delays=delays)
    return current


def view_of(session: Session, onboarding: Onboarding) -> OnboardingView:
    assert onboarding.id is not None
    rows = {r.step: r for r in queries.step_rows(session, onboarding.id)}
    asked = questions.for_service(Service(onboarding.service))
    answered = rfi_store.answered_questions(session, onboarding.id)
    extras = queries.status_extras(session, onboarding.id)
    steps = tuple(
        StepView(
            step=step,
            state=StepState(rows[step.value].state),
            changed_at=rows[step.value].changed_at,
            changed_by=rows[step.value].changed_by,
        )
        for step in Step
    )
    return OnboardingView(
        key=onboarding.key,
        name=onboarding.name,
        service=Service(onboarding.service),
        region=onboarding.region,
        channel_id=onboarding.channel_id,
        opened_by=onboarding.opened_by,
        opened_at=onboarding.opened_at,
        closed_by=onboarding.closed_by,
        closed_at=onboarding.closed_at,
        steps=steps,
        rfi_answered=len(answered & {q.id for q in asked}),
        rfi_total=len(asked),
        previous_provider=onboarding.previous_provider,
        last_checks=tuple(
            LastCheck(Step(run.step), run.worst, run.run_at)
            for run in check_store.latest_runs(session, onboarding.id).values()
        ),
        recipients=extras.recipients,
        recipients_at=extras.recipients_at,
        reminders=(extras.reminders_open, extras.reminders_next),
    )


def _parse_service(value: str | None) -> Service:
    valid = Text("archiving, security (or email-security) or both")
    if value is None:
        raise Refused(
            Text(
                "Say which service was bought: {flag} with {valid}.",
                flag=Code("--service"),
                valid=valid,
            )
        )
    service = SERVICE_ALIASES.get(value.strip().lower())
    if service is None:
        raise Refused(Text("{value} is not a service; use {valid}.", value=value, valid=valid))
    return service


def _parse_region(value: str | None, regions: Mapping[str, str]) -> str | None:
    if value is None:
        return None
    region = value.strip().lower()
    if region not in regions:
        raise Refused(
            Text(
                "{value} is not a region; use one of {regions}.",
                value=value,
                regions=", ".join(regions),
            )
        )
    return region


def _parse_name(value: str | None, key: str) -> str:
    if value is None:
        return key
    name = " ".join(value.split())
    if not name:
        raise Refused(
            Text("The name is empty; leave out {flag} to use the key.", flag=Code("--name"))
        )
    if len(name) > MAX_NAME_CHARS:
        raise Refused(
            Text(
                "The name is {length} characters; Slack shows at most {limit} here.",
                length=len(name),
                limit=MAX_NAME_CHARS,
            )
        )
    return name


def _parse_address(value: str) -> str:
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise Refused(
            Text("{value} is not an email address: {why}", value=value[:80], why=str(exc))
        ) from None


def _parse_step(value: str) -> Step:
    step = STEP_ALIASES.get(value.strip().lower())
    if step is None:
        raise Refused(
            Text(
                "{value} is not a step; the steps are {steps}.",
                value=value,
                steps=", ".join(s.value for s in Step),
            )
        )
    return step


__all__ = ["Caller", "OnboardingService", "Refused", "UsageError"]
