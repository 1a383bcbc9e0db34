"""The onboarding service: open, status, list, done, reopen, close. Business rules live here."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session

from commands.core import audit, golive
from commands.core.access import find_onboarding, own_onboardings
from commands.core.context import Caller, Refused
from commands.core.process import (
    SERVICE_ALIASES,
    STEP_ALIASES,
    Service,
    Step,
    StepState,
    TransitionError,
    initial_state,
)
from commands.core.roles import TAKEN
from commands.core.steps import change_step, step_state
from commands.core.text import Code, Command, Text, UserRef, When
from commands.core.views import view_of
from commands.grammar import UsageError, check_key
from commands.onboarding.card import Cards, stored_logins
from commands.onboarding.next_action import next_action
from commands.regions import REGIONS
from commands.reminders import rules
from commands.reminders.rules import DEFAULT_DELAYS, ReminderDelays
from commands.replies import Closed, Listing, ListItem, Opened, Status, StepChanged, Updated
from store import members, onboardings
from store.db import Database
from store.models import Onboarding, utcnow

# A name is shown in a Slack header (at most 150 characters) next to the key.
MAX_NAME_CHARS = 100
LIST_LIMIT = 40


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
        self.cards = Cards(db)

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
                    example=Command("open acme --service both"),
                )
            )
        check_key(key)
        chosen = _parse_service(service)
        chosen_region = _parse_region(region, self.regions)
        display = _parse_name(name, key)
        if not caller.is_engineer and not _shared_channel(caller.channel_id):
            raise Refused(SELF_SERVICE_WHERE)
        with self.db.session(write=True) as session:
            _refuse_taken(session, caller, key)
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
                onboardings.add_onboarding(
                    session, onboarding, [(s.value, initial_state(chosen, s).value) for s in Step]
                )
            except onboardings.DuplicateKey:
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
            opened = audit.OnboardingOpened(
                chosen.value, chosen_region, display, role=caller.role.value
            )
            audit.record(session, onboarding.id, caller.user_id, opened, at=now)
            rules.on_open(session, onboarding, now=now, delays=self.delays)
            return Opened(view_of(session, onboarding), by_customer=not caller.is_engineer)

    def status(self, caller: Caller, key: str | None) -> Status:
        with self.db.session() as session:
            onboarding = find_onboarding(session, caller, key, verb="status")
            view = view_of(session, onboarding)
            stored = stored_logins(session, onboarding)
            return Status(
                view,
                next=next_action(view, stored=stored, door=caller.shown_door),
                card_url=onboarding.card_url,
            )

    def list(self, caller: Caller, *, include_closed: bool) -> Listing:
        with self.db.session() as session:
            only = None if caller.is_engineer else own_onboardings(session, caller)
            rows, total = onboardings.list_progress(
                session,
                include_closed=include_closed,
                limit=LIST_LIMIT,
                done_state=StepState.DONE.value,
                skip_state=StepState.NOT_APPLICABLE.value,
                only=only,
            )
            hidden = 0 if include_closed else onboardings.count_closed(session, only)
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
                items=items,
                total=total,
                closed_hidden=hidden,
                scoped=not caller.is_engineer,
                door=caller.shown_door.value,
            )

    def mark_done(self, caller: Caller, key: str | None, step_name: str) -> StepChanged:
        return self._move(caller, key, step_name, StepState.DONE, verb="done")

    def reopen(self, caller: Caller, key: str | None, step_name: str) -> StepChanged:
        return self._move(caller, key, step_name, StepState.IN_PROGRESS, verb="reopen")

    def close(self, caller: Caller, key: str | None, *, confirmed: bool = True) -> Closed:
        """Close the onboarding; unless `confirmed`, only ask (the verb asks first: a button,
        or --yes), after the same checks, so the question is never asked in vain."""
        door = caller.shown_door.value
        if key is None:
            raise Refused(
                Text(
                    "Spell out the customer to close, e.g. {example}.",
                    example=Code(f"{door} close acme"),
                )
            )
        with self.db.session(write=confirmed) as session:
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
            if not confirmed:
                return Closed(view_of(session, onboarding), asked=True, door=door)
            now = utcnow()
            onboardings.close_onboarding(session, onboarding, caller.user_id, now)
            rules.on_close(session, onboarding)
            audit.record(session, onboarding.id, caller.user_id, audit.OnboardingClosed(), at=now)
            return Closed(view_of(session, onboarding), door=door)

    def update(
        self,
        caller: Caller,
        key: str | None,
        *,
        region: str | None,
        name: str | None,
        journal_address: str | None = None,
        go_live: str | None = None,
    ) -> Updated:
        if region is None and name is None and journal_address is None and go_live is None:
            raise Refused(
                Text("Say what to change: {example}.", example=Command("set acme --region eu"))
            )
        new_region = _parse_region(region, self.regions)
        new_name = _parse_name(name, "") if name is not None else None
        new_journal = _parse_address(journal_address) if journal_address is not None else None
        now = utcnow()
        # Checked before the look-up, so a bad date changes nothing; None clears the date.
        new_go_live = golive.parse_go_live(go_live, now.date()) if go_live is not None else None
        with self.db.session(write=True) as session:
            onboarding = find_onboarding(session, caller, key, verb="set", for_update=True)
            if onboarding.closed_at is not None:
                raise Refused(Text("{key} is closed; it can no longer change.", key=onboarding.key))
            changes: list[audit.FieldChange] = []
            if new_region is not None and new_region != onboarding.region:
                changes.append(audit.FieldChange("region", onboarding.region, new_region))
                onboarding.region = new_region
            if new_name is not None and new_name != onboarding.name:
                changes.append(audit.FieldChange("name", onboarding.name, new_name))
                onboarding.name = new_name
            if new_journal is not None and new_journal != onboarding.journal_address:
                changes.append(
                    audit.FieldChange("journal address", onboarding.journal_address, new_journal)
                )
                onboarding.journal_address = new_journal
            if go_live is not None and new_go_live != onboarding.go_live:
                changes.append(
                    audit.FieldChange("go-live date", _iso(onboarding.go_live), _iso(new_go_live))
                )
                onboarding.go_live = new_go_live
            if not changes:
                raise Refused(
                    Text("Nothing to change: {key} has that already.", key=onboarding.key)
                )
            session.add(onboarding)
            audit.record(
                session, onboarding.id, caller.user_id, audit.OnboardingChanged(tuple(changes))
            )
            if any(change.field == "go-live date" for change in changes):
                rules.on_go_live(
                    session,
                    onboarding,
                    _step_states(session, onboarding),
                    now=now,
                    delays=self.delays,
                )
            changed = tuple(change.field for change in changes)
            return Updated(view_of(session, onboarding), changed, caller.user_id)

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
                    session,
                    onboarding,
                    step,
                    target,
                    caller.user_id,
                    how=verb,
                    then=rules.step_hook(self.delays),
                )
            except TransitionError as exc:
                raise Refused(Text("{reason}", reason=str(exc))) from None
            return StepChanged(view_of(session, onboarding), step, current, caller.user_id)


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _step_states(session: Session, onboarding: Onboarding) -> dict[Step, StepState]:
    assert onboarding.id is not None
    return {
        Step(row.step): StepState(row.state)
        for row in onboardings.step_rows(session, onboarding.id)
    }


def _shared_channel(channel_id: str | None) -> bool:
    """A channel a customer can open in: a channel (C... or G...), not a DM or nowhere."""
    if not channel_id:
        return False
    return channel_id[0] in "CG"


SELF_SERVICE_WHERE = Text(
    "Open your onboarding in the channel you share with us, so that your Connect engineers "
    "see it too."
)


def _refuse_taken(session: Session, caller: Caller, key: str) -> None:
    """The key must be new and the channel free; a customer contact learns nothing of who
    holds another key."""
    existing = onboardings.get_by_key(session, key)
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
    bound = (
        onboardings.get_open_in_channel(session, caller.channel_id) if caller.channel_id else None
    )
    if bound is not None and not caller.is_engineer:
        raise Refused(
            Text(
                "This channel already has its onboarding: {status} shows it.",
                status=Command("status"),
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
