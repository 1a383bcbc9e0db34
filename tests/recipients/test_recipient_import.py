"""Importing recipient spreadsheets through `RecipientImporter`, on SQLite and PostgreSQL: generated
CSV, XLSX and XLS files, good and bad, and `connect-bot import` as a person runs it."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tracemalloc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlmodel import select
from support.recipients import ENGINEER, batches, grid, open_onboarding, staging_rows, stored, write

from bot.render.mrkdwn import text, to_plain
from commands.core.context import Caller, Refused
from commands.core.roles import Role
from commands.onboarding.service import OnboardingService
from commands.recipients.importer import RecipientImporter, safe_filename
from store import recipients as store
from store.db import Database
from store.models import AuditEvent

ELSEWHERE = Caller("U0ENG", "C0OTHER", "T0TEST", role=Role.ENGINEER)
FORMATS = [".csv", ".xlsx", ".xls"]
GOOD = [
    ("jane@acme.example", "Jane Smith"),
    ("Raj.Patel@ACME-CORP.COM", "Raj Patel"),
    ("bo@acme.example", ""),
]


@contextmanager
def refused(needle: str) -> Iterator[None]:
    """The block raises Refused, and the text a person reads contains `needle`."""
    with pytest.raises(Refused) as caught:
        yield
    said = to_plain(text(caught.value.text))
    assert needle in said, said


# --- good files ------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", FORMATS)
def test_a_clean_file_is_imported_at_once(database: Database, tmp_path: Path, suffix: str) -> None:
    open_onboarding(database)
    path = write(tmp_path / f"recipients{suffix}", grid(GOOD))
    report = RecipientImporter(database).import_path(ENGINEER, "acme", path)
    assert (report.state, report.rows, report.valid, report.imported) == ("imported", 3, 3, 3)
    assert (report.errors, report.duplicates, report.problems, report.previous) == (0, 0, (), 0)
    assert (report.key, report.filename, report.header) == ("acme", path.name, "A1")
    assert stored(database) == [
        ("Raj.Patel@acme-corp.com", "Raj Patel", "spreadsheet"),  # the domain lowercased only
        ("bo@acme.example", None, "spreadsheet"),
        ("jane@acme.example", "Jane Smith", "spreadsheet"),
    ]
    assert batches(database) == [(report.batch_id, "imported")]
    assert staging_rows(database) == 0  # the staging rows go once imported
    with database.session() as session:
        actions = [e.action for e in session.exec(select(AuditEvent))]
    assert "recipients.imported" in actions


@pytest.mark.parametrize("suffix", FORMATS)
def test_the_header_in_an_odd_place_is_found_and_rows_keep_their_numbers(
    database: Database, tmp_path: Path, suffix: str
) -> None:
    open_onboarding(database)
    rows = [*GOOD, ("not an address", "X")]
    path = write(tmp_path / f"odd{suffix}", grid(rows, top=36, left=5))  # header at F37
    report = RecipientImporter(database).import_path(ENGINEER, "acme", path)
    assert report.header == "F37"
    assert report.state == "staged"
    assert [p.row for p in report.problems] == [41]  # the 4th row under the header at 37


def test_the_channel_finds_the_onboarding_without_a_key(database: Database, tmp_path: Path) -> None:
    open_onboarding(database)
    path = write(tmp_path / "r.csv", grid(GOOD))
    assert RecipientImporter(database).import_path(ENGINEER, None, path).imported == 3
    with refused("This channel has no onboarding"):
        RecipientImporter(database).import_path(ELSEWHERE, None, path)


def test_internationalised_domains_match_the_rfi_in_either_form(
    database: Database, tmp_path: Path
) -> None:
    open_onboarding(database, domains="bücher.example")
    rows = [("jane@BÜCHER.example", "Jane"), ("raj@xn--bcher-kva.example", "Raj")]
    report = RecipientImporter(database).import_path(
        ENGINEER, "acme", write(tmp_path / "idn.xlsx", grid(rows))
    )
    assert report.imported == 2
    assert [a for a, _, _ in stored(database)] == [
        "jane@xn--bcher-kva.example",
        "raj@xn--bcher-kva.example",
    ]


def test_uploaded_bytes_are_imported_under_a_safe_name(database: Database, tmp_path: Path) -> None:
    open_onboarding(database)
    data = write(tmp_path / "r.xlsx", grid(GOOD)).read_bytes()
    workdir = tmp_path / "work"
    importer = RecipientImporter(database, workdir=workdir)
    report = importer.import_bytes(ENGINEER, "acme", data, "../../etc/<list> &co.xlsx")
    assert report.imported == 3
    assert report.filename == "_list_ _co.xlsx"
    assert list(workdir.iterdir()) == []  # the scratch copy is gone
    assert safe_filename("..") == "upload"
    assert safe_filename("C:\\Users\\jane\\r.csv") == "r.csv"


# --- bad rows and duplicates ----------------------------------------------------------------


def bad_file_rows() -> list[tuple[str, str]]:
    return [
        ("jane@acme.example", "Jane Smith"),  # row 2
        ("not-an-address", "Nobody"),  # row 3
        ("", "Name without address"),  # row 4
        ("JANE@acme.example", "Jane again"),  # row 5: duplicate of row 2 (case-insensitive)
        ("eve@elsewhere.example", "Eve"),  # row 6
        ("", ""),  # row 7: empty, skipped
        ("sam@acme.example", "Sam"),  # row 8
        ("sam@acme.example", "Sam twice"),  # row 9: duplicate of row 8
        ("jane@acme.example", "Jane thrice"),  # row 10: duplicate of row 2
        ("joe@other.example", "Joe"),  # row 11
    ]


@pytest.mark.parametrize("suffix", FORMATS)
def test_bad_rows_and_duplicates_are_reported_by_row_and_nothing_is_imported(
    database: Database, tmp_path: Path, suffix: str
) -> None:
    open_onboarding(database)
    path = write(tmp_path / f"bad{suffix}", grid(bad_file_rows()))
    report = RecipientImporter(database).import_path(ENGINEER, "acme", path)
    assert report.state == "staged"
    assert report.imported is None
    assert (report.rows, report.valid, report.errors, report.duplicates) == (9, 2, 7, 3)
    problems = {p.row: p.text for p in report.problems}
    assert sorted(problems) == [3, 4, 5, 6, 9, 10, 11]
    assert [p.row for p in report.problems] == sorted(problems)  # listed by row
    assert "'not-an-address' is not an email address" in problems[3]
    assert "no address" in problems[4]
    assert problems[5] == "JANE@acme.example is listed more than once (first on row 2)"
    assert problems[9] == "sam@acme.example is listed more than once (first on row 8)"
    assert problems[10] == "jane@acme.example is listed more than once (first on row 2)"
    assert "elsewhere.example is not one of the RFI's domains" in problems[6]
    assert report.outside_domains == {"elsewhere.example": 1, "other.example": 1}
    assert report.more_problems == 0
    assert stored(database) == []  # nothing until the file is clean or confirmed
    assert batches(database) == [(report.batch_id, "staged")]


def test_confirm_imports_the_first_row_of_each_valid_address_once(
    database: Database, tmp_path: Path
) -> None:
    open_onboarding(database)
    importer = RecipientImporter(database)
    staged = importer.import_path(
        ENGINEER, "acme", write(tmp_path / "bad.csv", grid(bad_file_rows()))
    )
    done = importer.confirm(ENGINEER, staged.batch_id)
    assert (done.state, done.imported, done.valid, done.errors) == ("imported", 2, 2, 7)
    assert [p.row for p in done.problems] == [3, 4, 5, 6, 9, 10, 11]  # the report is kept
    assert stored(database) == [
        ("jane@acme.example", "Jane Smith", "spreadsheet"),  # row 2, not "Jane again"
        ("sam@acme.example", "Sam", "spreadsheet"),
    ]
    assert staging_rows(database) == 0
    with refused("was already imported"):
        importer.confirm(ENGINEER, staged.batch_id)
    with refused("was already imported"):
        importer.discard(ENGINEER, staged.batch_id)


def test_discard_drops_the_staged_rows_and_a_discarded_batch_cannot_be_confirmed(
    database: Database, tmp_path: Path
) -> None:
    open_onboarding(database)
    importer = RecipientImporter(database)
    staged = importer.import_path(
        ENGINEER, "acme", write(tmp_path / "bad.csv", grid(bad_file_rows()))
    )
    assert staging_rows(database) == 5  # the rows that passed their own checks
    gone = importer.discard(ENGINEER, staged.batch_id)
    assert gone.state == "discarded"
    assert staging_rows(database) == 0
    with refused("was discarded"):
        importer.confirm(ENGINEER, staged.batch_id)
    assert stored(database) == []


def test_a_new_upload_discards_the_earlier_staged_one(database: Database, tmp_path: Path) -> None:
    open_onboarding(database)
    importer = RecipientImporter(database)
    first = importer.import_path(ENGINEER, "acme", write(tmp_path / "a.csv", grid(bad_file_rows())))
    second = importer.import_path(
        ENGINEER, "acme", write(tmp_path / "b.csv", grid(bad_file_rows()))
    )
    assert batches(database) == [(first.batch_id, "discarded"), (second.batch_id, "staged")]
    assert staging_rows(database) == 5
    with refused("was discarded"):
        importer.confirm(ENGINEER, first.batch_id)
    assert importer.confirm(ENGINEER, second.batch_id).imported == 2


def test_confirm_is_refused_from_another_onboarding(database: Database, tmp_path: Path) -> None:
    open_onboarding(database)
    open_onboarding(database, "beta", channel="C0BETA")
    importer = RecipientImporter(database)
    staged = importer.import_path(
        ENGINEER, "acme", write(tmp_path / "bad.csv", grid(bad_file_rows()))
    )
    beta = Caller("U0CUST", "C0BETA", "T0TEST")
    with refused("no staged spreadsheet"):
        importer.confirm(beta, staged.batch_id)
    with refused("no staged spreadsheet"):
        importer.discard(beta, staged.batch_id)
    with refused("no staged spreadsheet"):
        importer.confirm(ENGINEER, staged.batch_id + 1000)
    assert importer.confirm(ENGINEER, staged.batch_id).imported == 2


def test_confirming_a_file_without_valid_rows_is_refused(
    database: Database, tmp_path: Path
) -> None:
    open_onboarding(database)
    importer = RecipientImporter(database)
    rows = [("nobody", "X"), ("eve@elsewhere.example", "Eve")]
    staged = importer.import_path(ENGINEER, "acme", write(tmp_path / "none.csv", grid(rows)))
    assert (staged.state, staged.valid, staged.errors) == ("staged", 0, 2)
    with refused("no valid rows"):
        importer.confirm(ENGINEER, staged.batch_id)
    with refused("no valid rows"):
        importer.import_valid_only(ENGINEER, "acme", tmp_path / "none.csv")


def test_many_problems_are_counted_and_the_first_ones_listed(
    database: Database, tmp_path: Path
) -> None:
    open_onboarding(database)
    rows = [(f"user{n}@acme.example" if n % 2 else f"bad {n}", "U") for n in range(600)]
    rows += [("user1@acme.example", "again")] * 100  # 100 duplicates of row 3
    path = write(tmp_path / "many.csv", grid(rows))
    report = RecipientImporter(database).import_path(ENGINEER, "acme", path)
    assert (report.errors, report.duplicates, report.valid) == (400, 100, 300)
    assert len(report.problems) == 200
    assert report.more_problems == 200
    assert [p.row for p in report.problems] == list(range(2, 402, 2))  # the first by row


# --- files that cannot be imported ----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "needle"),
    [
        ("empty.csv", b"", "empty.csv is empty"),
        ("empty.xlsx", b"", "empty.xlsx is empty"),
        ("picture.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "is not a spreadsheet"),
        ("report.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n" + bytes(200), "not a spread"),
        ("random.xlsx", random.Random(6).randbytes(4096), "is named .xlsx but is not"),
        ("zip.xlsx", b"PK\x03\x04" + random.Random(7).randbytes(4096), "not a readable XLSX"),
        ("ole.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), "not a readable XLS"),
        ("noheader.csv", b"address,who\njane@acme.example,Jane\n", "No header cell"),
        ("header-only.csv", b"email,name\n\n,\n", "no rows under it"),
    ],
)
def test_what_cannot_be_imported_is_refused_and_changes_nothing(
    database: Database, tmp_path: Path, name: str, data: bytes, needle: str
) -> None:
    open_onboarding(database)
    importer = RecipientImporter(database)
    importer.import_path(ENGINEER, "acme", write(tmp_path / "first.csv", grid(GOOD)))
    before = batches(database)
    with refused(needle):
        importer.import_bytes(ENGINEER, "acme", data, name)
    assert batches(database) == before
    assert len(stored(database)) == 3


def test_an_onboarding_that_cannot_take_recipients_is_refused(
    database: Database, tmp_path: Path
) -> None:
    path = write(tmp_path / "r.csv", grid(GOOD))
    importer = RecipientImporter(database)
    open_onboarding(database, domains=None)
    with refused("answer the RFI's domains question first"):
        importer.import_path(ENGINEER, "acme", path)
    with refused("There is no onboarding acmee"):
        importer.import_path(ENGINEER, "acmee", path)
    open_onboarding(database, "beta", channel="C0BETA")
    OnboardingService(database).close(ENGINEER, "beta")
    with refused("beta is closed"):
        importer.import_path(ENGINEER, "beta", path)
    assert batches(database) == []


# --- replacing, atomically -------------------------------------------------------------------


def test_a_new_file_replaces_the_spreadsheet_set_and_keeps_the_directory_one(
    database: Database, tmp_path: Path
) -> None:
    open_onboarding(database)
    with database.session(write=True) as session:  # a directory sync's recipients
        batch = store.start_batch(session, onboarding_id=1, source="directory", created_by="U")
        assert batch.id is not None
        store.stage(session, batch.id, [store.StagedRow(1, "dir@acme.example", "Dir")])
        store.import_batch(session, batch.id, by="U", at=batch.created_at)
    importer = RecipientImporter(database)
    first = importer.import_path(ENGINEER, "acme", write(tmp_path / "a.xlsx", grid(GOOD)))
    rows = [("new@acme.example", "New"), ("jane@acme.example", "Jane S.")]
    second = importer.import_path(ENGINEER, "acme", write(tmp_path / "b.xls", grid(rows)))
    assert (second.imported, second.previous) == (2, 3)
    assert stored(database) == [
        ("dir@acme.example", "Dir", "directory"),
        ("jane@acme.example", "Jane S.", "spreadsheet"),
        ("new@acme.example", "New", "spreadsheet"),
    ]
    states = dict(batches(database))
    assert (states[first.batch_id], states[second.batch_id]) == ("replaced", "imported")
    with refused("has since been replaced"):
        importer.confirm(ENGINEER, first.batch_id)


def test_a_file_that_breaks_half_way_leaves_the_old_set_intact(
    database: Database, tmp_path: Path
) -> None:
    open_onboarding(database)
    importer = RecipientImporter(database)
    importer.import_path(ENGINEER, "acme", write(tmp_path / "a.csv", grid(GOOD)))
    # 30,000 good rows (staged in several chunks), then a cell larger than the CSV reader takes.
    rows = [(f"user{n}@acme.example", "U") for n in range(30_000)]
    rows.append(("late@acme.example", "x" * 200_000))
    path = write(tmp_path / "broken.csv", grid(rows))
    with refused("not readable as CSV"):
        importer.import_path(ENGINEER, "acme", path)
    with refused("not readable as CSV"):
        importer.import_valid_only(ENGINEER, "acme", path)
    assert [a for a, _, _ in stored(database)] == [
        "Raj.Patel@acme-corp.com",
        "bo@acme.example",
        "jane@acme.example",
    ]
    assert [state for _, state in batches(database)] == ["imported"]
    assert staging_rows(database) == 0


def test_valid_only_stages_and_imports_in_one_go(database: Database, tmp_path: Path) -> None:
    open_onboarding(database)
    path = write(tmp_path / "bad.xlsx", grid(bad_file_rows()))
    report = RecipientImporter(database).import_valid_only(ENGINEER, "acme", path)
    assert (report.state, report.imported, report.errors) == ("imported", 2, 7)
    assert len(stored(database)) == 2


# --- size -----------------------------------------------------------------------------------


HUGE = 50_000


@pytest.fixture(scope="module")
def huge_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """50,000 rows as CSV and XLSX, written once for the module (openpyxl takes a while)."""
    directory = tmp_path_factory.mktemp("huge")
    files = {}
    for suffix in (".csv", ".xlsx"):
        rows = (
            (f"user{n}@{'acme.example' if n % 2 else 'acme-corp.com'}", f"User {n}")
            for n in range(HUGE)
        )
        files[suffix] = write(directory / f"huge{suffix}", grid(rows))
    return files


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_huge_file_imports_whole(
    database: Database, huge_files: dict[str, Path], suffix: str
) -> None:
    open_onboarding(database)
    report = RecipientImporter(database).import_path(ENGINEER, "acme", huge_files[suffix])
    assert (report.state, report.rows, report.imported) == ("imported", HUGE, HUGE)
    with database.session() as session:
        half = HUGE // 2
        assert store.per_domain(session, 1) == {"acme.example": half, "acme-corp.com": half}
        assert store.count(session, 1, "spreadsheet") == HUGE


def python_peak(database: Database, path: Path) -> int:
    """Peak of Python's allocations while importing `path` (tracemalloc: deterministic)."""
    tracemalloc.start()
    try:
        RecipientImporter(database).import_valid_only(ENGINEER, "acme", path)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_file(database: Database, tmp_path: Path) -> None:
    open_onboarding(database)

    def rows(n: int) -> object:
        for i in range(n):  # a duplicate and a bad row now and then, as real files have
            yield ("oops" if i % 997 == 0 else f"u{i % (n - 50)}@acme.example", "Some Name")

    small = write(tmp_path / "small.csv", grid(rows(3_000)))  # type: ignore[arg-type]
    big = write(tmp_path / "big.csv", grid(rows(30_000)))  # type: ignore[arg-type]
    python_peak(database, small)  # warm-up: imports, caches, the statement cache
    small_peak, big_peak = python_peak(database, small), python_peak(database, big)
    # Ten times the rows, about the same peak: a few chunks of rows at a time, never the file.
    assert big_peak < small_peak * 1.5 + 256 * 1024, (small_peak, big_peak)


