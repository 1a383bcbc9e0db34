"""The RFI's stored answers read back: each question's values, and which questions are answered
in full (a contacts answer without a technical contact is not, whatever it holds)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from commands.rfi import questions as q
from store import rfi as store


def current_answers(session: Session, onboarding_id: int) -> dict[str, list[Any]]:
    """Each answered question's values, loaded into the validators' types, in reply order."""
    values: dict[str, list[Any]] = {}
    for row in store.answers(session, onboarding_id):
        values.setdefault(row.question, []).extend(q.BY_ID[row.question].load(row.values))
    return values


def complete_ids(current: dict[str, list[Any]]) -> frozenset[str]:
    """The questions whose answer is whole: given (or skipped) with nothing still missing."""
    return frozenset(k for k, values in current.items() if q.BY_ID[k].missing(values) is None)


def answered(session: Session, onboarding_id: int) -> frozenset[str]:
    """The questions answered in full, as status counts them ("RFI 3/8 answered")."""
    return complete_ids(current_answers(session, onboarding_id))
