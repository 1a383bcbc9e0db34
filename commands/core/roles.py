"""Who may do what: Connect engineers and customer contacts. Pure rules, no Slack, no store.

The bot decides a person's role (bot/identity.py) and hands it in on the Caller. Each verb says
which roles may use it (commands/verbs.py); an engineer may use every verb, and a customer
contact never those that change an onboarding's course (marking steps done, closing, changing
its settings, inviting people). Which onboarding anyone may act on is commands/core/access.py.
"""

from __future__ import annotations

from enum import StrEnum

from commands.core.text import Code, Text


class Role(StrEnum):
    ENGINEER = "engineer"
    CUSTOMER = "customer"

    @property
    def label(self) -> str:
        return "Connect engineer" if self is Role.ENGINEER else "customer contact"


# One answer for every refusal that concerns another customer's onboarding, or a key that does
# not exist: the same words either way, so nothing is learnt about other customers.
NOT_YOURS = Text(
    "I can't do that here. In this channel I can only help with the onboarding it is bound to; "
    "a Connect engineer can help with anything else."
)
TAKEN = Text("That customer key can't be used. Choose another one, e.g. your company name.")


def verb_refusal(verb: str, door: str = "/connect") -> Text:
    """A customer contact asked for an engineer's verb: polite, and about the verb only.
    `door` is how the person reaches the bot (`@connect` for a customer contact of another
    organisation, who has no slash command)."""
    return Text(
        "Only a Connect engineer can use {verb}. Your Connect engineer will take care of it; "
        "ask them in this channel. {help} lists what you can do here.",
        verb=Code(f"{door} {verb}"),
        help=Code(f"{door} help"),
    )
