"""What every RFI answer validator shares: the result types, the limits, and the cleaning and
splitting of the text a person typed.

Shared rules for all answers:

- the text is capped at `MAX_TEXT_CHARS` characters and `MAX_VALUES` values;
- control characters (NUL and the like) and lone surrogates are refused; invisible formatting
  characters (zero-width space, word joiner, byte-order mark, soft hyphen, bidi controls) are
  removed with a note; any Unicode space counts as a space and any Unicode line break as a line;
- Slack's link syntax `<mailto:jane@acme.com|jane@acme.com>` / `<http://acme.com|acme.com>` /
  `<http://acme.com>` is unwrapped to the text the person typed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel

MAX_TEXT_CHARS = 20_000
MAX_VALUES = 500

T = TypeVar("T")


# --------------------------------------------------------------------------- results


class Invalid(ValueError):
    """What is wrong with an answer: `problem` says exactly what, `example` is a good answer."""

    def __init__(self, problem: str, example: str) -> None:
        super().__init__(problem, example)
        self.problem = problem
        self.example = example

    def __str__(self) -> str:
        return self.problem


@dataclass(frozen=True)
class Parsed(Generic[T]):
    """An accepted answer: its values (normalised, de-duplicated, in the order given) and notes."""

    values: tuple[T, ...]
    notes: tuple[str, ...] = ()


class Answer(BaseModel):
    """A value richer than a string (a contact, a host...): stored as its JSON, said back to the
    person by `display()`."""

    def display(self) -> str:
        raise NotImplementedError


# --------------------------------------------------------------------------- shared text handling

_LINE_BREAKS = re.compile(r"\r\n|[\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
_SPLIT = re.compile(r"[\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029,;]")
# Invisible formatting characters that copy and paste brings along and nobody means to type.
_INVISIBLE = frozenset(
    "\u00ad\u061c\u180e\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff"
)
# Slack's link syntax: <url|label> or <url>. Mentions (<@U1>, <#C1|x>, <!here>) have no scheme.
_SLACK_LINK = re.compile(r"<([A-Za-z][A-Za-z0-9+.\-]*:[^<>|\s]*)(?:\|([^<>]*))?>")


def split_values(text: str) -> list[str]:
    """The shared splitter: one value per line or comma/semicolon separated, trimmed, no empties."""
    return [item.strip() for item in _SPLIT.split(text) if item.strip()]


def quote(text: str, limit: int = 60) -> str:
    """A piece of user text for a message: shortened, with unprintable characters made visible."""
    shown = "".join(
        ch if ch == " " or ch.isprintable() else f"\\u{ord(ch):04X}" for ch in text[: limit + 1]
    )
    if len(text) > limit:
        shown = shown[:limit] + "…"
    return f'"{shown}"'


def char_name(ch: str) -> str:
    """A character as a message names it: its code point and Unicode name, such as U+0000 NULL."""
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X} {name}".strip() if name else f"U+{ord(ch):04X}"


def _unwrap_link(match: re.Match[str]) -> str:
    """What the person typed for a Slack link: its label, else the URL (an address for mailto:)."""
    url, label = match.group(1), match.group(2)
    if label and label.strip():
        return label
    if url.lower().startswith("mailto:"):
        return url[len("mailto:") :]
    return url


def prepare(text: str, example: str) -> tuple[str, list[str]]:
    """Clean one answer: cap, refuse control characters, drop invisibles, unwrap Slack links."""
    if len(text) > MAX_TEXT_CHARS:
        raise Invalid(
            f"The answer is {len(text):,} characters long; the limit is {MAX_TEXT_CHARS:,}. "
            "Send it in several replies, or only the values asked for.",
            example,
        )
    notes: list[str] = []
    text = _LINE_BREAKS.sub("\n", text)
    removed = 0
    out: list[str] = []
    line = 1
    for ch in text:
        if ch == "\n":
            line += 1
            out.append(ch)
        elif ch in _INVISIBLE:
            removed += 1
        elif ch == "\t":
            out.append(ch)
        elif ch.isspace():
            out.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cs"):
            where = f" on line {line}" if "\n" in text else ""
            raise Invalid(
                f"The answer contains a control character ({char_name(ch)}){where}, which cannot "
                "be part of any answer. Type the answer again, or paste it as plain text.",
                example,
            )
        else:
            out.append(ch)
    if removed:
        what = "character" if removed == 1 else "characters"
        notes.append(f"Removed {removed} invisible {what} (such as zero-width spaces).")
    cleaned = unicodedata.normalize("NFC", "".join(out))
    cleaned = _SLACK_LINK.sub(_unwrap_link, cleaned)
    return cleaned, notes


def split_answer(text: str, what: str, example: str, *, words: bool = False) -> list[str]:
    """Split an answer into values (and each value on spaces too when `words`), within the cap."""
    items = split_values(text)
    if words:
        items = [word for item in items for word in item.split()]
    if not items:
        raise Invalid(f"The answer has no {what} in it.", example)
    if len(items) > MAX_VALUES:
        raise Invalid(
            f"The answer lists {len(items):,} {what}; at most {MAX_VALUES} fit in one answer. "
            "Send the rest in another reply.",
            example,
        )
    return items


def listing(values: Iterable[str], limit: int = 10) -> str:
    """Values for a message, comma-separated; past `limit`, only how many more there are."""
    shown = list(values)
    text = ", ".join(shown[:limit])
    if len(shown) > limit:
        text += f" and {len(shown) - limit} more"
    return text


def dedupe(
    values: Iterable[T], key: Callable[[T], object], label: Callable[[T], str]
) -> tuple[list[T], list[str]]:
    """Drop repeats, keeping the first; a single note lists what was repeated."""
    first: dict[object, str] = {}
    kept: list[T] = []
    repeated: list[str] = []
    for value in values:
        k = key(value)
        if k in first:
            if first[k] not in repeated:
                repeated.append(first[k])
            continue
        first[k] = label(value)
        kept.append(value)
    notes = [f"Listed more than once, kept once: {listing(repeated)}."] if repeated else []
    return kept, notes


def squash(text: str) -> str:
    """Runs of spaces (of any kind) as one space, none at the ends."""
    return " ".join(text.split())


_NONE_WORDS = frozenset(
    {
        "none",
        "no",
        "n/a",
        "na",
        "nope",
        "nothing",
        "nobody",
        "no one",
        "not applicable",
        "-",
        "--",
        "—",
        "no provider",
        "none yet",
        "no gateway",
        "no previous provider",
        "none so far",
    }
)


def is_none(text: str) -> bool:
    """Whether an answer says there is nothing to give (none, n/a, a dash...)."""
    return squash(text).lower().strip(" .!") in _NONE_WORDS


# Characters trimmed from the edges of names (people's, and products' after "other:").
DASHES = "-\u2013\u2014"
NAME_EDGES = f" {DASHES}:,.'\"\u201c\u201d\u2018\u2019()"


def one_answer(text: str, what: str, example: str) -> tuple[str, list[str]]:
    """The one line of a single-choice answer, squashed, or Invalid saying `what` to give."""
    cleaned, notes = prepare(text, example)
    lines = [squash(line) for line in cleaned.split("\n") if line.strip()]
    if not lines:
        raise Invalid(f"The answer is empty; {what}.", example)
    if len(lines) > 1:
        raise Invalid(f"The answer has {len(lines)} lines; give one answer: {what}.", example)
    return lines[0], notes
