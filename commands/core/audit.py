"""Typed audit events: one class per change written to an onboarding's audit trail.

Each class names its stored `action`, turns itself into the stored detail (`detail()`, plain
JSON, the keys the trail has always had, so events stored earlier read the same) and back
(`parse`), and says itself as one line of history (`describe()`). `record` is the one way the
commands write an event; `parse` reads any stored one, and what no class here reads (an action
no longer written, a detail of another shape) becomes an `Unrecognised` that still shows what it
recorded. Secrets never go into a detail: store.audit refuses a key that names one.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from datetime import UTC, datetime
from typing import Any, ClassVar, Self, Union, get_args, get_origin, get_type_hints

from sqlmodel import Session

from commands.core import process
from commands.core.changes import changed as note_change
from commands.core.text import Code, Text, UserRef, When
from store import audit as store
from store.models import AuditEvent

MAX_VALUE_CHARS = 200  # one value in a history line; the full answer is in `rfi show`


@dataclass(frozen=True)
class Names:
    """What a history line calls things the trail stores by id. The RFI's question titles live
    in commands/rfi, which core does not import, so the history fills them in."""

    questions: Mapping[str, str] = dataclasses.field(default_factory=dict)
    # What confirming a manual check item means, in words ("the previous provider is cancelled").
    confirmed: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def question(self, question_id: str) -> str:
        return self.questions.get(question_id, question_id)


NO_NAMES = Names()
# How an answer came in, as the end of a history sentence ("" for a plain reply in the thread).
_ANSWERED_HOW = {"form": " (in the form)", "edited": " (by editing the reply)"}
# How a step moved, likewise; a verb not listed here is named as the command that did it.
_MOVED_HOW = {
    "check": "after a check",
    "rfi": "as the RFI was answered",
    "reminder": "with a reminder",
}
_STATUS_WORDS = (
    ("pass", "passed"),
    ("warn", "warned"),
    ("fail", "failed"),
    ("unknown", "inconclusive"),
    ("skipped", "skipped"),
)


class Malformed(ValueError):
    """A stored detail is not the one its action's class writes."""


@dataclass(frozen=True)
class Event:
    """A change to an onboarding. Field `x_` is stored under key `x` (`from_` as "from"); a
    field in `omitted_when_none` is left out of the detail while None."""

    action: ClassVar[str]
    omitted_when_none: ClassVar[frozenset[str]] = frozenset()

    def detail(self) -> dict[str, Any]:
        detail: dict[str, Any] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if value is None and field.name in self.omitted_when_none:
                continue
            detail[field.name.rstrip("_")] = _plain(value)
        return detail

    @classmethod
    def parse(cls, detail: Mapping[str, Any]) -> Self:
        """The event a stored detail holds; Malformed if a key is missing or of another type
        (keys it does not know are ignored)."""
        hints = _hints(cls)
        values: dict[str, Any] = {}
        for field in fields(cls):
            key = field.name.rstrip("_")
            if key in detail:
                values[field.name] = _typed(detail[key], hints[field.name], key)
            elif field.default is MISSING:
                raise Malformed(f"{cls.action}: no {key!r}")
        return cls(**values)

    def describe(self, names: Names = NO_NAMES) -> Text:
        raise NotImplementedError


# --- onboardings and steps -------------------------------------------------------------------


@dataclass(frozen=True)
class OnboardingOpened(Event):
    action: ClassVar[str] = "onboarding.opened"
    omitted_when_none = frozenset({"role"})
    service: str
    region: str | None
    name: str
    role: str | None = None  # the opener's; events stored before roles have none

    def describe(self, names: Names = NO_NAMES) -> Text:
        return Text(
            "opened it ({service}, region {region})",
            service=_short(self.service),
            region=_short(self.region or "not set"),
        )


@dataclass(frozen=True)
class OnboardingClosed(Event):
    action: ClassVar[str] = "onboarding.closed"

    def describe(self, names: Names = NO_NAMES) -> Text:
        return Text("closed it")


