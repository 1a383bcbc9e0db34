"""Recipient spreadsheets whose headers are in another order or under another common name
(issue 14, section 4): real CSV, XLSX and XLS files made with tests/support/recipients.py,
read by the real reader (the calamine child for workbooks) and imported into the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.recipients import ENGINEER, open_onboarding, stored, write

from commands.recipients.importer import RecipientImporter
from commands.recipients.spreadsheet import NotASpreadsheet, check, read_cells
from store.db import Database

FORMATS = [".csv", ".xlsx", ".xls"]
DOMAINS = ("acme.example",)
PEOPLE = [("jane@acme.example", "Jane Smith"), ("raj@acme.example", "Raj Patel")]


def sheet(
    address: str, name: str, *, name_first: bool, top: int = 0, left: int = 0, between: int = 0
) -> list[list[str]]:
    """A header row of `address` and `name` (in that order, or the name first, with `between`
    other columns between them) at row top+1, column left+1, and PEOPLE under it."""
    gap = ["Department"] + [""] * (between - 1) if between else []
    pad = [""] * left

    def row(a: str, n: str, g: list[str]) -> list[str]:
        return [*pad, *([n, *g, a] if name_first else [a, *g, n])]

    return [
        *([[]] * top),
        row(address, name, gap),
        *(row(a, n, ["Sales"] + [""] * (between - 1) if between else []) for a, n in PEOPLE),
    ]


@pytest.mark.parametrize("suffix", FORMATS)
@pytest.mark.parametrize(
    ("address", "name", "name_first"),
    [
        ("Email", "Name", False),
        ("E-mail Address", "Display Name", False),
        ("Mail", "Name", True),
        ("EMAIL_ADDRESS", "display name", True),
        ("Primary SMTP Address", "Display Name", True),
    ],
)
def test_headers_under_common_names_in_either_order_are_found(
    tmp_path: Path, suffix: str, address: str, name: str, name_first: bool
) -> None:
    grid = sheet(address, name, name_first=name_first, top=40, left=3, between=2)
    path = write(tmp_path / f"people{suffix}", grid)

    checked, streamed = check(read_cells(path), DOMAINS)
    found = [(r.row, r.address, r.name) for r in streamed]

    assert found == [(42, "jane@acme.example", "Jane Smith"), (43, "raj@acme.example", "Raj Patel")]
    # The address header's cell: D41 when it comes first, else after the name and the gap.
    assert (checked.header_row, checked.header_column) == (41, 3 if not name_first else 6)
    assert checked.clean


@pytest.mark.parametrize("suffix", FORMATS)
def test_an_import_keeps_the_display_names_whatever_the_order(
    database: Database, tmp_path: Path, suffix: str
) -> None:
    open_onboarding(database, domains="acme.example")
    path = write(
        tmp_path / f"export{suffix}",
        sheet("E-mail Address", "Display Name", name_first=True, top=2, left=1),
    )
    report = RecipientImporter(database).import_path(ENGINEER, "acme", path)
    assert (report.state, report.imported, report.header) == ("imported", 2, "C3")
    assert stored(database) == [
        ("jane@acme.example", "Jane Smith", "spreadsheet"),
        ("raj@acme.example", "Raj Patel", "spreadsheet"),
    ]


@pytest.mark.parametrize(
    ("grid", "why"),
    [
        pytest.param(sheet("Email", "Name", name_first=True, top=99), "row 100", id="row-100"),
        pytest.param(sheet("Email", "Name", name_first=True, left=12), "address in N", id="col-N"),
        pytest.param([["Email", "Phone"], ["jane@acme.example", "1"]], "no name", id="no-name"),
        pytest.param([["Address", "Name"], ["jane@acme.example", "J"]], "unknown", id="address"),
    ],
)
def test_headers_outside_a1_m99_or_unnamed_are_not_found(
    tmp_path: Path, grid: list[list[str]], why: str
) -> None:
    path = write(tmp_path / "far.xlsx", grid)
    with pytest.raises(NotASpreadsheet) as caught:
        check(read_cells(path), DOMAINS)
    said = str(caught.value)
    assert "A1 to M99" in said, why
    assert "`E-mail Address`" in said
    assert "`Display Name`" in said
