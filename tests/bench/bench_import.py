"""Benchmark: reading and checking a recipient spreadsheet of 100,000 rows.

    .venv/bin/python tests/bench/bench_import.py [--rows 100000]

Writes a CSV and an XLSX file of N rows (and of N/10, to see whether memory grows with the
file) in a temporary directory, then streams them through the reader and the row checks: once
for the time, and once more under tracemalloc (which slows Python several times over) for the
peak of Python's allocations.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from pathlib import Path

import openpyxl

from commands.recipients.spreadsheet import check, read_cells

DOMAINS = ("acme.example", "acme-corp.com")


def make(directory: Path, rows: int) -> tuple[Path, Path]:
    csv_path = directory / f"r{rows}.csv"
    with csv_path.open("w", encoding="utf-8") as handle:
        handle.write("email,name\n")
        for n in range(rows):
            handle.write(f"user{n}@{DOMAINS[n % 2]},User {n}\n")
    xlsx_path = directory / f"r{rows}.xlsx"
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["email", "name"])
    for n in range(rows):
        sheet.append([f"user{n}@{DOMAINS[n % 2]}", f"User {n}"])
    book.save(xlsx_path)
    return csv_path, xlsx_path


def stream(path: Path) -> int:
    checked, recipients = check(read_cells(path), DOMAINS)
    count = sum(1 for _ in recipients)
    assert count == checked.valid
    assert checked.clean
    return count


def measure(path: Path) -> tuple[float, float, int]:
    started = time.perf_counter()
    count = stream(path)
    elapsed = time.perf_counter() - started
    tracemalloc.start()
    stream(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return elapsed, peak / 2**20, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="connect-import-") as tmp:
        for rows in (args.rows // 10, args.rows):
            for path in make(Path(tmp), rows):
                elapsed, peak, count = measure(path)
                print(
                    f"{path.suffix[1:]:>4} {count:>7,} rows: {elapsed:5.2f} s, "
                    f"{count / elapsed:>8,.0f} rows/s, peak allocations {peak:6.1f} MiB"
                )


if __name__ == "__main__":
    main()
