"""The one way to find the onboarding a person may act on, whatever door they came through.

A command's key, a button's value, a form's metadata and a reminder's id all end here: an
engineer may act on any onboarding; a customer contact only on the one bound to the channel
they are in, and any other key (existing or not) gets the same NOT_YOURS, so nothing leaks.
"""

from __future__ import annotations

import difflib

from sqlmodel import Session

from commands.core.context import Caller, Refused
from commands.core.roles import NOT_YOURS
from commands.core.text import Command, Text
from commands.grammar import check_key
from store import members, onboardings
from store.models import Onboarding


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
            onboardings.get_open_in_channel(session, caller.channel_id)
            if caller.channel_id
            else None
        )
        if bound is None:
            raise Refused(
                Text(
                    "This channel has no onboarding, so say which customer: {example}.",
                    example=Command(f"{verb} acme"),
                )
            )
        return bound
    check_key(key)
    onboarding = onboardings.get_by_key(session, key, for_update=for_update)
    if onboarding is None:
        close = difflib.get_close_matches(key, onboardings.all_keys(session), n=3, cutoff=0.6)
        hint = (
            Text(" Did you mean {keys}?", keys=" or ".join(close))
            if close
            else Text(" {list} shows every onboarding.", list=Command("list"))
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
    bound = (
        onboardings.get_open_in_channel(session, caller.channel_id) if caller.channel_id else None
    )
    if bound is None:
        if key is None:
            raise Refused(
                Text(
                    "This channel has no onboarding yet. Ask your Connect engineer, or open one "
                    "here with {example}.",
                    example=Command("open yourcompany --service both"),
                )
            )
        raise Refused(NOT_YOURS)
    if key is not None and key != bound.key:
        raise Refused(NOT_YOURS)
    if for_update:
        locked = onboardings.get_by_key(session, bound.key, for_update=True)
        assert locked is not None
        return locked
    return bound


def own_onboardings(session: Session, caller: Caller) -> set[int]:
    """A customer contact's onboardings: those they take part in, and their channel's."""
    ids = members.onboardings_of(session, caller.user_id)
    if caller.channel_id:
        bound = onboardings.get_open_in_channel(session, caller.channel_id)
        if bound is not None and bound.id is not None:
            ids.add(bound.id)
    return ids
