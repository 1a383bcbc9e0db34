"""Benchmark: importing a recipient spreadsheet of 100,000 rows, whole.

    .venv/bin/python tests/bench/bench_import.py [--rows 100000] [--no-postgres]

Writes a CSV and two XLSX files of N rows and of N/10 rows in a temporary directory: one XLSX
by openpyxl (every string inline in the sheet) and one by XlsxWriter (a shared-strings table, as
Excel writes it; labelled xlsx-sst). Each file
then goes through `RecipientImporter.import_path` (read, check each row, stage into the
database, find duplicates in SQL, import) in a fresh process, against SQLite (a new file) and
PostgreSQL (a new database at CONNECT_TEST_POSTGRES, default postgresql://postgres@127.0.0.1:5432/
test, as the tests use). The process reports the import's wall time and its peak resident memory
(ru_maxrss: Python's and the drivers' native memory alike) next to its peak before the import
began: the growth is what the import cost. XLSX is read by calamine in a reader child process
(commands/recipients/spreadsheet.py), whose own peak (interpreter, calamine and the sheet) is
reported beside it as "reader": memory the import takes too, for the time of the read. It is
measured by running the reader alone, as its own VmHWM: a child's ru_maxrss would start from
the parent's, which Linux carries across exec. Comparing N/10 and N rows shows whether memory
grows with the file. `--read-only` measures reading and checking alone.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
ADMIN_URL = os.environ.get("CONNECT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def make(directory: Path, rows: int) -> list[Path]:
    import xlsxwriter
    from support.recipients import grid, write

    def recipients() -> Iterator[tuple[str, str]]:
        domains = ("acme.example", "acme-corp.com")
        for n in range(rows):
            yield f"user{n}@{domains[n % 2]}", f"User {n}"

    shared = directory / f"r{rows}-sst.xlsx"
    book = xlsxwriter.Workbook(shared)
    sheet = book.add_worksheet("Recipients")
    for number, cells in enumerate(grid(recipients())):
        sheet.write_row(number, 0, cells)
    book.close()
    files = [
        write(directory / f"r{rows}{suffix}", grid(recipients())) for suffix in (".csv", ".xlsx")
    ]
    return [*files, shared]


def label(path: Path) -> str:
    return "xlsx-sst" if path.stem.endswith("-sst") else path.suffix[1:]


def made(directory: Path, rows: int) -> list[Path]:
    """`make` in a child process: Linux carries a process's peak RSS across exec, so a parent
    grown by writing the files would hide the measuring children's own growth."""
    command = [sys.executable, __file__, "--make", str(directory), "--rows", str(rows)]
    subprocess.run(command, check=True, timeout=600)
    stems = (f"r{rows}.csv", f"r{rows}.xlsx", f"r{rows}-sst.xlsx")
    return [directory / stem for stem in stems]


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# The reader child's own code, then its peak resident memory since exec, on stderr.
READER = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from commands.recipients.spreadsheet import reader_child; code = reader_child(sys.argv[2:]); "
    "print(next(l for l in open('/proc/self/status') if l.startswith('VmHWM:')), file=sys.stderr); "
    "sys.exit(code)"
)


def reader_peak(path: Path) -> float:
    """The reader child's peak resident memory (MiB) for `path`, run alone."""
    command = [sys.executable, "-I", "-c", READER, str(TESTS.parent), str(path), "xlsx"]
    command += [path.name, "14", "60"]
    done = subprocess.run(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True
    )
    return int(done.stderr.split()[-2]) / 1024  # "VmHWM:   45000 kB"


def measure(path: Path, url: str, read_only: bool) -> dict[str, float]:
    """Runs in the child: import the file (or only read and check it), report time and memory."""
    from support.recipients import open_onboarding

    from commands.core.context import Caller
    from commands.core.roles import Role
    from commands.recipients.importer import RecipientImporter
    from commands.recipients.spreadsheet import check, read_cells
    from store.db import Database

    db = Database(url)
    db.upgrade()
    open_onboarding(db)
    importer = RecipientImporter(db)
    before = peak_mib()
    started = time.perf_counter()
    if read_only:
        checked, recipients = check(read_cells(path), ("acme.example", "acme-corp.com"))
        rows = sum(1 for _ in recipients)
        assert checked.clean
    else:
        report = importer.import_path(Caller("U0BENCH", role=Role.ENGINEER), "acme", path)
        assert report.state == "imported", report
        rows = report.imported or 0
    elapsed = time.perf_counter() - started
    db.dispose()
    return {
        "rows": rows,
        "seconds": elapsed,
        "rss_before": before,
        "rss_peak": peak_mib(),
    }


@contextmanager
def database(kind: str, directory: Path) -> Iterator[str]:
    if kind == "sqlite":
        path = directory / f"{uuid.uuid4().hex}.db"
        yield f"sqlite:///{path}"
        path.unlink(missing_ok=True)
        return
    import psycopg

    name = f"connectbot_bench_{uuid.uuid4().hex[:8]}"
    admin_dsn = ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin_dsn.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--read-only", action="store_true", help="read and check, no database")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--make", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(TESTS))
    if args.make:
        make(args.make, args.rows)
        return
    if args.measure:
        print(json.dumps(measure(args.measure, args.url, args.read_only)))
        return
    kinds = ["sqlite"] if args.no_postgres or args.read_only else ["sqlite", "postgres"]
    with tempfile.TemporaryDirectory(prefix="connect-import-") as tmp:
        files = {rows: made(Path(tmp), rows) for rows in (args.rows // 10, args.rows)}
        what = "read+check" if args.read_only else "import"
        for kind in kinds:
            small, big = files[args.rows // 10], files[args.rows]
            for path in [f for pair in zip(small, big, strict=True) for f in pair]:
                with database(kind, Path(tmp)) as url:
                    child = subprocess.run(
                        [sys.executable, __file__, "--measure", str(path), "--url", url]
                        + (["--read-only"] if args.read_only else []),
                        capture_output=True,
                        text=True,
                        check=True,
                        timeout=600,
                    )
                m = json.loads(child.stdout)
                reader = f", reader {reader_peak(path):5.1f} MiB" if path.suffix == ".xlsx" else ""
                print(
                    f"{what} {kind:>8} {label(path):>8} {m['rows']:>7,.0f} rows: "
                    f"{m['seconds']:5.2f} s, {m['rows'] / m['seconds']:>7,.0f} rows/s, "
                    f"peak RSS {m['rss_peak']:6.1f} MiB, growth "
                    f"{m['rss_peak'] - m['rss_before']:5.1f} MiB{reader}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
