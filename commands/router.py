"""Run one /connect command through the verb registry: parse, check the role, call the verb's
handler. Every refusal, whichever door the command came through, becomes a Refusal here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from commands.core.context import Caller, Door, Refused
from commands.core.roles import verb_refusal
from commands.core.text import Code, Text
from commands.grammar import Command, UsageError, parse
from commands.registry import Call, Registry
from commands.replies import Refusal
from commands.services import Services
from commands.verbs import VERBS

if TYPE_CHECKING:
    from commands.replies import Reply


class Router:
    def __init__(self, services: Services, verbs: Registry = VERBS) -> None:
        self.services = services
        self.verbs = verbs

    def parse(self, text: str, door: Door = Door.SLASH) -> Command | Refusal:
        """The pure first half of handling: understand the text, touching nothing. `door`
        spells the usage line of a refusal the way the person reaches the bot."""
        try:
            return parse(text, self.verbs)
        except UsageError as exc:
            return Refusal(explained(exc, door), usage=exc.verb or self.verbs["help"], door=door)

    def is_pure(self, command: Command) -> bool:
        return self.verbs[command.verb].pure

    def handle_text(self, caller: Caller, text: str) -> Reply:
        """Parse and run one command; never raises for anything a user can type."""
        command = self.parse(text, caller.shown_door)
        return command if isinstance(command, Refusal) else self.handle(caller, command)

    def handle(self, caller: Caller, command: Command) -> Reply:
        verb, door = self.verbs[command.verb], caller.shown_door
        if not verb.allows(caller.role):
            # Before any look-up: the answer is about the verb, never about an onboarding.
            return Refusal(verb_refusal(command.verb, door))
        try:
            return verb.handler(Call(self.services, caller, command, self.verbs))
        except UsageError as exc:
            return Refusal(explained(exc, door), usage=exc.verb or verb, door=door)
        except Refused as exc:
            return Refusal(exc.text)


def explained(exc: UsageError, door: Door) -> Text:
    """The usage error's message, with its suggestion spelled for the door the person uses (a
    customer contact is told `@connect status`, an engineer `/connect status`)."""
    if exc.suggestion is None:
        return exc.text
    return Text(
        "{text} Did you mean {meant}?", text=exc.text, meant=Code(f"{door} {exc.suggestion}")
    )
