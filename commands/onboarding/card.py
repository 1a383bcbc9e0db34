"""The onboarding's card: the message posted at `open` and kept up to date in place.

What the card holds is decided here (the next action, which steps *Run checks* offers, which
logins *Enter credentials* asks for); bot/ renders it and keeps the Slack message in step, through
the change hook (commands/core/changes.py). The card is public in the onboarding's channel, so it
is read without a caller: whoever reads the channel sees it anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from commands.core.process import Step
from commands.core.text import Text
from commands.core.views import OnboardingView, view_of
from commands.onboarding.next_action import checkable_steps, logins_needed, next_action
from store import credentials, onboardings
from store.db import Database
from store.models import Onboarding


@dataclass(frozen=True)
class Card:
    onboarding: OnboardingView
    next: Text
    check_steps: tuple[Step, ...]  # what *Run checks* offers
    logins: tuple[str, ...]  # what *Enter credentials* offers ("ldap", "pop")
    public = True


@dataclass(frozen=True)
class CardPlace:
    """Where the card was posted."""

    channel_id: str
    ts: str


def stored_logins(session: Session, onboarding: Onboarding) -> frozenset[str]:
    assert onboarding.id is not None
    return frozenset(
        kind for kind in ("pop", "ldap") if credentials.credential(session, onboarding.id, kind)
    )


def card_of(session: Session, onboarding: Onboarding) -> Card:
    view = view_of(session, onboarding)
    closed = view.closed_at is not None
    return Card(
        onboarding=view,
        next=next_action(view, stored=stored_logins(session, onboarding)),
        check_steps=() if closed else checkable_steps(view),
        logins=() if closed else logins_needed(view),
    )


class Cards:
    """Reads and places cards (no caller: see the module's docstring)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def by_key(self, key: str) -> Card | None:
        with self.db.session() as session:
            onboarding = onboardings.get_by_key(session, key)
            return None if onboarding is None else card_of(session, onboarding)

    def placed(self, onboarding_id: int) -> tuple[CardPlace, Card] | None:
        """The card of an onboarding that has one posted, as it should read now."""
        with self.db.session() as session:
            onboarding = onboardings.get_by_id(session, onboarding_id)
            if onboarding is None or not onboarding.card_channel_id or not onboarding.card_ts:
                return None
            place = CardPlace(onboarding.card_channel_id, onboarding.card_ts)
            return place, card_of(session, onboarding)

    def place(self, key: str, channel_id: str, ts: str, url: str | None) -> None:
        """Remember the card's message. Not a change of the onboarding: no hook, no update."""
        with self.db.session(write=True) as session:
            onboarding = onboardings.get_by_key(session, key, for_update=True)
            if onboarding is not None:
                onboardings.set_card(session, onboarding, channel_id, ts, url)
