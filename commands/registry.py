"""What a verb is, and the registry that holds them: the grammar, help, the role check and
dispatch all read one Verb, so a verb is declared once (commands/verbs.py holds the product's)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from commands.core.roles import Role

if TYPE_CHECKING:  # the handlers' world; imported for types only, so features may use Verb
    from commands.core.context import Caller
    from commands.grammar import Command
    from commands.replies import Reply
    from commands.services import Services

EVERYONE: frozenset[Role] = frozenset(Role)
ENGINEERS: frozenset[Role] = frozenset({Role.ENGINEER})


@dataclass(frozen=True)
class Call:
    """One command being handled: who asked, what they typed, and what there is to run it."""

    services: Services
    caller: Caller
    command: Command
    verbs: Registry


Handler = Callable[[Call], "Reply"]


@dataclass(frozen=True)
class Verb:
    name: str
    summary: str
    usage: str
    examples: tuple[str, ...]
    max_args: int
    handler: Handler
    # Who may use it at all; which onboarding they may use it on is the access rule's business.
    roles: frozenset[Role] = ENGINEERS
    # flag name -> True when it takes a value
    flags: dict[str, bool] = field(default_factory=dict)
    details: str = ""
    # Answered from the registry alone (no store, no network), so Slack gets it in the ack.
    pure: bool = False
    # Free text follows the arguments (a reminder's text): words are split on white space, not
    # shell-quoted, so apostrophes and quotes stay as typed; no flags; max_args is not applied.
    rest: bool = False
    # It reads a time the person typed, so a door asks for their time zone before running it.
    needs_zone: bool = False

    def allows(self, role: Role) -> bool:
        return role in self.roles


class Registry(Mapping[str, Verb]):
    """Verbs by name, in the order they were declared (help lists them in that order)."""

    def __init__(self, verbs: Iterable[Verb] = ()) -> None:
        self._verbs: dict[str, Verb] = {}
        for verb in verbs:
            self.add(verb)

    def add(self, verb: Verb) -> Verb:
        if verb.name in self._verbs:
            raise ValueError(f"the verb {verb.name} is declared twice")
        self._verbs[verb.name] = verb
        return verb

    def with_verbs(self, *verbs: Verb) -> Registry:
        """A copy with more verbs (a plug-in, or a test's throwaway verb)."""
        return Registry([*self._verbs.values(), *verbs])

    def __getitem__(self, name: str) -> Verb:
        return self._verbs[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._verbs)

    def __len__(self) -> int:
        return len(self._verbs)