@dataclass(frozen=True)
class FieldChange:
    field: str  # "region", "name", "journal address"
    old: str | None
    new: str | None


@dataclass(frozen=True)
class OnboardingChanged(Event):
    """Stored as {field: {"from": old, "to": new}, ...}."""

    action: ClassVar[str] = "onboarding.changed"
    changes: tuple[FieldChange, ...]

    def detail(self) -> dict[str, Any]:
        return {c.field: {"from": c.old, "to": c.new} for c in self.changes}

    @classmethod
    def parse(cls, detail: Mapping[str, Any]) -> Self:
        changes = []
        for field, change in detail.items():
            if not isinstance(change, Mapping) or not {"from", "to"} <= change.keys():
                raise Malformed(f"{cls.action}: {field!r} is not a change")
            old, new = (_typed(change[k], str | None, k) for k in ("from", "to"))
            changes.append(FieldChange(str(field), old, new))
        return cls(tuple(changes))

    def describe(self, names: Names = NO_NAMES) -> Text:
        # A field set to what it already was is no change: it is left out, or said as confirmed.
        changed = [c for c in self.changes if c.old != c.new]
        if not changed and self.changes:
            confirmed = [
                Text(
                    "the {field} unchanged: {value}",
                    field=_short(c.field),
                    value=_short(c.new or "none"),
                )
                for c in self.changes
            ]
            return Text("confirmed {parts}", parts=_join(confirmed))
        parts = [
            Text(
                "the {field} from {old} to {new}",
                field=_short(c.field),
                old=_short(c.old or "none"),
                new=_short(c.new or "none"),
            )
            for c in changed
        ]
        return Text("changed {parts}", parts=_join(parts))


@dataclass(frozen=True)
class StepChanged(Event):
    action: ClassVar[str] = "step.changed"
    step: str
    from_: str
    to: str
    by: str  # how: the verb, "rfi", "check", "reminder", ...

    def describe(self, names: Names = NO_NAMES) -> Text:
        how = _MOVED_HOW.get(self.by)
        return Text(
            "marked *{step}* {new} (was {old}) {how}",
            step=_step(self.step),
            old=_state(self.from_),
            new=_state(self.to),
            how=how if how else Text("with {verb}", verb=Code(_short(self.by))),
        )


@dataclass(frozen=True)
class MemberAdded(Event):
    action: ClassVar[str] = "member.added"
    user: str
    role: str

    def describe(self, names: Names = NO_NAMES) -> Text:
        return Text("invited {user} as {role}", user=UserRef(self.user), role=_short(self.role))


# --- the RFI, checks and credentials ---------------------------------------------------------


@dataclass(frozen=True)
class RfiStarted(Event):
    action: ClassVar[str] = "rfi.started"
    channel: str
    thread_ts: str

    def describe(self, names: Names = NO_NAMES) -> Text:
        return Text("started the RFI thread")


@dataclass(frozen=True)
class RfiAnswered(Event):
    action: ClassVar[str] = "rfi.answer"
    omitted_when_none = frozenset({"before"})
    question: str
    values: tuple[str, ...]  # as shown
    how: str  # "added", "replaced", "edited", "form"
    before: tuple[str, ...] | None = None  # what a changed answer was

    def describe(self, names: Names = NO_NAMES) -> Text:
        question = names.question(self.question)
        how = _ANSWERED_HOW.get(self.how, "")
        if self.before is not None and tuple(self.before) == tuple(self.values):
            return Text(
                "confirmed *{question}* unchanged: {values}{how}",
                question=_short(question),
                values=_values(self.values),
                how=how,
            )
        if self.before is not None:
            return Text(
                "changed *{question}* from {before} to {values}{how}",
                question=_short(question),
                before=_values(self.before),
                values=_values(self.values),
                how=how,
            )
        return Text(
            "answered *{question}*: {values}{how}",
            question=_short(question),
            values=_values(self.values),
            how=how,
        )