# --- the command line ------------------------------------------------------------------------


def run_cli(database: Database, *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CONNECT_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "import", *args],
        capture_output=True,
        text=True,
        env={**clean, "DATABASE_URL": database.url},
        timeout=60,
        check=False,
    )


def test_connect_bot_import_exit_codes(database: Database, tmp_path: Path) -> None:
    open_onboarding(database)
    good = write(tmp_path / "good.csv", grid(GOOD))
    done = run_cli(database, "acme", str(good))
    assert done.returncode == 0, done.stderr
    assert "imported 3 recipients for acme from good.csv (replacing 0)" in done.stdout

    bad = write(tmp_path / "bad.xlsx", grid(bad_file_rows()))
    done = run_cli(database, "acme", str(bad))
    assert done.returncode == 1, done.stderr
    assert "NOT imported: bad.xlsx has 7 problem rows" in done.stdout
    assert "  row 5: JANE@acme.example is listed more than once (first on row 2)" in done.stdout
    assert "  row 3: 'not-an-address' is not an email address" in done.stdout
    assert f"connect-bot import acme {bad} --valid-only" in done.stdout
    assert len(stored(database)) == 3  # the good file's set, untouched

    done = run_cli(database, "acme", str(bad), "--valid-only")
    assert done.returncode == 0, done.stderr
    assert "imported 2 recipients for acme from bad.xlsx (replacing 3)" in done.stdout
    assert len(stored(database)) == 2

    picture = tmp_path / "picture.xlsx"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    cases = [
        ("acme", str(picture)),  # not a spreadsheet
        ("nobody", str(good)),  # no such onboarding
        ("acme", str(tmp_path / "no")),  # no such file
        ("acme", str(tmp_path)),  # a directory
    ]
    for args in cases:
        done = run_cli(database, *args)
        assert done.returncode == 2, (args, done.stdout)
        assert done.stderr.startswith("connect-bot import: ")
        assert "Traceback" not in done.stderr


