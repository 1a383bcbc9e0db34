"""`/connect history`: an onboarding's audit trail, newest first, a page at a time.

Each stored event becomes one line of Text; the values in it (answers, names) are people's
text and are escaped when rendered, like every other value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from commands.onboarding import Caller, Refused, find_onboarding, view_of
from commands.results import OnboardingView
from commands.steps import STEP_ALIASES, StepState
from commands.text import Code, Text, UserRef
from store import audit
from store.db import Database

PER_PAGE = 20
MAX_VALUE_CHARS = 200  # one value in a history line; the full answer is in `rfi show`
BOT_ACTOR = "connect-bot"


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    actor: str
    text: Text


@dataclass(frozen=True)
class History:
    onboarding: OnboardingView
    lines: tuple[HistoryLine, ...]
    page: int
    pages: int
    total: int
    public = False

    @property
    def next_page(self) -> int | None:
        return self.page + 1 if self.page < self.pages else None


class HistoryService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def history(self, caller: Caller, key: str | None, page: str | None) -> History:
        number = _page_number(page)
        with self.db.session() as session:
            onboarding = find_onboarding(session, caller, key, verb="history")
            assert onboarding.id is not None
            found = audit.page(session, onboarding.id, number=number, per_page=PER_PAGE)
            if number > found.pages:
                raise Refused(
                    Text(
                        "{key} has {pages} page(s) of history; {example} shows the first.",
                        key=onboarding.key,
                        pages=found.pages,
                        example=Code(f"/connect history {onboarding.key}"),
                    )
                )
            lines = tuple(
                HistoryLine(e.at, e.actor, describe(e.action, e.detail)) for e in found.events
            )
            return History(view_of(session, onboarding), lines, number, found.pages, found.total)


def _page_number(page: str | None) -> int:
    if page is None:
        return 1
    if not page.isdigit() or not 0 < int(page) <= 100_000:
        raise Refused(
            Text(
                "{page} is not a page number; pages count from 1: {example}.",
                page=page[:20],
                example=Code("/connect history acme --page 2"),
            )
        )
    return int(page)


def _short(value: object) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def _values(values: object) -> str:
    if isinstance(values, list | tuple):
        return _short("; ".join(str(v) for v in values)) if values else "none"
    return _short(values)


def _step(name: object) -> str:
    step = STEP_ALIASES.get(str(name))
    return step.title if step else _short(name)


def _state(name: object) -> str:
    try:
        return StepState(str(name)).label
    except ValueError:
        return _short(name)


def describe(action: str, detail: Mapping[str, Any]) -> Text:
    """One audit event as a line of text; unknown actions still show what they recorded."""
    d = detail
    match action:
        case "onboarding.opened":
            return Text(
                "opened it ({service}, region {region})",
                service=_short(d.get("service", "?")),
                region=_short(d.get("region") or "not set"),
            )
        case "onboarding.closed":
            return Text("closed it")
        case "onboarding.changed":
            parts = [
                Text(
                    "{field} from {old} to {new}",
                    field=_short(k),
                    old=_short(v.get("from") or "none") if isinstance(v, dict) else "?",
                    new=_short(v.get("to") or "none") if isinstance(v, dict) else "?",
                )
                for k, v in d.items()
            ]
            return Text("changed {parts}", parts=_join(parts))
        case "step.changed":
            return Text(
                "{step}: {old} → {new} (by {how})",
                step=_step(d.get("step")),
                old=_state(d.get("from")),
                new=_state(d.get("to")),
                how=_short(d.get("by", "?")),
            )
        case "rfi.started":
            return Text("started the RFI thread")
        case "rfi.answer":
            if "before" in d:
                return Text(
                    "changed the answer to {question} from {before} to {values} ({how})",
                    question=_short(d.get("question", "?")),
                    before=_values(d.get("before")),
                    values=_values(d.get("values")),
                    how=_short(d.get("how", "?")),
                )
            return Text(
                "answered {question}: {values} ({how})",
                question=_short(d.get("question", "?")),
                values=_values(d.get("values")),
                how=_short(d.get("how", "?")),
            )
        case "check.run":
            results = d.get("results") if isinstance(d.get("results"), dict) else {}
            counts = ", ".join(f"{n} {s}" for s, n in sorted(results.items())) or "no results"
            steps = d.get("steps") or []
            return Text(
                "ran the {steps} checks: {counts}",
                steps=_short(
                    ", ".join(str(s) for s in steps) if isinstance(steps, list) else steps
                ),
                counts=_short(counts),
            )
        case "provider.recognised":
            return Text("recognised the previous provider: {p}", p=_short(d.get("provider", "?")))
        case "credentials.set":
            return Text(
                "set the {kind} login: {user} at {host}:{port}{secret}",
                kind=_short(d.get("kind", "?")),
                user=_short(d.get("username", "?")),
                host=_short(d.get("host", "?")),
                port=_short(d.get("port", "?")),
                secret=" (new password)" if d.get("secret_changed") else "",
            )
        case "member.added":
            return Text(
                "invited {user} as {role}",
                user=UserRef(str(d.get("user", "?"))),
                role=_short(d.get("role", "?")),
            )
        case "reminder.added":
            return Text(
                "set reminder #{id}, due {due}",
                id=_short(d.get("id", "?")),
                due=_short(d.get("due_at", "?")),
            )
        case "reminder.cancelled":
            return Text("cancelled reminder #{id}", id=_short(d.get("id", "?")))
        case "reminder.done":
            return Text(
                "completed reminder #{id}{confirms}",
                id=_short(d.get("id", d.get("reminder", "?"))),
                confirms=Text(" (confirms {item})", item=_short(d["confirms"]))
                if d.get("confirms")
                else "",
            )
        case "reminder.snoozed":
            return Text(
                "snoozed reminder #{id} until {until}",
                id=_short(d.get("id", d.get("reminder", "?"))),
                until=_short(d.get("until", "?")),
            )
        case "recipients.synced":
            return Text(
                "read the directory: {stored} recipients stored (replacing {replaced})",
                stored=_short(d.get("stored", "?")),
                replaced=_short(d.get("replaced", 0)),
            )
        case "recipients.imported":
            return Text(
                "imported {n} recipients from {file} (replacing {replaced}; "
                "{errors} rows left out)",
                n=_short(d.get("imported", "?")),
                file=_short(d.get("filename") or "a spreadsheet"),
                replaced=_short(d.get("replaced", 0)),
                errors=_short(d.get("errors", 0)),
            )
        case "recipients.staged":
            return Text(
                "uploaded {file}: {errors} rows with problems, nothing imported yet",
                file=_short(d.get("filename") or "a spreadsheet"),
                errors=_short(d.get("errors", "?")),
            )
        case "recipients.discarded":
            return Text("discarded {file}", file=_short(d.get("filename") or "a spreadsheet"))
    fields = ", ".join(f"{k}: {_short(v)}" for k, v in sorted(d.items()))
    return Text("{action} {fields}", action=_short(action), fields=_short(fields))


def _join(parts: list[Text]) -> Text:
    template = "; ".join(f"{{p{i}}}" for i in range(len(parts))) or "nothing"
    return Text(template, **{f"p{i}": part for i, part in enumerate(parts)})
