"""store/recipients.py on SQLite and PostgreSQL: staging, duplicates found in SQL, importing a
batch in place of the source's previous set, and the counts the checks read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, col, select
from support.recipients import open_onboarding

from store import recipients as store
from store.db import Database
from store.models import Recipient, RecipientBatch, RecipientStaging

AT = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def new_batch(session: Session, source: str = "spreadsheet", onboarding_id: int = 1) -> int:
    batch = store.start_batch(
        session, onboarding_id=onboarding_id, source=source, created_by="U0ENG", filename="f.csv"
    )
    assert batch.id is not None
    return batch.id


def rows(*addresses: str, start: int = 2) -> list[store.StagedRow]:
    return [store.StagedRow(n, a, f"Name {n}") for n, a in enumerate(addresses, start=start)]


def imported(database: Database, source: str | None = None) -> list[tuple[str, str | None]]:
    with database.session() as session:
        query = select(Recipient)
        if source is not None:
            query = query.where(Recipient.source == source)
        return sorted((r.address, r.display_name) for r in session.exec(query))


@pytest.fixture
def db(database: Database) -> Database:
    open_onboarding(database)  # onboarding 1
    return database


def test_duplicates_are_listed_by_row_with_the_first_row_of_their_address(db: Database) -> None:
    with db.session(write=True) as session:
        batch = new_batch(session)
        staged = store.stage(
            session,
            batch,
            rows(
                "a@acme.example",  # 2
                "b@acme.example",  # 3
                "A@acme.example",  # 4: a duplicate of 2, whatever the case
                "c@acme.example",  # 5
                "b@acme.example",  # 6: of 3
                "a@acme.example",  # 7: of 2
            ),
        )
        assert staged == 6
        count, listed = store.duplicates(session, batch, limit=10)
        assert count == 3
        assert listed == [
            store.Duplicate(4, "A@acme.example", 2),
            store.Duplicate(6, "b@acme.example", 3),
            store.Duplicate(7, "a@acme.example", 2),
        ]
        count, listed = store.duplicates(session, batch, limit=2)
        assert count == 3  # counted whole, listed up to the limit
        assert [d.row for d in listed] == [4, 6]


def test_duplicates_across_the_files_of_a_batch_name_the_first_file_and_row(db: Database) -> None:
    # Two files of one upload: row numbers repeat, the file tells them apart.
    first = [
        store.StagedRow(n, a, file=0) for n, a in [(2, "a@acme.example"), (3, "b@acme.example")]
    ]
    second = [
        store.StagedRow(2, "c@acme.example", file=1),
        store.StagedRow(3, "B@acme.example", file=1),  # of file 0 row 3
        store.StagedRow(4, "c@acme.example", file=1),  # of file 1 row 2
    ]
    with db.session(write=True) as session:
        batch = new_batch(session)
        assert store.stage(session, batch, [*first, *second]) == 5
        count, listed = store.duplicates(session, batch, limit=10)
        assert count == 2
        assert listed == [
            store.Duplicate(3, "B@acme.example", 3, file=1, first_file=0),
            store.Duplicate(4, "c@acme.example", 2, file=1, first_file=1),
        ]
        assert store.duplicates_per_file(session, batch) == {1: 2}
        assert store.import_batch(session, batch, by="U0ENG", at=AT) == 3
    # The first file's row of each address is the one kept.
    assert imported(db) == [
        ("a@acme.example", None),
        ("b@acme.example", None),
        ("c@acme.example", None),
    ]


def test_duplicates_are_per_batch(db: Database) -> None:
    with db.session(write=True) as session:
        first, second = new_batch(session), new_batch(session)
        store.stage(session, first, rows("a@acme.example"))
        store.stage(session, second, rows("a@acme.example", "b@acme.example"))
        assert store.duplicates(session, second, limit=10) == (0, [])


def test_staging_many_rows_goes_in_chunks(db: Database) -> None:
    n = store.STAGE_CHUNK * 2 + 17
    with db.session(write=True) as session:
        batch = new_batch(session)
        generated = (store.StagedRow(i, f"u{i % (n - 5)}@acme.example") for i in range(1, n + 1))
        assert store.stage(session, batch, generated) == n
        count, listed = store.duplicates(session, batch, limit=3)
        assert count == 5
        assert [(d.row, d.first_row) for d in listed] == [(n - 4, 1), (n - 3, 2), (n - 2, 3)]


def test_import_keeps_the_first_row_of_each_address_and_clears_the_staging(db: Database) -> None:
    with db.session(write=True) as session:
        batch = new_batch(session)
        store.stage(session, batch, rows("a@acme.example", "b@acme-corp.com", "A@acme.example"))
        assert store.import_batch(session, batch, by="U0ENG", at=AT) == 2
    assert imported(db) == [("a@acme.example", "Name 2"), ("b@acme-corp.com", "Name 3")]
    with db.session() as session:
        stored = store.batch(session, batch)
        assert stored is not None
        assert (stored.state, stored.imported_by, stored.imported_at) == ("imported", "U0ENG", AT)
        assert session.exec(select(RecipientStaging)).all() == []
        # No groups: SQL NULL, not the JSON text 'null'.
        assert (
            len(session.exec(select(Recipient).where(col(Recipient.groups).is_(None))).all()) == 2
        )
        with pytest.raises(ValueError, match="not staged"):
            store.import_batch(session, batch, by="U0ENG", at=AT)


def test_an_import_replaces_its_own_source_only(db: Database) -> None:
    with db.session(write=True) as session:
        directory = new_batch(session, "directory")
        store.stage(
            session,
            directory,
            [
                store.StagedRow(1, "jane@acme.example", "Jane", "user", ("Sales", "All")),
                store.StagedRow(2, "sales@acme.example", "Sales", "group"),
            ],
        )
        store.import_batch(session, directory, by="U0ENG", at=AT)
        first = new_batch(session)
        store.stage(session, first, rows("old@acme.example", "jane@acme.example"))
        store.import_batch(session, first, by="U0ENG", at=AT)
    with db.session(write=True) as session:
        second = new_batch(session)
        store.stage(session, second, rows("new@acme.example"))
        assert store.import_batch(session, second, by="U0ENG", at=AT + timedelta(hours=1)) == 1
    assert imported(db, "spreadsheet") == [("new@acme.example", "Name 2")]
    with db.session() as session:
        kept = session.exec(select(Recipient).where(Recipient.source == "directory")).all()
        assert sorted((r.address, r.kind, r.groups) for r in kept) == [
            ("jane@acme.example", "user", ["Sales", "All"]),
            ("sales@acme.example", "group", None),
        ]
        states = {b.id: b.state for b in session.exec(select(RecipientBatch))}
        assert states == {directory: "imported", first: "replaced", second: "imported"}
        latest = store.latest_imported(session, 1, "spreadsheet")
        assert latest is not None
        assert latest.id == second
        latest_any = store.latest_imported(session, 1)
        assert latest_any is not None
        assert latest_any.id == second  # the newest import of any source


def test_a_failed_transaction_leaves_the_previous_set(db: Database) -> None:
    with db.session(write=True) as session:
        first = new_batch(session)
        store.stage(session, first, rows("keep@acme.example"))
        store.import_batch(session, first, by="U0ENG", at=AT)

    def import_then_fail() -> None:
        with db.session(write=True) as session:
            second = new_batch(session)
            store.stage(session, second, rows("lost@acme.example"))
            store.import_batch(session, second, by="U0ENG", at=AT)
            raise RuntimeError("the caller failed after the import, before the commit")

    with pytest.raises(RuntimeError):
        import_then_fail()
    assert imported(db) == [("keep@acme.example", "Name 2")]
    with db.session() as session:
        assert [(b.id, b.state) for b in session.exec(select(RecipientBatch))] == [
            (first, "imported")
        ]


def test_discard_drops_the_staging_rows(db: Database) -> None:
    with db.session(write=True) as session:
        batch = new_batch(session)
        store.stage(session, batch, rows("a@acme.example", "b@acme.example"))
        other = new_batch(session)
        store.stage(session, other, rows("c@acme.example"))
        assert [b.id for b in store.staged_batches(session, 1, "spreadsheet")] == [batch, other]
        store.discard(session, batch)
        assert [b.id for b in store.staged_batches(session, 1)] == [other]
        left = session.exec(select(RecipientStaging.batch_id)).all()
        assert left == [other]
        discarded = store.batch(session, batch)
        assert discarded is not None
        assert discarded.state == "discarded"
        with pytest.raises(ValueError, match="not staged"):
            store.import_batch(session, batch, by="U0ENG", at=AT)


def test_counts_by_source_and_per_domain(db: Database) -> None:
    open_onboarding(db, "beta", channel="C0BETA")  # onboarding 2
    with db.session(write=True) as session:
        directory = new_batch(session, "directory")
        store.stage(session, directory, rows("a@acme.example", "b@acme.example", "c@acme-corp.com"))
        store.import_batch(session, directory, by="U", at=AT)
        sheet = new_batch(session)
        store.stage(session, sheet, rows("A@ACME.example", "d@acme.example"))
        store.import_batch(session, sheet, by="U", at=AT)
        beta = new_batch(session, onboarding_id=2)
        store.stage(session, beta, rows("x@beta.example"))
        store.import_batch(session, beta, by="U", at=AT)
    with db.session() as session:
        assert store.count(session, 1) == 5
        assert store.count(session, 1, "directory") == 3
        assert store.count(session, 1, "spreadsheet") == 2
        assert store.counts_by_source(session, 1) == {"directory": 3, "spreadsheet": 2}
        # An address from both sources counts once for its domain.
        assert store.per_domain(session, 1) == {"acme.example": 3, "acme-corp.com": 1}
        assert store.per_domain(session, 2) == {"beta.example": 1}
        assert store.counts_by_source(session, 3) == {}
        assert store.latest_imported(session, 3) is None


def test_groups_survive_the_ranking_when_a_batch_has_duplicates(db: Database) -> None:
    with db.session(write=True) as session:
        batch = new_batch(session, "directory")
        store.stage(
            session,
            batch,
            [
                store.StagedRow(1, "jane@acme.example", "Jane", "user", ("Sales",)),
                store.StagedRow(2, "JANE@acme.example", "Jane (alias)", "user", ("Other",)),
                store.StagedRow(3, "all@acme.example", "All", "group", ("Everyone", "Staff")),
            ],
        )
        assert store.import_batch(session, batch, by="U", at=AT) == 2
    with db.session() as session:
        kept = session.exec(select(Recipient)).all()
        assert sorted((r.address, r.display_name, r.kind, r.groups) for r in kept) == [
            ("all@acme.example", "All", "group", ["Everyone", "Staff"]),
            ("jane@acme.example", "Jane", "user", ["Sales"]),
        ]