def test_connect_bot_import_stops_at_its_time_limit(database: Database, tmp_path: Path) -> None:
    open_onboarding(database)
    good = write(tmp_path / "good.csv", grid(GOOD))
    done = run_cli(database, "acme", str(good), "--time-limit", "0")
    assert done.returncode == 2, done.stdout
    assert done.stderr.startswith("connect-bot import: good.csv took more than 0 s to read"), (
        done.stderr
    )
    assert stored(database) == []


# --- several files, one list -----------------------------------------------------------------


def test_several_files_are_one_list_with_counts_per_file(
    database: Database, tmp_path: Path
) -> None:
    open_onboarding(database)
    importer = RecipientImporter(database)
    importer.import_path(ENGINEER, "acme", write(tmp_path / "old.csv", grid([GOOD[0]])))
    sales = write(tmp_path / "sales.xlsx", grid(GOOD[:2]))
    support = write(tmp_path / "support.csv", grid([("ops@acme.example", "Ops")], top=3))
    report = importer.import_paths(ENGINEER, "acme", [sales, support])
    assert (report.state, report.rows, report.valid, report.imported) == ("imported", 3, 3, 3)
    assert report.previous == 1  # the whole spreadsheet set is replaced by the union
    assert report.filename == "sales.xlsx and support.csv"
    assert [(f.name, f.rows, f.valid, f.errors, f.header) for f in report.files] == [
        ("sales.xlsx", 2, 2, 0, "A1"),
        ("support.csv", 1, 1, 0, "A4"),
    ]
    assert [a for a, _, _ in stored(database)] == [
        "Raj.Patel@acme-corp.com",
        "jane@acme.example",
        "ops@acme.example",
    ]


