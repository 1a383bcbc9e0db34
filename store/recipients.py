"""Recipients and their staged batches.

A directory sync or a spreadsheet upload first lands in `recipient_staging`, row by row in
chunks, so that Python never holds the whole file; duplicates are then found with SQL. Importing a
batch replaces the onboarding's recipients from the same source in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any, cast

from sqlalchemy import CursorResult, Result, and_, delete, func, insert, literal, select, update
from sqlalchemy.orm import Mapped
from sqlalchemy.sql.expression import ColumnElement, Subquery
from sqlmodel import Session, col

from store.models import Recipient, RecipientBatch, RecipientStaging, table_of

STAGE_CHUNK = 2_000  # rows per INSERT: large enough to be fast, small enough to stay flat


@dataclass(frozen=True)
class StagedRow:
    row: int  # in its file
    address: str
    display_name: str | None = None
    kind: str = "user"
    groups: Sequence[str] | None = None
    file: int = 0  # which file of the upload (several files are one batch)


@dataclass(frozen=True)
class Duplicate:
    row: int
    address: str
    first_row: int
    file: int = 0
    first_file: int = 0  # the file of `first_row`


def start_batch(
    session: Session,
    *,
    onboarding_id: int,
    source: str,
    created_by: str,
    filename: str | None = None,
) -> RecipientBatch:
    batch = RecipientBatch(
        onboarding_id=onboarding_id, source=source, state="staged", filename=filename,
        created_by=created_by,
    )  # fmt: skip
    session.add(batch)
    session.flush()
    return batch


def stage(session: Session, batch_id: int, rows: Iterable[StagedRow]) -> int:
    """Insert `rows` into the batch's staging area in chunks; returns how many.

    The rows go to the driver as plain tuples (COPY on PostgreSQL): SQLAlchemy's per-row
    parameter processing would cost more than the database's work."""
    connection = session.connection()
    dialect = connection.dialect.name
    total = 0
    iterator: Iterator[StagedRow] = iter(rows)
    while chunk := list(islice(iterator, STAGE_CHUNK)):
        values = [
            (
                batch_id,
                r.file,
                r.row,
                r.address,
                r.address.lower(),
                r.address.rpartition("@")[2].lower(),
                r.display_name,
                r.kind,
                json.dumps(list(r.groups)) if r.groups else None,  # SQL NULL, not JSON null
            )
            for r in chunk
        ]
        if dialect == "postgresql":
            import psycopg  # only here: a SQLite deployment never loads the PostgreSQL driver

            driver = connection.connection.dbapi_connection
            assert isinstance(driver, psycopg.Connection)  # the only PostgreSQL driver we ship
            cursor = driver.cursor()
            with cursor.copy(_COPY) as copy:
                for value in values:
                    copy.write_row(value)
        else:
            connection.exec_driver_sql(_INSERT_QMARK if dialect == "sqlite" else _INSERT, values)
        total += len(chunk)
    return total


