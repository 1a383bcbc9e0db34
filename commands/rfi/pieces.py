"""A reply with several values, read value by value when the whole of it is refused: the good
values are kept and every bad one is named, rather than the first error alone with nothing kept.

The validators judge a whole answer (and its limits: length, count, "none", a dynamic address);
only when they refuse it, and the answer is a list of several values, is each value read again
on its own by the same validator, so a value is never taken here that the validator would refuse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from commands.rfi import questions as q
from commands.rfi.validators import MAX_TEXT_CHARS, MAX_VALUES, Invalid, split_values
from commands.rfi.validators.common import quote

# Contacts are one per line (or `;` between them): commas separate a contact's fields.
_CONTACT_LINES = re.compile(r"\r\n|[\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029;]")
# Questions whose values may also be separated by spaces. Not the outbound IPs: there the words
# of one value ("81.2.69.160 dynamic") belong together.
_WORDS = frozenset({"domains", "forwarding"})


@dataclass(frozen=True)
class Read:
    """What a reply gave: the values kept, notes, and each refused value with the reason."""

    values: tuple[Any, ...]
    notes: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()  # one line per refused value, naming it
    example: str = ""


def read(question: q.Question, text: str, allow_private: bool) -> Read:
    """The values of a reply; raises Invalid (naming every bad value) when none can be kept."""
    try:
        parsed = question.parse(text, allow_private)
    except Invalid as whole:
        pieces = _pieces(question, text)
        if not question.multi or len(pieces) < 2 or len(pieces) > MAX_VALUES:
            raise
        if len(text) > MAX_TEXT_CHARS:
            raise
        return _one_by_one(question, pieces, allow_private, whole)
    return Read(parsed.values, parsed.notes)


def _pieces(question: q.Question, text: str) -> list[str]:
    if question.id == "contacts":
        return [line.strip() for line in _CONTACT_LINES.split(text) if line.strip()]
    items = split_values(text)
    if question.id in _WORDS:
        items = [word for item in items for word in item.split()]
    return items


def _one_by_one(
    question: q.Question, pieces: list[str], allow_private: bool, whole: Invalid
) -> Read:
    values: list[Any] = []
    seen: set[str] = set()
    notes: list[str] = []
    refused: list[str] = []
    for piece in pieces:
        try:
            parsed = question.parse(piece, allow_private)
        except Invalid as exc:
            problem = exc.problem
            # Say which value is meant, unless the reason names it already.
            refused.append(problem if piece in problem else f"{quote(piece)}: {problem}")
            continue
        for value in parsed.values:
            key = repr(question.dump([value]))
            if key not in seen:
                seen.add(key)
                values.append(value)
        notes.extend(note for note in parsed.notes if note not in notes)
    if not values:
        raise Invalid(
            "None of these could be taken:\n"
            + "".join(f"• {line}\n" for line in refused)
            + "Nothing was kept.",
            whole.example,
        )
    return Read(tuple(values), tuple(notes), tuple(refused), whole.example)