def test_duplicates_across_files_name_both_files_and_confirm_keeps_the_first(
    database: Database, tmp_path: Path
) -> None:
    open_onboarding(database)
    importer = RecipientImporter(database)
    first = grid([("jane@acme.example", "Jane"), ("bad", "X")])  # rows 2, 3
    second = grid([("ops@acme.example", "Ops"), ("JANE@acme.example", "Jane S.")])  # 2, 3
    # Two files of one message may share a name: each keeps its own rows.
    uploads = [
        ("team.csv", _bytes(tmp_path, "a.csv", first)),
        ("team.csv", _bytes(tmp_path, "b.csv", second)),
    ]
    report = importer.import_uploads(ENGINEER, "acme", uploads)
    assert (report.state, report.rows, report.valid, report.errors, report.duplicates) == (
        "staged", 4, 2, 2, 1,
    )  # fmt: skip
    assert [(p.file, p.row) for p in report.problems] == [("team.csv", 3), ("team.csv", 3)]
    assert report.problems[1].text == (
        "JANE@acme.example is listed more than once (first in team.csv row 2)"
    )
    assert [(f.valid, f.errors) for f in report.files] == [(1, 1), (1, 1)]
    assert staging_rows(database) == 3
    done = importer.confirm(ENGINEER, report.batch_id, "acme")
    assert done.imported == 2
    assert stored(database) == [
        ("jane@acme.example", "Jane", "spreadsheet"),
        ("ops@acme.example", "Ops", "spreadsheet"),
    ]


