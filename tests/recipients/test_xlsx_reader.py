"""Reading XLSX files (calamine, in the reader child of commands/recipients/spreadsheet.py): files
written by openpyxl (inline strings) and XlsxWriter (a shared-strings table, as Excel writes),
files written by hand where no library writes that shape, and broken uploads, each refused with
a message that names the file. The hostile shapes (zip bombs, sheets that ask for too much
memory or time) are in test_hostile_spreadsheets.py."""

from __future__ import annotations

import os
import re
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

from commands.recipients.spreadsheet import (
    HEADER_COLUMNS,
    MAX_CELL_CHARS,
    Budget,
    NotASpreadsheet,
    OutOfTime,
    check,
    read_cells,
)

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT = "http://purl.oclc.org/ooxml/spreadsheetml/main"
PACKAGE = "http://schemas.openxmlformats.org/package/2006/relationships"
LINKS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
STRICT_LINKS = "http://purl.oclc.org/ooxml/officeDocument/relationships"


def read(path: Path) -> list[list[str]]:
    """The rows as read, each without its empty cells at the end (the reader gives every row
    the sheet's width, which says nothing about the file)."""
    rows = []
    for row in read_cells(path):
        while row and row[-1] == "":
            row.pop()
        rows.append(row)
    return rows


def by_hand(
    path: Path,
    rows: str,
    *,
    shared: str | None = None,
    main: str = MAIN,
    links: str = LINKS,
    parts: dict[str, str | bytes] | None = None,
) -> Path:
    """A minimal XLSX written with zipfile: `rows` is the <sheetData>'s XML, `shared` the
    <sst>'s; `parts` adds or replaces parts."""
    shared_link = (
        f'<Relationship Id="rId2" Type="{links}/sharedStrings" Target="sharedStrings.xml"/>'
        if shared is not None
        else ""
    )
    files: dict[str, str | bytes] = {
        "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"/>',
        "_rels/.rels": f'<Relationships xmlns="{PACKAGE}"><Relationship Id="rId1" '
        f'Type="{links}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{main}" xmlns:r="{links}"><sheets>'
        '<sheet name="Recipients" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{PACKAGE}"><Relationship '
        f'Id="rId1" Type="{links}/worksheet" Target="worksheets/sheet1.xml"/>{shared_link}'
        "</Relationships>",
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{main}"><sheetData>{rows}</sheetData>'
        "</worksheet>",
    }
    if shared is not None:
        files["xl/sharedStrings.xml"] = f'<sst xmlns="{main}">{shared}</sst>'
    files.update(parts or {})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


# --- what writers write ----------------------------------------------------------------------


def test_sparse_cells_keep_their_columns_and_rows_left_out_come_back_empty(
    tmp_path: Path,
) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["A1"], sheet["C1"] = "a1", "c1"
    sheet["E4"] = "e4"  # rows 2 and 3 are not in the file at all
    book.save(tmp_path / "sparse.xlsx")
    assert read(tmp_path / "sparse.xlsx") == [["a1", "", "c1"], [], [], ["", "", "", "", "e4"]]


