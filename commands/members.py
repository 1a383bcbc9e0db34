"""`/connect invite` and `/connect members`: who takes part in an onboarding, and as what."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from commands.core import audit
from commands.core.access import find_onboarding
from commands.core.context import Caller, Refused
from commands.core.roles import Role
from commands.core.text import Command, Text
from commands.core.views import OnboardingView, view_of
from store import members as store
from store.db import Database
from store.models import utcnow

# Slack sends a mention in a slash command's text as <@U123ABC|name> (or <@U123ABC>); people
# in the shell type the id itself, with or without the @.
_MENTION = re.compile(r"^<@([UW][A-Z0-9]{2,30})(?:\|[^>]*)?>$")
_BARE_ID = re.compile(r"^@?([UW][A-Z0-9]{2,30})$")
MAX_INVITES = 10


@dataclass(frozen=True)
class MemberView:
    user_id: str
    role: Role
    added_by: str
    added_at: datetime


@dataclass(frozen=True)
class Members:
    """The people taking part, engineers first; after an invite, who was added just now."""

    onboarding: OnboardingView
    members: tuple[MemberView, ...]
    added: tuple[MemberView, ...] = ()
    already: tuple[str, ...] = ()  # invited again: they were members before
    by: str | None = None  # who invited (None: a plain `members`)

    @property
    def public(self) -> bool:
        # An invite is said in the channel (it mentions the newcomers); a listing is private.
        return bool(self.added)

    def with_role(self, role: Role) -> tuple[MemberView, ...]:
        return tuple(m for m in self.members if m.role is role)


def mentioned_user(word: str) -> str | None:
    """The user id in a mention (`<@U123|jane>`, `<@U123>`, `@U123`, `U123`), else None."""
    match = _MENTION.match(word) or _BARE_ID.match(word)
    return match.group(1) if match else None


class MemberService:
    def __init__(self, db: Database, role_of: Callable[[str], Role] | None = None) -> None:
        self.db = db
        # How to tell an invitee's role (Slack: users.info through bot/identity.py). Without a
        # way to ask, an invitee is recorded as a customer contact: the lesser role.
        self.role_of: Callable[[str], Role] = role_of or (lambda _user_id: Role.CUSTOMER)

    def invite(self, caller: Caller, args: Sequence[str]) -> Members:
        key, users = _key_and_users(args)
        roles = {user_id: self.role_of(user_id) for user_id in users}  # Slack calls, no lock held
        now = utcnow()
        with self.db.session(write=True) as session:
            onboarding = find_onboarding(session, caller, key, verb="invite", for_update=True)
            if onboarding.closed_at is not None:
                raise Refused(Text("{key} is closed.", key=onboarding.key))
            assert onboarding.id is not None
            added, already = [], []
            for user_id, role in roles.items():
                if store.add(
                    session,
                    onboarding_id=onboarding.id,
                    user_id=user_id,
                    role=role.value,
                    added_by=caller.user_id,
                    at=now,
                ):
                    added.append(MemberView(user_id, role, caller.user_id, now))
                    audit.record(
                        session,
                        onboarding.id,
                        caller.user_id,
                        audit.MemberAdded(user_id, role.value),
                        at=now,
                    )
                else:
                    already.append(user_id)
            return Members(
                view_of(session, onboarding),
                _views(session, onboarding.id),
                tuple(added),
                tuple(already),
                by=caller.user_id,
            )

    def list(self, caller: Caller, key: str | None) -> Members:
        with self.db.session() as session:
            onboarding = find_onboarding(session, caller, key, verb="members")
            assert onboarding.id is not None
            return Members(view_of(session, onboarding), _views(session, onboarding.id))


def _views(session: Session, onboarding_id: int) -> tuple[MemberView, ...]:
    rows = store.members_of(session, onboarding_id)
    views = [MemberView(r.user_id, Role(r.role), r.added_by, r.added_at) for r in rows]
    return tuple(sorted(views, key=lambda m: m.role is not Role.ENGINEER))


def _key_and_users(args: Sequence[str]) -> tuple[str | None, list[str]]:
    """`invite acme <@U1> <@U2>` or, in a bound channel, `invite <@U1>`."""
    words = list(args)
    key = None
    if words and mentioned_user(words[0]) is None:
        key = words.pop(0)
    users: list[str] = []
    for word in words:
        user_id = mentioned_user(word)
        if user_id is None:
            raise Refused(
                Text(
                    "{word} is not a person. Mention them: {example}.",
                    word=word[:80],
                    example=Command("invite acme @jane"),
                )
            )
        if user_id not in users:
            users.append(user_id)
    if not users:
        raise Refused(Text("Say whom to invite: {example}.", example=Command("invite acme @jane")))
    if len(users) > MAX_INVITES:
        raise Refused(Text("Invite at most {n} people at a time.", n=MAX_INVITES))
    return key, users
