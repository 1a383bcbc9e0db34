"""Recipient spreadsheets: generated CSV, XLSX and XLS files in the gateway's layout, and the
ways real files go wrong."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
import xlwt
from email_validator import EmailNotValidError, validate_email

from commands.recipients.spreadsheet import Addresses, NotASpreadsheet, check, read_cells

DOMAINS = ("acme.example", "acme-corp.com")
ROWS = [
    ("jane@acme.example", "Jane Smith"),
    ("Raj.Patel@ACME-CORP.COM", "Raj Patel"),
    ("bo@acme.example", ""),
]


def write(path: Path, grid: list[list[str]]) -> Path:
    """A file with `grid` (rows of cells) on its first sheet, in the format its suffix names."""
    if path.suffix == ".xlsx":
        book = openpyxl.Workbook()
        for row in grid:
            book.active.append(row)
        book.save(path)
    elif path.suffix == ".xls":
        book = xlwt.Workbook()
        sheet = book.add_sheet("Recipients")
        for r, row in enumerate(grid):
            for c, value in enumerate(row):
                sheet.write(r, c, value)
        book.save(str(path))
    else:
        path.write_text("\n".join(",".join(row) for row in grid) + "\n", encoding="utf-8")
    return path


def grid(rows: list[tuple[str, str]], *, top: int = 0, left: int = 0) -> list[list[str]]:
    pad = [""] * left
    return [[]] * top + [[*pad, "email", "name"]] + [[*pad, a, n] for a, n in rows]


def run(path: Path, domains: tuple[str, ...] = DOMAINS) -> tuple[object, list[object]]:
    checked, recipients = check(read_cells(path), domains)
    found = list(recipients)  # the stream must be read before the counts are complete
    return checked, found


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".xls"])
def test_each_format_reads_the_recipients(tmp_path: Path, suffix: str) -> None:
    checked, found = run(write(tmp_path / f"list{suffix}", grid(ROWS)))
    assert [(r.row, r.address, r.name) for r in found] == [
        (2, "jane@acme.example", "Jane Smith"),
        (3, "Raj.Patel@acme-corp.com", "Raj Patel"),  # the domain is lowercased, not the user
        (4, "bo@acme.example", None),
    ]
    assert checked.clean
    assert (checked.rows, checked.valid) == (3, 3)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".xls"])
def test_the_header_may_sit_anywhere_in_a1_to_m99(tmp_path: Path, suffix: str) -> None:
    path = write(tmp_path / f"odd{suffix}", grid(ROWS, top=40, left=7))
    checked, found = run(path)
    assert (checked.header_row, checked.header_column) == (41, 7)
    assert [r.row for r in found] == [42, 43, 44]


def test_a_header_beyond_m99_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotASpreadsheet, match="A1 to M99"):
        run(write(tmp_path / "far.xlsx", grid(ROWS, top=99)))
    with pytest.raises(NotASpreadsheet, match="A1 to M99"):
        run(write(tmp_path / "wide.xlsx", grid(ROWS, left=13)))


def test_bad_rows_are_named_by_row_and_the_good_ones_still_stream(tmp_path: Path) -> None:
    rows = [
        *ROWS,
        ("not-an-address", "Nobody"),
        ("", "Name without address"),
        ("jane@acme.example", "Jane again"),
        ("eve@elsewhere.example", "Eve"),
        ("", ""),  # an empty row is skipped, not an error
        ("sam@acme.example", "Sam"),
    ]
    checked, found = run(write(tmp_path / "bad.csv", grid(rows)))
    # A repeated address streams out too: the store finds duplicates once the rows are staged
    # (test_recipient_import.py), so that no set of addresses grows with the file here.
    assert [(r.row, r.address) for r in found] == [
        (2, "jane@acme.example"),
        (3, "Raj.Patel@acme-corp.com"),
        (4, "bo@acme.example"),
        (7, "jane@acme.example"),
        (10, "sam@acme.example"),
    ]
    problems = {e.row: e.problem for e in checked.listed_errors}
    assert sorted(problems) == [5, 6, 8]
    assert "is not an email address" in problems[5]
    assert "no address" in problems[6]
    assert "elsewhere.example is not one of the RFI's domains" in problems[8]
    assert (checked.errors, checked.valid) == (3, 5)
    assert checked.outside_domains == {"elsewhere.example": 1}
    assert not checked.clean


def test_semicolon_csv_as_excel_writes_it(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("email;name\r\njane@acme.example;Jane Smith\r\n".encode("cp1252"))
    _, found = run(path)
    assert [(r.address, r.name) for r in found] == [("jane@acme.example", "Jane Smith")]


@pytest.mark.parametrize(
    ("name", "data", "needle"),
    [
        ("empty.csv", b"", "No header cell"),
        ("picture.xlsx", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "is named .xlsx but is not"),
        ("picture.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "is not a spreadsheet"),
        ("broken.xlsx", b"PK\x03\x04 this is no zip", "not a readable XLSX"),
        ("broken.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "not a readable XLS"),
    ],
)
def test_what_is_not_a_spreadsheet_says_so(
    tmp_path: Path, name: str, data: bytes, needle: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(NotASpreadsheet, match=needle):
        run(path)


def test_a_big_file_streams(tmp_path: Path) -> None:
    rows = [(f"user{n}@acme.example", f"User {n}") for n in range(20_000)]
    checked, recipients = check(read_cells(write(tmp_path / "big.xlsx", grid(rows))), DOMAINS)
    count = sum(1 for _ in recipients)  # consumed one by one, never as a list
    assert count == checked.valid == 20_000
    assert checked.clean


SAMPLES = [
    "jane@acme.example",
    "Jane.Smith+news@ACME.example",
    "PostMaster@acme.example",  # email-validator lowercases the well-known mailbox names
    "Info@acme.example",
    "o'brien@acme.example",
    "a..b@acme.example",
    ".a@acme.example",
    "a.@acme.example",
    '"quoted name"@acme.example',
    '"a@b"@acme.example',
    "Jane <jane@acme.example>",
    "jane@acme.example>",
    "jane@@acme.example",
    "jane@",
    "@acme.example",
    "jane@-acme.example",
    "jane@acme..example",
    "jane@localhost",
    "jane@[127.0.0.1]",
    "jäne@acme.example",
    "jane@bücher.example",
    "Jane@XN--BCHER-KVA.EXAMPLE",
    "jane@xn--bcher-kva.example",
    "jane@中文.example",
    "x" * 64 + "@acme.example",
    "x" * 65 + "@acme.example",
    "x" * 240 + "@acme.example",
    "x" * 241 + "@acme.example",
    "x" * 230 + "@" + "bü" * 8 + ".example",
    "x" * 240 + "@" + "bü" * 4 + ".example",
    "jane@acme.example ",
]


def expected(raw: str) -> str | None:
    try:
        valid = validate_email(raw, check_deliverability=False)
    except EmailNotValidError:
        return None
    return f"{valid.local_part}@{valid.ascii_domain.lower()}"


def test_remembered_domains_give_email_validators_answer() -> None:
    """The fast path (a domain seen before) answers as email-validator does, for every sample,
    whichever samples came first."""
    addresses = Addresses()
    for raw in SAMPLES * 2 + SAMPLES[::-1]:  # each sample with its domain known and unknown
        try:
            got: str | None = addresses.normalise(raw)
        except EmailNotValidError:
            got = None
        assert got == expected(raw), raw