_COPY = (
    'COPY recipient_staging (batch_id, file, "row", address, address_key, domain, display_name, '
    "kind, groups) FROM STDIN"
)
_INSERT = (
    'INSERT INTO recipient_staging (batch_id, file, "row", address, address_key, domain, '
    "display_name, kind, groups) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_INSERT_QMARK = _INSERT.replace("%s", "?")


def _ranked(batch_id: int, *columns: Mapped[Any]) -> Subquery:
    """The batch's staged rows (`columns` of them), each with the first (file, row) of its
    address and its rank among the rows of that address, files in upload order. Window
    functions sort the batch once, whatever the planner knows: a self-join (EXISTS an earlier
    row) went quadratic on PostgreSQL while the freshly staged table had no statistics yet
    (10,000 rows: 20 s a query)."""
    s = RecipientStaging
    order = (col(s.file), col(s.row), col(s.id))
    return (
        select(
            *columns,
            func.first_value(col(s.file))
            .over(partition_by=col(s.address_key), order_by=order)
            .label("first_file"),
            func.first_value(col(s.row))
            .over(partition_by=col(s.address_key), order_by=order)
            .label("first_row"),
            func.row_number().over(partition_by=col(s.address_key), order_by=order).label("rank"),
        )
        .where(col(s.batch_id) == batch_id)
        .subquery()
    )


def _duplicate_count(session: Session, batch_id: int) -> int:
    """Rows beyond the first of their address: an index-only count, no sorting."""
    s = RecipientStaging
    query = select(func.count() - func.count(func.distinct(col(s.address_key)))).where(
        col(s.batch_id) == batch_id
    )
    return int(session.execute(query).scalar_one())


def duplicates(session: Session, batch_id: int, *, limit: int) -> tuple[int, list[Duplicate]]:
    """Rows whose address an earlier row of the batch (an earlier file, or an earlier row of
    the same file) already has: the count and the first few, by file and row."""
    count = _duplicate_count(session, batch_id)
    if count == 0 or limit <= 0:
        return count, []
    s = RecipientStaging
    ranked = _ranked(batch_id, col(s.file), col(s.row), col(s.address))
    c = ranked.c
    listed = session.execute(
        select(c.row, c.address, c.first_row, c.file, c.first_file)
        .where(c.rank > 1)
        .order_by(c.file, c.row)
        .limit(limit)
    ).all()
    return count, [Duplicate(*found) for found in listed]


def duplicates_per_file(session: Session, batch_id: int) -> dict[int, int]:
    """How many of each file's rows repeat an address seen before (for a per-file count)."""
    s = RecipientStaging
    ranked = _ranked(batch_id, col(s.file))
    found = session.execute(
        select(ranked.c.file, func.count()).where(ranked.c.rank > 1).group_by(ranked.c.file)
    ).all()
    return {file: n for file, n in found}


def batch(session: Session, batch_id: int) -> RecipientBatch | None:
    return session.get(RecipientBatch, batch_id)


def import_batch(session: Session, batch_id: int, *, by: str, at: datetime) -> int:
    """Replace the onboarding's recipients of the batch's source with the batch's first row of
    each address; the caller's transaction makes it atomic. Returns how many were stored."""
    found = session.get(RecipientBatch, batch_id)
    if found is None or found.state != "staged":
        raise ValueError(f"batch {batch_id} is not staged")
    s = RecipientStaging
    _delete(
        session,
        Recipient,
        and_(
            col(Recipient.onboarding_id) == found.onboarding_id,
            col(Recipient.source) == found.source,
        ),
    )
    copied = ("batch_id", "address", "address_key", "domain", "display_name", "kind", "groups")
    staged = [col(getattr(s, name)) for name in copied]
    fixed = (literal(found.onboarding_id), literal(found.source))
    if _duplicate_count(session, batch_id) == 0:  # every row is the first of its address
        chosen = select(*fixed, *staged).where(col(s.batch_id) == batch_id)
    else:
        ranked = _ranked(batch_id, *staged)
        chosen = select(*fixed, *(ranked.c[name] for name in copied)).where(ranked.c.rank == 1)
    columns = [
        "onboarding_id", "source", "batch_id", "address", "address_key", "domain",
        "display_name", "kind", "groups",
    ]  # fmt: skip
    stored = _rowcount(session.execute(insert(table_of(Recipient)).from_select(columns, chosen)))
    session.execute(
        update(RecipientBatch)
        .where(
            col(RecipientBatch.onboarding_id) == found.onboarding_id,
            col(RecipientBatch.source) == found.source,
            col(RecipientBatch.state) == "imported",
        )
        .values(state="replaced")
    )
    found.state, found.imported_by, found.imported_at = "imported", by, at
    session.add(found)
    _delete(session, s, col(s.batch_id) == batch_id)
    session.flush()
    # psycopg and SQLite both give the real rowcount for INSERT ... SELECT; count if not.
    return stored if stored >= 0 else count(session, found.onboarding_id, found.source)


DELETE_CHUNK = 10_000


def _delete(
    session: Session,
    model: type[Recipient] | type[RecipientStaging],
    where: ColumnElement[bool],
) -> None:
    """DELETE ... WHERE, in chunks on SQLite: it collects the rowids of a DELETE in memory
    (about 20 bytes a row), so one statement would grow with the file."""
    # No ORM synchronisation: it would first fetch every id to expire the matching objects.
    bulk = {"synchronize_session": False}
    if session.connection().dialect.name != "sqlite":
        session.execute(delete(model).where(where).execution_options(**bulk))
        return
    ids = select(col(model.id)).where(where).limit(DELETE_CHUNK).scalar_subquery()
    chunk = delete(model).where(col(model.id).in_(ids)).execution_options(**bulk)
    while _rowcount(session.execute(chunk)):
        pass


def _rowcount(result: Result[Any]) -> int:
    """The rows a DML statement touched. SQLModel types Session.execute as returning a Result;
    for DML it is SQLAlchemy's CursorResult, which has the rowcount."""
    return cast(CursorResult[Any], result).rowcount


def discard(session: Session, batch_id: int) -> None:
    _delete(session, RecipientStaging, col(RecipientStaging.batch_id) == batch_id)
    session.execute(
        update(RecipientBatch)
        .where(col(RecipientBatch.id) == batch_id, col(RecipientBatch.state) == "staged")
        .values(state="discarded")
    )


def staged_batches(
    session: Session, onboarding_id: int, source: str | None = None
) -> list[RecipientBatch]:
    query = select(RecipientBatch).where(
        col(RecipientBatch.onboarding_id) == onboarding_id,
        col(RecipientBatch.state) == "staged",
    )
    if source is not None:
        query = query.where(col(RecipientBatch.source) == source)
    return list(session.execute(query.order_by(col(RecipientBatch.id))).scalars())


def count(session: Session, onboarding_id: int, source: str | None = None) -> int:
    query = select(func.count()).where(col(Recipient.onboarding_id) == onboarding_id)
    if source is not None:
        query = query.where(col(Recipient.source) == source)
    return session.execute(query).scalar_one()


def counts_by_source(session: Session, onboarding_id: int) -> dict[str, int]:
    rows = session.execute(
        select(col(Recipient.source), func.count())
        .where(col(Recipient.onboarding_id) == onboarding_id)
        .group_by(col(Recipient.source))
    ).all()
    return {source: n for source, n in rows}


def per_domain(session: Session, onboarding_id: int) -> dict[str, int]:
    rows = session.execute(
        select(col(Recipient.domain), func.count(func.distinct(col(Recipient.address_key))))
        .where(col(Recipient.onboarding_id) == onboarding_id)
        .group_by(col(Recipient.domain))
    ).all()
    return {domain: n for domain, n in rows}


def latest_imported(
    session: Session, onboarding_id: int, source: str | None = None
) -> RecipientBatch | None:
    query = select(RecipientBatch).where(
        col(RecipientBatch.onboarding_id) == onboarding_id,
        col(RecipientBatch.state) == "imported",
    )
    if source is not None:
        query = query.where(col(RecipientBatch.source) == source)
    query = query.order_by(col(RecipientBatch.imported_at).desc(), col(RecipientBatch.id).desc())
    return session.execute(query.limit(1)).scalars().first()