def test_a_header_at_f40_is_found_where_the_spreadsheet_program_shows_it(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["F40"], sheet["G40"] = "email", "name"
    sheet["F41"], sheet["G41"] = "jane@acme.example", "Jane"
    sheet["F45"] = "bo@acme.example"  # rows 42 to 44 left out
    book.save(tmp_path / "f40.xlsx")
    checked, recipients = check(read_cells(tmp_path / "f40.xlsx"), ["acme.example"])
    assert [(r.row, r.address, r.name) for r in recipients] == [
        (41, "jane@acme.example", "Jane"),
        (45, "bo@acme.example", None),
    ]
    assert (checked.header_row, checked.header_column) == (40, 5)


def test_shared_strings_and_rich_text_as_excel_writes_them(tmp_path: Path) -> None:
    path = tmp_path / "shared.xlsx"
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("Recipients")
    bold = book.add_format({"bold": True})
    sheet.write_row(0, 0, ["email", "name"])
    sheet.write_string(1, 0, "jane@acme.example")
    sheet.write_rich_string(1, 1, "Jane ", bold, "Smith", " Jr")
    sheet.write_row(2, 0, ["jane@acme.example", "email"])  # strings shared by two cells
    book.close()
    with zipfile.ZipFile(path) as archive:
        assert "xl/sharedStrings.xml" in archive.namelist()  # the table this reads
    assert read(path) == [
        ["email", "name"],
        ["jane@acme.example", "Jane Smith Jr"],
        ["jane@acme.example", "email"],
    ]


def test_phonetic_guides_are_not_part_of_the_text(tmp_path: Path) -> None:
    shared = (
        "<si><t>plain</t></si>"
        '<si><r><t>東京</t></r><r><rPr><b/></rPr><t xml:space="preserve"> 都</t></r>'
        "<rPh sb='0' eb='2'><t>トウキョウ</t></rPh><phoneticPr fontId='1'/></si>"
    )
    rows = '<row r="1"><c r="A1" t="s"><v>1</v></c><c r="B1" t="s"><v>0</v></c></row>'
    assert read(by_hand(tmp_path / "ruby.xlsx", rows, shared=shared)) == [["東京 都", "plain"]]


def test_inline_strings_plain_and_rich(tmp_path: Path) -> None:
    book = openpyxl.Workbook()  # openpyxl writes every string inline
    book.active.append(["email", CellRichText("Ja", TextBlock(InlineFont(b=True), "ne"))])
    book.save(tmp_path / "inline.xlsx")
    assert read(tmp_path / "inline.xlsx") == [["email", "Jane"]]
    rows = (
        '<row r="1"><c r="A1" t="inlineStr"><is><t>a@acme.example</t></is></c>'
        '<c r="B1" t="inlineStr"><is><r><t xml:space="preserve">A </t></r><r><t>B</t></r>'
        "<rPh><t>x</t></rPh></is></c></row>"
    )
    assert read(by_hand(tmp_path / "hand.xlsx", rows)) == [["a@acme.example", "A B"]]


def test_numbers_booleans_dates_formula_results_and_errors(tmp_path: Path) -> None:
    import datetime

    path = tmp_path / "types.xlsx"
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet()
    sheet.write_number(0, 0, 5.0)
    sheet.write_number(0, 1, 2.5)
    sheet.write_number(0, 2, 12345678901)
    sheet.write_boolean(0, 3, True)
    sheet.write_boolean(0, 4, False)
    sheet.write_formula(0, 5, '="jo"&"@acme.example"', None, "jo@acme.example")
    sheet.write_formula(0, 6, "=1+1", None, 2)
    sheet.write_datetime(
        0,
        7,
        datetime.datetime(2024, 1, 2, 3, 4, 5),
        book.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
    )
    sheet.write_formula(0, 8, "=1/0", None, "#DIV/0!")
    sheet.write_string(0, 9, "after the error")
    book.close()
    # A formula's cached result is read, a date as a date; calamine gives an error (#DIV/0!)
    # as an empty cell, so a row whose address is one says "no address".
    assert read(path) == [
        [
            "5",
            "2.5",
            "12345678901",
            "TRUE",
            "FALSE",
            "jo@acme.example",
            "2",
            "2024-01-02 03:04:05",
            "",
            "after the error",
        ]
    ]


def test_the_first_sheet_is_the_workbooks_first_not_the_zips(tmp_path: Path) -> None:
    other = f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is>'
    other += "<t>second sheet</t></is></c></row></sheetData></worksheet>"
    first = f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is>'
    first += "<t>first sheet</t></is></c></row></sheetData></worksheet>"
    path = by_hand(
        tmp_path / "order.xlsx",
        "",
        parts={
            "xl/workbook.xml": f'<workbook xmlns="{MAIN}" xmlns:r="{LINKS}"><sheets>'
            '<sheet name="Recipients" sheetId="2" r:id="rId7"/>'
            '<sheet name="Notes" sheetId="1" r:id="rId1"/></sheets></workbook>',
            "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{PACKAGE}">'
            f'<Relationship Id="rId1" Type="{LINKS}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId7" Type="{LINKS}/worksheet" '
            'Target="/xl/worksheets/recipients.xml"/></Relationships>',
            "xl/worksheets/sheet1.xml": other,  # first in the zip, second in the workbook
            "xl/worksheets/recipients.xml": first,
        },
    )
    assert read(path) == [["first sheet"]]


def test_of_two_sheets_written_by_a_library_the_first_is_read(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.title = "Notes"
    book.active["A1"] = "notes"
    recipients = book.create_sheet("Recipients")
    recipients.append(["email", "name"])
    book.move_sheet("Recipients", offset=-1)  # now the first tab
    book.save(tmp_path / "two.xlsx")
    assert read(tmp_path / "two.xlsx") == [["email", "name"]]


def test_strict_ooxml(tmp_path: Path) -> None:
    rows = '<row r="2"><c r="B2" t="s"><v>0</v></c><c r="C2"><v>7</v></c></row>'
    path = by_hand(
        tmp_path / "strict.xlsx",
        rows,
        shared="<si><t>strict</t></si>",
        main=STRICT,
        links=STRICT_LINKS,
    )
    assert read(path) == [[], ["", "strict", "7"]]


def test_part_names_are_case_insensitive(tmp_path: Path) -> None:
    links = (
        f'<Relationships xmlns="{PACKAGE}"><Relationship Id="rId1" Type="{LINKS}/worksheet" '
        'Target="Worksheets/SHEET1.xml"/></Relationships>'
    )
    rows = '<row r="1"><c r="A1"><v>1</v></c></row>'
    path = by_hand(tmp_path / "case.xlsx", rows, parts={"xl/_rels/workbook.xml.rels": links})
    assert read(path) == [["1"]]


def test_only_the_columns_the_header_can_be_in_are_read(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    for column in range(1, 21):  # A to T
        sheet.cell(row=1, column=column, value=f"c{column}")
    sheet["XFD2"] = "far right"
    book.save(tmp_path / "wide.xlsx")
    # A to M for the header, and N for the name right of a header in M.
    assert read(tmp_path / "wide.xlsx") == [[f"c{n}" for n in range(1, HEADER_COLUMNS + 2)], []]


def test_the_last_row_of_a_sheet_is_numbered_as_such(tmp_path: Path) -> None:
    rows = (
        '<row r="1"><c r="A1" t="inlineStr"><is><t>email</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>name</t></is></c></row>'
        '<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>z@acme.example</t></is></c></row>'
    )
    _, recipients = check(read_cells(by_hand(tmp_path / "last.xlsx", rows)), ["acme.example"])
    assert [r.row for r in recipients] == [1_048_576]


def test_a_cell_gives_no_more_than_an_excel_cell_holds(tmp_path: Path) -> None:
    text = os.urandom(3 << 19).hex()  # 3 MiB that do not pack like a zip bomb
    rows = f'<row r="1"><c t="inlineStr"><is><t>{text}</t></is></c></row>'
    assert read(by_hand(tmp_path / "long.xlsx", rows)) == [[text[:MAX_CELL_CHARS]]]


# --- broken files ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "needle"),
    [
        ('<row r="x"><c><v>1</v></c></row>', "row component"),
        ('<row r="1"><c r="1A"><v>1</v></c></row>', "alphanumeric"),
        ('<row r="1"><c r="A1" t="s"><v>3</v></c></row>', "shared strings"),
        ('<row r="1"><c r="A1"><v>1</v></row>', ""),  # not well-formed
        ('<row r="1048577"><c><v>1</v></c></row>', "rows past row 1,048,576, Excel's last"),
    ],
)
def test_malformed_sheets_are_refused_by_name(tmp_path: Path, rows: str, needle: str) -> None:
    path = by_hand(tmp_path / "bad.xlsx", rows, shared="<si><t>only</t></si>")
    with pytest.raises(
        NotASpreadsheet, match=re.escape("bad.xlsx is not a readable XLSX file (")
    ) as caught:
        read(path)
    assert needle in str(caught.value)


def test_a_truncated_zip_is_refused(tmp_path: Path) -> None:
    good = by_hand(tmp_path / "good.xlsx", '<row r="1"><c r="A1"><v>1</v></c></row>')
    data = good.read_bytes()
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(NotASpreadsheet, match=r"^cut.xlsx is not a readable XLSX file \("):
        read(cut)


def test_a_damaged_part_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "damaged.xlsx"
    by_hand(path, "".join(f'<row r="{n}"><c><v>{n}</v></c></row>' for n in range(1, 2000)))
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    data = bytearray(path.read_bytes())
    middle = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
    data[middle : middle + 16] = b"\xff" * 16  # the compressed stream, not the directory
    path.write_bytes(bytes(data))
    with pytest.raises(NotASpreadsheet, match=r"^damaged.xlsx is not a readable XLSX file \("):
        read(path)


def test_a_zip_that_is_not_a_workbook_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "photos.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("holiday.txt", "not a spreadsheet")
    with pytest.raises(
        NotASpreadsheet, match=re.escape("photos.xlsx is a zip archive but not an Excel workbook")
    ):
        read(path)


def test_a_chart_sheet_first_is_refused(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.append(["email", "name"])
    book.create_chartsheet("Sales chart", 0)  # the first tab
    book.save(tmp_path / "chart.xlsx")
    with pytest.raises(NotASpreadsheet) as caught:
        read(tmp_path / "chart.xlsx")
    assert str(caught.value) == (
        "chart.xlsx: its first sheet, 'Sales chart', is a chart sheet, which holds no rows. "
        "Move the recipient list to the first tab."
    )


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i else "&lol;" * 10}">' for i in range(9))
    + "]>"
)


@pytest.mark.parametrize("part", ["xl/worksheets/sheet1.xml", "xl/sharedStrings.xml"])
def test_an_xml_bomb_is_refused_without_expanding(tmp_path: Path, part: str) -> None:
    bomb = (
        f'{BILLION_LAUGHS}<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c t="inlineStr">'
        "<is><t>&lol8;</t></is></c></row></sheetData></worksheet>"
        if part.endswith("sheet1.xml")
        else f'{BILLION_LAUGHS}<sst xmlns="{MAIN}"><si><t>&lol8;</t></si></sst>'
    )
    rows = '<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
    path = by_hand(tmp_path / "bomb.xlsx", rows, shared="", parts={part: bomb})
    # Entities a DTD declares are not expanded: the reference is an error, not 3 GB of "lol".
    with pytest.raises(NotASpreadsheet, match=r"bomb.xlsx is not a readable XLSX file .*lol8"):
        read(path)


# --- the budget --------------------------------------------------------------------------------


def test_a_read_whose_budget_is_spent_stops(tmp_path: Path) -> None:
    path = by_hand(tmp_path / "ok.xlsx", '<row r="1"><c r="A1"><v>1</v></c></row>')
    with pytest.raises(OutOfTime, match=r"^ok.xlsx took more than 0 s to read"):
        read_cells(path, budget=Budget(0)).__next__()


def test_the_reader_child_is_stopped_when_the_budget_is_spent(tmp_path: Path) -> None:
    path = tmp_path / "big.xlsx"
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet()
    for n in range(100_000):  # about a second's reading, far more than the budget below
        sheet.write_row(n, 0, [f"user{n}@acme.example", f"User {n}", os.urandom(4).hex()])
    book.close()
    with pytest.raises(OutOfTime, match=r"^big.xlsx took more than 0.05 s to read"):
        read_cells(path, budget=Budget(0.05)).__next__()


# --- memory ------------------------------------------------------------------------------------


def python_peak(path: Path) -> int:
    """Peak of this process's Python allocations while reading `path` (tracemalloc:
    deterministic); the sheet itself is the reader child's."""
    tracemalloc.start()
    try:
        assert sum(1 for _ in read_cells(path)) > 0
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    def shared(name: str, rows: int) -> Path:
        book = xlsxwriter.Workbook(tmp_path / name)
        sheet = book.add_worksheet()
        sheet.write_row(0, 0, ["email", "name"])
        for n in range(rows):  # every address and name a distinct shared string
            sheet.write_row(n + 1, 0, [f"user{n}@acme.example", f"User {n}"])
        book.close()
        return tmp_path / name

    small, big = shared("small.xlsx", 3_000), shared("big.xlsx", 30_000)
    python_peak(small)  # warm-up: imports and caches
    small_peak, big_peak = python_peak(small), python_peak(big)
    # Ten times the rows and strings, about the same peak: the rows stream from the child's file.
    assert big_peak < small_peak * 1.5 + 256 * 1024, (small_peak, big_peak)
