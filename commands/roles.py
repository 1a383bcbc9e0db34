"""Who may do what: Connect engineers and customer contacts. Pure rules, no Slack, no store.

The bot decides a person's role (bot/identity.py) and hands it in on the Caller; the handlers
ask these rules. An engineer may do everything. A customer contact acts only on the onboarding
bound to the channel they are in, and never on the verbs below that change an onboarding's
course (marking steps done, closing, changing its settings, inviting people).
"""

from __future__ import annotations

from enum import StrEnum

from commands.text import Code, Text


class Role(StrEnum):
    ENGINEER = "engineer"
    CUSTOMER = "customer"

    @property
    def label(self) -> str:
        return "Connect engineer" if self is Role.ENGINEER else "customer contact"


# Verbs a customer contact may use (on their channel's onboarding only). Everything else needs
# an engineer.
CUSTOMER_VERBS: frozenset[str] = frozenset(
    {
        "help",
        "open",  # self-service, in a shared channel that has no onboarding yet
        "status",
        "list",  # only their own
        "rfi",
        "check",
        "dns",
        "credentials",
        "members",
        "history",
        "sync",  # read their own directory into the recipients
        "remind",  # reminders on their own onboarding: set, list, cancel, snooze, done
        "reminders",
    }
)

# One answer for every refusal that concerns another customer's onboarding, or a key that does
# not exist: the same words either way, so nothing is learnt about other customers.
NOT_YOURS = Text(
    "I can't do that here. In this channel I can only help with the onboarding it is bound to; "
    "a Connect engineer can help with anything else."
)
TAKEN = Text("That customer key can't be used. Choose another one, e.g. your company name.")


def may(role: Role, verb: str) -> bool:
    """May someone with `role` use `verb` at all (before looking at which onboarding)?"""
    return role is Role.ENGINEER or verb in CUSTOMER_VERBS


def verb_refusal(verb: str) -> Text:
    """A customer contact asked for an engineer's verb: polite, and about the verb only."""
    return Text(
        "Only a Connect engineer can use {verb}. Your Connect engineer will take care of it; "
        "ask them in this channel. {help} lists what you can do here.",
        verb=Code(f"/connect {verb}"),
        help=Code("/connect help"),
    )


def may_act_on(role: Role, *, bound_here: bool) -> bool:
    """May someone act on one onboarding? Customers only on the one bound to their channel."""
    return role is Role.ENGINEER or bound_here