def _bytes(tmp_path: Path, name: str, cells: Iterable[list[str]]) -> bytes:
    return write(tmp_path / name, cells).read_bytes()


@pytest.mark.parametrize(
    ("name", "data", "needle"),
    [
        ("photo.xlsx", b"\x89PNG\r\n\x1a\n" + bytes(100), "photo.xlsx is named .xlsx"),
        ("noheader.csv", b"address,who\nx@acme.example,X\n", "noheader.csv: No header cell"),
        ("empty.csv", b"", "empty.csv is empty"),
        ("header-only.csv", b"email,name\n", "header-only.csv has the"),
    ],
)
def test_one_unreadable_file_refuses_the_whole_upload(
    database: Database, tmp_path: Path, name: str, data: bytes, needle: str
) -> None:
    open_onboarding(database)
    importer = RecipientImporter(database)
    importer.import_path(ENGINEER, "acme", write(tmp_path / "first.csv", grid(GOOD)))
    before = batches(database)
    good = _bytes(tmp_path, "good.csv", grid([("new@acme.example", "New")]))
    with refused(needle):
        importer.import_uploads(ENGINEER, "acme", [("good.csv", good), (name, data)])
    with refused("Nothing from this upload was imported"):
        importer.import_uploads(ENGINEER, "acme", [(name, data), ("good.csv", good)])
    assert batches(database) == before  # nothing staged, the staged batch of before kept
    assert staging_rows(database) == 0
    assert len(stored(database)) == 3


