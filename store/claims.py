"""Claiming due rows for a worker, with a lease: the one mechanism behind reminders and the DNS
watch, so that several workers on one database never take the same row twice.

SQLite: one conditional UPDATE ... RETURNING inside BEGIN IMMEDIATE (one writer at a time).
PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED, then the UPDATE of those rows, in one transaction,
so concurrent workers pass over each other's rows instead of waiting or double-claiming.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import update
from sqlalchemy.sql.expression import ColumnElement, ScalarSelect, TextClause
from sqlmodel import Session, SQLModel, col
from sqlmodel.sql.expression import SelectOfScalar

Row = TypeVar("Row", bound=SQLModel)


def claim(
    session: Session,
    model: type[Row],
    ids: SelectOfScalar[int | None],
    due: Sequence[ColumnElement[bool] | TextClause],
    values: Mapping[str, Any],
) -> list[Row]:
    """Set `values` (the claim: who, until when) on the rows `ids` selects (due ones, in order,
    limited) that are still `due`, and return them in due order. `model` has `id` and `due_at`."""
    if session.get_bind().dialect.name == "postgresql":
        # Lock the rows first, in a statement of their own: as a subquery of the UPDATE, the
        # planner may re-run the SELECT, and SKIP LOCKED then hands it further rows past LIMIT.
        picked: list[int | None] | ScalarSelect[int | None] = list(
            session.execute(ids.with_for_update(skip_locked=True)).scalars()
        )
        if not picked:
            return []
    else:
        picked = ids.scalar_subquery()
    model_id = col(model.id)  # type: ignore[attr-defined]
    statement = (
        update(model)
        .where(model_id.in_(picked))
        .where(*due)  # re-checked: a row may have changed since the SELECT read it
        .values(**values)
        .returning(model)
        .execution_options(synchronize_session=False)
    )
    rows = list(session.scalars(statement))
    rows.sort(key=lambda row: (row.due_at, row.id or 0))  # type: ignore[attr-defined]
    return rows
