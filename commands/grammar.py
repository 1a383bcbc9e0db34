"""Parse `<verb> [customer] [args] [--flags]` (after `/connect` or `@connect`) into a Command, or
say what is wrong."""

from __future__ import annotations

import difflib
import re
import shlex
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from commands.core.text import Text
from commands.registry import Registry, Verb

# Slack caps a slash command's text well below this; the shell has no cap, so we set one.
MAX_COMMAND_CHARS = 4_000
KEY_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])$")
# Slack's clients turn straight quotes into curly ones; people still mean a quoted argument.
_CURLY_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# A suggested command longer than this is cut down to the corrected word alone.
MAX_SUGGESTION_CHARS = 120


class UsageError(ValueError):
    """The command cannot be understood; `text` says why, `verb` picks the usage shown."""

    def __init__(self, text: Text, verb: Verb | None = None, suggestion: str | None = None) -> None:
        super().__init__(text.template)
        self.text = text
        self.verb = verb
        # What they probably meant, as typed after the door (`status acme`); the router adds
        # the door, which only it knows.
        self.suggestion = suggestion


def near_miss(word: str, choices: Iterable[str]) -> str | None:
    """The one choice `word` is most likely a typo of, or None when nothing is close."""
    found = difflib.get_close_matches(word.lower(), list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def _verb_fixed(text: str, typed: str, meant: str, verbs: Registry) -> str:
    """The command with its verb corrected, and its flags too when they are near misses as
    well, so one suggestion is enough."""
    fixed = _retyped(text, typed, meant)
    if fixed == meant:
        return meant
    try:
        parse(fixed, verbs)
    except UsageError as exc:
        return exc.suggestion or fixed
    return fixed


def _retyped(text: str, typed: str, meant: str) -> str:
    """The command as typed, with `typed` (its first occurrence) corrected to `meant`."""
    fixed = text.replace(typed, meant, 1)
    return fixed if len(fixed) <= MAX_SUGGESTION_CHARS else meant


@dataclass(frozen=True)
class Command:
    verb: str
    args: tuple[str, ...] = ()
    flags: dict[str, str | bool] = field(default_factory=dict)
    # For verbs with free text (Verb.rest): everything after the verb, as typed.
    text: str = ""


def parse(raw: str, verbs: Registry) -> Command:
    """Understand the text against `verbs`, touching nothing; UsageError says what is wrong."""
    text = raw.strip()
    if len(text) > MAX_COMMAND_CHARS:
        raise UsageError(
            Text(
                "That command is {length} characters long; I take at most {limit}.",
                length=len(text),
                limit=MAX_COMMAND_CHARS,
            )
        )
    if _CONTROL.search(text):
        raise UsageError(Text("That command contains control characters; type it as plain text."))
    parts = text.split(maxsplit=1)
    rest_verb = verbs.get(parts[0].lower()) if parts else None
    if rest_verb is not None and rest_verb.rest:
        tail = parts[1] if len(parts) > 1 else ""
        return Command(rest_verb.name, tuple(tail.split()), {}, tail)
    try:
        words = shlex.split(text.translate(_CURLY_QUOTES))
    except ValueError:
        raise UsageError(
            Text('A quote is not closed. Wrap a value with spaces in quotes: `--name "Acme Ltd"`.')
        ) from None
    if not words:
        return Command("help")
    verb_name, rest = words[0].lower(), words[1:]
    verb = verbs.get(verb_name)
    if verb is None:
        meant = near_miss(verb_name, verbs)
        raise UsageError(
            Text("I don't know the verb {verb}.", verb=words[0]),
            suggestion=_verb_fixed(text, parts[0], meant, verbs) if meant else None,
        )
    args: list[str] = []
    flags: dict[str, str | bool] = {}
    i = 0
    while i < len(rest):
        word = rest[i]
        i += 1
        if not word.startswith("--"):
            args.append(word)
            continue
        name, eq, value = word[2:].partition("=")
        name = name.lower()
        if name not in verb.flags:
            meant = near_miss(name, verb.flags)
            typed = word.partition("=")[0]
            raise UsageError(
                Text("{verb} has no flag {flag}.", verb=verb.name, flag=word),
                verb,
                _retyped(text, typed, f"--{meant}") if meant else None,
            )
        if name in flags:
            raise UsageError(Text("--{flag} is given twice.", flag=name), verb)
        if not verb.flags[name]:
            if eq:
                raise UsageError(Text("--{flag} takes no value.", flag=name), verb)
            flags[name] = True
            continue
        if not eq:
            if i >= len(rest) or rest[i].startswith("--"):
                raise UsageError(Text("--{flag} needs a value.", flag=name), verb)
            value = rest[i]
            i += 1
        flags[name] = value
    if len(args) > verb.max_args:
        extra = args[verb.max_args :]
        raise UsageError(
            Text("{verb} does not take {extra}.", verb=verb.name, extra=" ".join(extra)), verb
        )
    return Command(verb.name, tuple(args), flags)


def check_key(key: str) -> str:
    """Return the key if it is a valid customer key, else raise UsageError with a suggestion."""
    if KEY_PATTERN.match(key):
        return key
    ascii_key = unicodedata.normalize("NFKD", key).encode("ascii", "ignore").decode()
    suggestion = re.sub(r"[^a-z0-9]+", "-", ascii_key.lower()).strip("-")[:40].strip("-")
    hint = (
        Text(" Did you mean {suggestion}?", suggestion=suggestion)
        if KEY_PATTERN.match(suggestion)
        else Text("")
    )
    raise UsageError(
        Text(
            "{key} is not a valid customer key: use lowercase letters, digits and hyphens, "
            "2 to 40 characters, starting and ending with a letter or digit.{hint}",
            key=key[:60],
            hint=hint,
        )
    )