def test_a_failed_download_ends_the_upload_before_anything_is_staged(
    database: Database, tmp_path: Path
) -> None:
    open_onboarding(database)
    importer = RecipientImporter(database)

    def downloads() -> Iterator[tuple[str, bytes]]:
        yield "good.csv", _bytes(tmp_path, "good.csv", grid(GOOD))
        raise ConnectionError("the second file never came")

    with pytest.raises(ConnectionError):
        importer.import_uploads(ENGINEER, "acme", downloads())
    assert batches(database) == []
    assert stored(database) == []


def test_connect_bot_import_takes_several_files(database: Database, tmp_path: Path) -> None:
    open_onboarding(database)
    sales = write(tmp_path / "sales.csv", grid(GOOD[:2]))
    support = write(tmp_path / "support.csv", grid([("jane@acme.example", "Dup"), ("x", "X")]))
    done = run_cli(database, "acme", str(sales), str(support))
    assert done.returncode == 1, done.stderr
    assert "NOT imported: sales.csv and support.csv has 2 problem rows" in done.stdout
    assert "  support.csv row 2: jane@acme.example is listed more than once" in done.stdout
    assert f"connect-bot import acme {sales} {support} --valid-only" in done.stdout
    done = run_cli(database, "acme", str(sales), str(support), "--valid-only")
    assert done.returncode == 0, done.stderr
    assert "imported 2 recipients for acme from sales.csv and support.csv" in done.stdout
