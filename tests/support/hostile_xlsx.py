"""XLSX files built to cost a reader time or memory, written with zipfile and hand-written XML
(no spreadsheet library writes these shapes): the usual workbook parts around a sheet or a
shared-strings table that a writer streams, so that a part of a GiB is never held in memory."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
PACKAGE = "http://schemas.openxmlformats.org/package/2006/relationships"
LINKS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
SHEET = "xl/worksheets/sheet1.xml"
STRINGS = "xl/sharedStrings.xml"

Writer = Callable[[Callable[[bytes], object]], None]  # streams a part through the given write


def workbook(path: Path, parts: dict[str, bytes | Writer], *, packed: bool = True) -> Path:
    """An XLSX with the usual workbook, relationships and content types, and `parts` (the
    sheet, the shared strings) as given: bytes, or a writer that streams them, so that a part
    of a GiB is never held in memory. `packed=False` stores the parts as they are."""
    strings = f'<Relationship Id="rId2" Type="{LINKS}/sharedStrings" Target="sharedStrings.xml"/>'
    usual: dict[str, bytes | Writer] = {
        "[Content_Types].xml": b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        b'content-types"/>',
        "_rels/.rels": f'<Relationships xmlns="{PACKAGE}"><Relationship Id="rId1" '
        f'Type="{LINKS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'.encode(),
        "xl/workbook.xml": f'<workbook xmlns="{MAIN}" xmlns:r="{LINKS}"><sheets><sheet '
        'name="Recipients" sheetId="1" r:id="rId1"/></sheets></workbook>'.encode(),
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{PACKAGE}"><Relationship '
        f'Id="rId1" Type="{LINKS}/worksheet" Target="worksheets/sheet1.xml"/>'
        f"{strings if STRINGS in parts else ''}</Relationships>".encode(),
    }
    method = zipfile.ZIP_DEFLATED if packed else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", method, compresslevel=9 if packed else None) as archive:
        for name, content in {**usual, **parts}.items():
            if isinstance(content, bytes):
                archive.writestr(name, content)
            else:
                with archive.open(name, "w") as part:
                    content(part.write)
    return path


def sheet(rows: bytes) -> bytes:
    return f'<worksheet xmlns="{MAIN}"><sheetData>'.encode() + rows + b"</sheetData></worksheet>"


def repeated(head: bytes, unit: bytes, size: int, tail: bytes) -> Writer:
    """A part of `size` bytes, give or take a unit: `unit` over and over between head and tail."""
    block = unit * max(1, (1 << 20) // len(unit))

    def write(out: Callable[[bytes], object]) -> None:
        out(head)
        whole, rest = divmod(size, len(block))
        for _ in range(whole):
            out(block)
        out(unit * (rest // len(unit)))
        out(tail)

    return write


SHEET_HEAD = f'<worksheet xmlns="{MAIN}"><sheetData>'.encode()
SHEET_TAIL = b"</sheetData></worksheet>"
EMPTY_ROW = b"<row>" + b"<c/>" * 1000 + b"</row>"


def empty_cells(path: Path) -> Path:
    """About 200 KB holding 100 MiB of empty cells."""
    return workbook(path, {SHEET: repeated(SHEET_HEAD, EMPTY_ROW, 100 << 20, SHEET_TAIL)})


def many_strings(path: Path) -> Path:
    """About 200 KB holding 15.8 million shared strings."""
    table = repeated(f'<sst xmlns="{MAIN}">'.encode(), b"<si/>", 15_800_000 * 5, b"</sst>")
    cell = sheet(b'<row r="1"><c r="A1" t="s"><v>0</v></c></row>')
    return workbook(path, {SHEET: cell, STRINGS: table})


def nearly_a_gib(path: Path) -> Path:
    """About 1.5 MB holding just under 1 GiB of sheet."""
    size = (1 << 30) - (1 << 20)
    return workbook(path, {SHEET: repeated(SHEET_HEAD, EMPTY_ROW, size, SHEET_TAIL)})