@dataclass(frozen=True)
class ChecksRun(Event):
    action: ClassVar[str] = "check.run"
    steps: tuple[str, ...]
    results: Mapping[str, int]  # status -> how many checks ended so

    def describe(self, names: Names = NO_NAMES) -> Text:
        said = [f"{self.results[s]} {word}" for s, word in _STATUS_WORDS if self.results.get(s)]
        said += [
            f"{n} {s}" for s, n in sorted(self.results.items()) if s not in dict(_STATUS_WORDS)
        ]
        steps = [_step(s) for s in self.steps]
        named = ", ".join(steps[:-1]) + " and " + steps[-1] if len(steps) > 1 else "".join(steps)
        return Text(
            "ran the {steps} checks: {counts}",
            steps=_short(named),
            counts=_short(", ".join(said) or "no results"),
        )


@dataclass(frozen=True)
class ProviderRecognised(Event):
    action: ClassVar[str] = "provider.recognised"
    provider: str
    matched_by: tuple[str, ...]

    def describe(self, names: Names = NO_NAMES) -> Text:
        return Text("recognised the previous provider: {p}", p=_short(self.provider))


@dataclass(frozen=True)
class CredentialsSet(Event):
    """Which server and which user; the secret only as changed or not, a CA certificate only as
    given (stored as "ca_pem": "given")."""

    action: ClassVar[str] = "credentials.set"
    omitted_when_none = frozenset({"base_dn", "directory_type", "plain_ok"})
    kind: str
    host: str
    port: int
    security: str
    username: str
    secret_changed: bool
    base_dn: str | None = None  # LDAP only, as are the rest
    directory_type: str | None = None
    plain_ok: bool | None = None  # the bind password may go in clear (plain LDAP)
    ca_given: bool = False

    def detail(self) -> dict[str, Any]:
        detail = super().detail()
        del detail["ca_given"]
        return detail | ({"ca_pem": "given"} if self.ca_given else {})

    @classmethod
    def parse(cls, detail: Mapping[str, Any]) -> Self:
        return super().parse({**detail, "ca_given": detail.get("ca_pem") == "given"})

    def describe(self, names: Names = NO_NAMES) -> Text:
        return Text(
            "set the {kind} login: {user} at {host}:{port}{secret}",
            kind=_short(self.kind),
            user=_short(self.username),
            host=_short(self.host),
            port=_short(self.port),
            secret=" (new password)" if self.secret_changed else "",
        )


# --- reminders -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReminderAdded(Event):
    action: ClassVar[str] = "reminder.added"
    id: int
    due_at: str  # ISO 8601

    def describe(self, names: Names = NO_NAMES) -> Text:
        return Text("set reminder #{id}, due {due}", id=_short(self.id), due=_time(self.due_at))


@dataclass(frozen=True)
class ReminderCancelled(Event):
    action: ClassVar[str] = "reminder.cancelled"
    id: int

    def describe(self, names: Names = NO_NAMES) -> Text:
        return Text("cancelled reminder #{id}", id=_short(self.id))


@dataclass(frozen=True)
class ReminderDone(Event):
    action: ClassVar[str] = "reminder.done"
    id: int
    confirms: str | None  # the manual item the Done confirms

    def describe(self, names: Names = NO_NAMES) -> Text:
        return Text(
            "completed reminder #{id}{confirms}",
            id=_short(self.id),
            confirms=Text(
                ", confirming {item}",
                item=_short(names.confirmed.get(self.confirms, self.confirms)),
            )
            if self.confirms
            else "",
        )


@dataclass(frozen=True)
class ReminderSnoozed(Event):
    action: ClassVar[str] = "reminder.snoozed"
    id: int
    until: str  # ISO 8601

    def describe(self, names: Names = NO_NAMES) -> Text:
        return Text(
            "snoozed reminder #{id} until {until}", id=_short(self.id), until=_time(self.until)
        )


