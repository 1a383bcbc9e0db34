"""Benchmark: reading and checking a recipient spreadsheet of 100,000 rows.

    .venv/bin/python tests/bench/bench_import.py [--rows 100000]

Writes a CSV and an XLSX file of N rows, and of N/10 to see whether memory grows with the
file, in a temporary directory. Each file is then streamed through the reader and the row checks
in a fresh process, which reports its time and its peak resident memory (ru_maxrss: Python's
and the XLSX reader's native memory alike), next to the same process's memory before reading.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DOMAINS = ("acme.example", "acme-corp.com")


def make(directory: Path, rows: int) -> tuple[Path, Path]:
    import openpyxl

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


def measure(path: Path) -> dict[str, float]:
    """Runs in the child: stream the file, report time and memory."""
    from commands.recipients.spreadsheet import check, read_cells

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    checked, recipients = check(read_cells(path), DOMAINS)
    count = sum(1 for _ in recipients)
    elapsed = time.perf_counter() - started
    assert count == checked.valid
    assert checked.clean
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "rows": count,
        "seconds": elapsed,
        "rss_before": before / 1024,
        "rss_peak": after / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    with tempfile.TemporaryDirectory(prefix="connect-import-") as tmp:
        for rows in (args.rows // 10, args.rows):
            for path in make(Path(tmp), rows):
                child = subprocess.run(
                    [sys.executable, __file__, "--measure", str(path)],
                    capture_output=True,
                    text=True,
                    check=True,
                    timeout=600,
                )
                m = json.loads(child.stdout)
                print(
                    f"{path.suffix[1:]:>4} {m['rows']:>7,.0f} rows: {m['seconds']:5.2f} s, "
                    f"{m['rows'] / m['seconds']:>8,.0f} rows/s, peak RSS {m['rss_peak']:6.1f} "
                    f"MiB (before reading {m['rss_before']:.1f} MiB)"
                )


if __name__ == "__main__":
    main()
