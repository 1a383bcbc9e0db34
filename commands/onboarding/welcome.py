"""Who joins a channel that runs an onboarding is told, once, how to take part there.

A customer contact of another organisation has no `/connect` in a Slack Connect channel (Slack
offers an app's slash commands only to the installing organisation), so the first thing they
need is the doors they do have: mentions, the buttons on the bot's messages, the RFI thread. The
bot itself being added to a channel bound to an onboarding says the same to the channel, once.
"""

from __future__ import annotations

from dataclasses import dataclass

from commands.core.context import Caller
from commands.core.views import OnboardingView, view_of
from store import onboardings
from store import rfi as processed
from store.db import Database


@dataclass(frozen=True)
class Welcome:
    onboarding: OnboardingView
    for_customer: bool  # a customer contact: mentions and buttons, never a slash command
    to_channel: bool = False  # the bot was added: said once to everyone in the channel
    public = False


def welcome(db: Database, caller: Caller, *, bot_added: bool = False) -> Welcome | None:
    """The welcome for `caller` joining their channel (or, `bot_added`, for the channel the bot
    joined), or None: no open onboarding is bound to the channel, or they were welcomed to it
    already (Slack sends a join again after a leave, and retries an event whose ack was late)."""
    if caller.channel_id is None:
        return None
    with db.session(write=True) as session:
        onboarding = onboardings.get_open_in_channel(session, caller.channel_id)
        if onboarding is None:
            return None
        who = "channel" if bot_added else caller.user_id
        if not processed.first_time(session, f"welcome:{onboarding.id}:{who}"):
            return None
        view = view_of(session, onboarding)
    return Welcome(view, for_customer=not caller.is_engineer, to_channel=bot_added)