# --- recipients ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecipientsSynced(Event):
    action: ClassVar[str] = "recipients.synced"
    stored: int
    replaced: int
    users: int

    def describe(self, names: Names = NO_NAMES) -> Text:
        return Text(
            "read the directory: {stored} recipients stored (replacing {replaced})",
            stored=_short(self.stored),
            replaced=_short(self.replaced),
        )


@dataclass(frozen=True)
class RecipientsStaged(Event):
    action: ClassVar[str] = "recipients.staged"
    batch: int
    filename: str | None
    errors: int

    def describe(self, names: Names = NO_NAMES) -> Text:
        return Text(
            "uploaded {file}: {errors} rows with problems, nothing imported yet",
            file=_short(self.filename or "a spreadsheet"),
            errors=_short(self.errors),
        )


@dataclass(frozen=True)
class RecipientsImported(Event):
    action: ClassVar[str] = "recipients.imported"
    batch: int
    filename: str | None
    imported: int
    replaced: int
    errors: int

    def describe(self, names: Names = NO_NAMES) -> Text:
        return Text(
            "imported {n} recipients from {file} (replacing {replaced}; {errors} rows left out)",
            n=_short(self.imported),
            file=_short(self.filename or "a spreadsheet"),
            replaced=_short(self.replaced),
            errors=_short(self.errors),
        )


@dataclass(frozen=True)
class RecipientsDiscarded(Event):
    action: ClassVar[str] = "recipients.discarded"
    batch: int
    filename: str | None

    def describe(self, names: Names = NO_NAMES) -> Text:
        return Text("discarded {file}", file=_short(self.filename or "a spreadsheet"))


# --- the watch on DNS (commands/watch) -----------------------------------------------------


@dataclass(frozen=True)
class WatchSwitchSeen(Event):
    action: ClassVar[str] = "watch.switch_seen"
    domain: str
    name_servers: int
    caches_expire_at: str | None  # ISO 8601

    def describe(self, names: Names = NO_NAMES) -> Text:
        return Text(
            "saw the MX of {domain} point at the gateway on all {n} name servers",
            domain=_short(self.domain),
            n=_short(self.name_servers),
        )


@dataclass(frozen=True)
class WatchRegression(Event):
    action: ClassVar[str] = "watch.regression"
    domain: str
    problem: str  # "mx" | "spf"

    def describe(self, names: Names = NO_NAMES) -> Text:
        what = (
            "its MX moved away from the gateway"
            if self.problem == "mx"
            else ("its SPF no longer authorises the gateway")
        )
        return Text(
            "raised a regression for {domain}: {what}", domain=_short(self.domain), what=what
        )


@dataclass(frozen=True)
class WatchPaused(Event):
    action: ClassVar[str] = "watch.paused"

    def describe(self, names: Names = NO_NAMES) -> Text:
        return Text("paused the DNS watch")


@dataclass(frozen=True)
class WatchResumed(Event):
    action: ClassVar[str] = "watch.resumed"

    def describe(self, names: Names = NO_NAMES) -> Text:
        return Text("resumed the DNS watch")


EVENTS: dict[str, type[Event]] = {
    cls.action: cls
    for cls in (
        OnboardingOpened,
        OnboardingClosed,
        OnboardingChanged,
        StepChanged,
        MemberAdded,
        RfiStarted,
        RfiAnswered,
        ChecksRun,
        ProviderRecognised,
        CredentialsSet,
        ReminderAdded,
        ReminderCancelled,
        ReminderDone,
        ReminderSnoozed,
        RecipientsSynced,
        RecipientsStaged,
        RecipientsImported,
        RecipientsDiscarded,
        WatchSwitchSeen,
        WatchRegression,
        WatchPaused,
        WatchResumed,
    )
}


@dataclass(frozen=True)
class Unrecognised:
    """A stored event no class reads: an unknown action, or a detail of another shape."""

    action: str
    detail: object

    def describe(self, names: Names = NO_NAMES) -> Text:
        if isinstance(self.detail, Mapping):
            items = sorted(self.detail.items(), key=lambda item: str(item[0]))
            shown = ", ".join(f"{k}: {_short(v)}" for k, v in items)
        else:
            shown = _short(self.detail)
        return Text("{action} {fields}", action=_short(self.action), fields=_short(shown))


def record(
    session: Session,
    onboarding_id: int | None,
    actor: str,
    event: Event,
    at: datetime | None = None,
) -> AuditEvent:
    """Write one event in the caller's transaction. `actor` is a user id or "connect-bot".
    Every recorded change is also a change for the hook (commands.core.changes)."""
    note_change(session, onboarding_id)
    return store.record(
        session,
        onboarding_id=onboarding_id,
        actor=actor,
        action=event.action,
        detail=event.detail(),
        at=at,
    )


def parse(action: str, detail: object) -> Event | Unrecognised:
    """A stored (action, detail) as its event; never raises, whatever old data holds."""
    cls = EVENTS.get(action)
    if cls is None or not isinstance(detail, Mapping):
        return Unrecognised(action, detail)
    try:
        return cls.parse(detail)
    except Malformed:
        return Unrecognised(action, detail)


# --- helpers ---------------------------------------------------------------------------------


# Each event class's field types, resolved once. A plain dict rather than functools.cache:
# mypy reads a type[Event] value's __hash__ as the instances' method, so it does not see it as
# the Hashable that cache's wrapper asks of its arguments.
_HINTS: dict[type[Event], dict[str, Any]] = {}


def _hints(cls: type[Event]) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = get_type_hints(cls)
    return hints


def _plain(value: Any) -> Any:
    """A field as JSON: tuples as lists, mappings as dicts."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _typed(value: Any, hint: Any, key: str) -> Any:
    """A stored value as the field's type (JSON lists as tuples); Malformed if it is not one.
    Knows the types the events use: str, int, bool, None, unions, tuple[X, ...] and
    Mapping[K, V]."""
    origin = get_origin(hint)
    if origin is Union or origin is types.UnionType:
        for option in get_args(hint):
            try:
                return _typed(value, option, key)
            except Malformed:
                continue
    elif origin is tuple and isinstance(value, list):
        return tuple(_typed(v, get_args(hint)[0], key) for v in value)
    elif origin is Mapping and isinstance(value, Mapping):
        key_type, value_type = get_args(hint)
        return {_typed(k, key_type, key): _typed(v, value_type, key) for k, v in value.items()}
    elif hint is type(None) and value is None:
        return None
    elif hint in (bool, int, str) and isinstance(value, hint) and _not_bool_for_int(hint, value):
        return value
    raise Malformed(f"{key!r}: {_short(repr(value))} is not {hint}")


def _not_bool_for_int(hint: Any, value: Any) -> bool:
    return hint is bool or not isinstance(value, bool)  # JSON's true is no number


def _short(value: object) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def _time(stored: str) -> When | str:
    """A stored ISO 8601 time as a date each reader sees in their own time zone; a value that
    is not one (old data) as the text it is."""
    try:
        at = datetime.fromisoformat(stored)
    except ValueError:
        return _short(stored)
    return When(at if at.tzinfo else at.replace(tzinfo=UTC))


def _values(values: tuple[str, ...]) -> str:
    return _short("; ".join(values)) if values else "none"


def _step(name: str) -> str:
    step = process.STEP_ALIASES.get(name)
    return step.title if step else _short(name)


def _state(name: str) -> str:
    try:
        return process.StepState(name).label
    except ValueError:
        return _short(name)


def _join(parts: list[Text]) -> Text:
    template = "; ".join(f"{{p{i}}}" for i in range(len(parts))) or "nothing"
    return Text(template, **{f"p{i}": part for i, part in enumerate(parts)})
