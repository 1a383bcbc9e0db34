"""XLSX read as a stream: the first worksheet's rows as text cells, in memory that does not grow
with the file.

An XLSX file is a zip of XML parts. The first worksheet is found as Excel finds it (the first
`<sheet>` of the workbook, through the workbook's relationships), and it and the shared-strings
table are parsed with ElementTree's pull parser (expat), each element dropped once it has been
read. The shared-strings table holds every distinct text of the workbook (in a recipient list,
every address and every name), so it is what grows with the file: it is streamed into a
temporary SQLite file, and the strings are looked up a chunk of rows at a time while the sheet
is read.

The file is untrusted (uploaded from Slack), so:
- each part is read with a cap on its unpacked size (the zip's own claim and the bytes actually
  read), against zip bombs;
- a DOCTYPE is refused (ElementTree never fetches external entities and expat limits entity
  expansion, but a spreadsheet has no use for a DTD);
- no element is kept once read, nesting is bounded, and so is the text between two tags, so
  no shape of XML makes memory grow;
- anything malformed is `NotASpreadsheet`, naming the file and what is wrong with it.

Both the transitional namespaces (what Excel, LibreOffice and openpyxl write) and strict OOXML's
are read. Dates come out as the serial numbers they are stored as (styles are not read): the
recipient columns hold text.
"""

from __future__ import annotations

import functools
import posixpath
import sqlite3
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import IO
from xml.etree.ElementTree import Element, ParseError, XMLPullParser

from commands.recipients.spreadsheet import NotASpreadsheet

MAX_SHEET_BYTES = 1 << 30  # unpacked; 100,000 rows of addresses take about 10 MiB
MAX_STRINGS_BYTES = 256 << 20
MAX_PART_BYTES = 16 << 20  # the workbook and the relationship parts are a few KiB
MAX_TEXT_RUN = 1 << 20  # bytes between two tags: a cell holds at most 32,767 characters
MAX_DEPTH = 64  # a worksheet nests six deep
MAX_ROWS = 1_048_576  # Excel's last row
MAX_COLUMNS = 16_384  # Excel's last column, XFD
READ_BYTES = 1 << 16  # fed to the parser at a time
CHUNK_ROWS = 1_000  # rows whose shared strings are looked up in one query
INSERT_ROWS = 5_000  # shared strings written to SQLite per executemany

MAIN = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",  # strict OOXML
)
RELATIONSHIP_ID = tuple(
    f"{{{ns}}}id"
    for ns in (
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
        "http://purl.oclc.org/ooxml/officeDocument/relationships",
    )
)
DOCTYPES = (b"<!DOCTYPE", "<!DOCTYPE".encode("utf-16-le"), "<!DOCTYPE".encode("utf-16-be"))

Cell = str | int  # text, or the index of a shared string not looked up yet


def rows(path: Path, *, columns: int = MAX_COLUMNS) -> Iterator[list[str]]:
    """Each row of the first worksheet as text cells, column A at index 0 ("" for an empty
    cell). Rows missing from the file come out empty, so that counting rows gives the row
    numbers the spreadsheet program shows. Cells right of the first `columns` are not read."""
    name = path.name
    try:
        with (
            zipfile.ZipFile(path) as archive,
            tempfile.TemporaryDirectory(prefix="xlsx-") as scratch,
            SharedStrings(Path(scratch) / "strings.sqlite") as strings,
        ):
            book = _Book(archive, name)
            sheet, strings_part = book.first_sheet()
            if strings_part is not None:
                strings.load(_shared_strings(book.events(strings_part, MAX_STRINGS_BYTES)))
            raw = _sheet_rows(book.events(sheet, MAX_SHEET_BYTES), columns, name)
            yield from _resolved(raw, strings, name)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError) as exc:
        raise NotASpreadsheet(f"{name} is not a readable XLSX file ({exc}).") from None
    except NotImplementedError as exc:  # a compression method zipfile lacks (Deflate64)
        raise NotASpreadsheet(f"{name} is not a readable XLSX file ({exc}).") from None


class _Book:
    """The zip's parts, opened capped and parsed as events."""

    def __init__(self, archive: zipfile.ZipFile, name: str) -> None:
        self.archive = archive
        self.name = name

    def first_sheet(self) -> tuple[str, str | None]:
        """The first worksheet's part, and the shared strings' (None: the workbook has none)."""
        package = self.relationships("_rels/.rels", required=False)
        workbook = _target_of(package.values(), "officeDocument") or "xl/workbook.xml"
        first = self._first_sheet_id(workbook)
        links = self.relationships(_rels_part(workbook), required=True)
        if first not in links:
            raise NotASpreadsheet(
                f"{self.name} is not a readable XLSX file (its first sheet, {first[:40]!r}, "
                "is not among the workbook's relationships)."
            )
        strings = _target_of(links.values(), "sharedStrings")
        if strings is None and self._info("xl/sharedStrings.xml") is not None:
            strings = "xl/sharedStrings.xml"  # where every writer puts it, linked or not
        return links[first][1], strings

    def relationships(self, part: str, *, required: bool) -> dict[str, tuple[str, str]]:
        """Id -> (type, target part) of a relationships part."""
        if not required and self._info(part) is None:
            return {}
        found: dict[str, tuple[str, str]] = {}
        base = posixpath.dirname(posixpath.dirname(part))  # xl/_rels/x.rels -> xl
        for event, element in self.events(part, MAX_PART_BYTES):
            if event == "start" and _local(element.tag) == "Relationship":
                if element.get("TargetMode") == "External":
                    continue
                target = element.get("Target", "")
                found[element.get("Id", "")] = (element.get("Type", ""), _resolve(base, target))
        return found

    def _first_sheet_id(self, workbook: str) -> str:
        for event, element in self.events(workbook, MAX_PART_BYTES):
            if event == "start" and _local(element.tag) == "sheet":
                for attribute in RELATIONSHIP_ID:
                    if attribute in element.attrib:
                        return element.attrib[attribute]
                break
        raise NotASpreadsheet(f"{self.name} is not a readable XLSX file (it has no worksheet).")

    def events(self, part: str, cap: int) -> Iterator[tuple[str, Element]]:
        """The part's ("start", "end") events. Each element is dropped from its parent when it
        ends, so the tree holds only the path from the root: read attributes at "start"."""
        path: list[Element] = []  # the open elements
        with self._open(part, cap) as stream:
            # Untrusted XML, defended as the module says (no DOCTYPE, capped sizes).
            parser = XMLPullParser(events=("start", "end"))
            try:
                while chunk := stream.read(READ_BYTES):
                    parser.feed(chunk)
                    for event, element in parser.read_events():
                        if event == "start":
                            path.append(element)
                            if len(path) > MAX_DEPTH:
                                raise NotASpreadsheet(
                                    f"{self.name} is not a readable XLSX file ({part} nests "
                                    f"elements more than {MAX_DEPTH} deep)."
                                )
                        else:
                            path.pop()
                            if path:
                                path[-1].clear()
                        yield event, element
                parser.close()  # a part cut short is not well-formed
            except ParseError as exc:
                raise NotASpreadsheet(
                    f"{self.name} is not a readable XLSX file ({part} is not well-formed XML: "
                    f"{exc})."
                ) from None

    @contextmanager
    def _open(self, part: str, cap: int) -> Iterator[_Capped]:
        info = self._info(part)
        if info is None:
            raise NotASpreadsheet(
                f"{self.name} is not a readable XLSX file (it is a zip archive without {part}, "
                "so not an Excel workbook)."
            )
        if info.file_size > cap:
            raise NotASpreadsheet(_too_big(self.name, part, cap))
        if info.flag_bits & 0x1:  # zipfile would ask for a password
            raise NotASpreadsheet(f"{self.name} is not a readable XLSX file ({part} is encrypted).")
        with self.archive.open(info) as raw:
            yield _Capped(raw, cap, self.name, part)

    def _info(self, part: str) -> zipfile.ZipInfo | None:
        try:
            return self.archive.getinfo(part)
        except KeyError:  # part names are case-insensitive in the packaging standard
            wanted = part.lower()
            return next((i for i in self.archive.infolist() if i.filename.lower() == wanted), None)


class _Capped:
    """A part's bytes as the parser reads them: at most `cap`, no DOCTYPE, and no more than
    MAX_TEXT_RUN bytes between two tags (the parser would hold such a text whole)."""

    def __init__(self, raw: IO[bytes], cap: int, name: str, part: str) -> None:
        self.raw, self.cap, self.name, self.part = raw, cap, name, part
        self.read_so_far = 0
        self.tail = b""  # the end of the previous chunk, for a DOCTYPE split across two
        self.run = 0  # bytes since the last "<"

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size if size > 0 else READ_BYTES)
        self.read_so_far += len(data)
        if self.read_so_far > self.cap:  # the zip's size field lied
            raise NotASpreadsheet(_too_big(self.name, self.part, self.cap))
        window = self.tail + data
        if any(doctype in window for doctype in DOCTYPES):
            raise NotASpreadsheet(
                f"{self.name} is not a readable XLSX file ({self.part} has a DOCTYPE, which no "
                "spreadsheet needs; refused)."
            )
        self.tail = window[-20:]
        self._count_run(data)
        return data

    def _count_run(self, data: bytes) -> None:
        first = data.find(b"<")
        self.run += len(data) if first < 0 else first
        if self.run > MAX_TEXT_RUN:
            raise NotASpreadsheet(
                f"{self.name} is not a readable XLSX file ({self.part} has more than "
                f"{MAX_TEXT_RUN >> 20} MiB of text in one place; a cell holds 32,767 characters)."
            )
        if first >= 0:
            self.run = len(data) - data.rfind(b"<") - 1


def _too_big(name: str, part: str, cap: int) -> str:
    return (
        f"{name} is not a readable XLSX file ({part} unpacks to more than {cap >> 20:,} MiB, "
        "far more than a recipient list needs; refused as a possible zip bomb)."
    )


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _namespace(tag: str) -> str:
    return tag[1:].partition("}")[0] if tag.startswith("{") else ""


def _rels_part(part: str) -> str:
    directory, _, name = part.rpartition("/")
    return f"{directory}/_rels/{name}.rels" if directory else f"_rels/{name}.rels"


def _resolve(base: str, target: str) -> str:
    """A relationship's target as a part name: absolute ("/xl/...") or relative to `base`."""
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(base, target)).lstrip("/")


def _target_of(links: Iterable[tuple[str, str]], kind: str) -> str | None:
    """The first target whose relationship type ends in /kind (the transitional and the
    strict types differ only before it)."""
    return next((target for type_, target in links if type_.endswith(f"/{kind}")), None)


# --- shared strings ----------------------------------------------------------------------------


class SharedStrings:
    """The shared-strings table in a temporary SQLite file: index -> text."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-1024"):
            self.db.execute(f"PRAGMA {pragma}")  # scratch data: no journal, no fsync, 1 MiB
        self.db.execute("CREATE TABLE s (i INTEGER PRIMARY KEY, t TEXT NOT NULL)")
        self.count = 0

    def __enter__(self) -> SharedStrings:
        return self

    def __exit__(self, *_: object) -> None:
        self.db.close()

    def load(self, texts: Iterable[str]) -> None:
        batch: list[tuple[int, str]] = []
        for text in texts:
            batch.append((self.count, text))
            self.count += 1
            if len(batch) == INSERT_ROWS:
                self._insert(batch)
                batch = []
        self._insert(batch)

    def _insert(self, batch: list[tuple[int, str]]) -> None:
        self.db.execute("BEGIN")
        self.db.executemany("INSERT INTO s VALUES (?, ?)", batch)
        self.db.execute("COMMIT")

    def lookup(self, indices: set[int]) -> dict[int, str]:
        """The texts at `indices`; a missing one is left out (the caller says which)."""
        if not indices:
            return {}
        low, high = min(indices), max(indices)
        if high - low < 2 * len(indices) + 64:
            # Writers number strings in the order cells use them: one range scan, mostly
            query = "SELECT i, t FROM s WHERE i BETWEEN ? AND ?"
            return dict(self.db.execute(query, (low, high)))
        found: dict[int, str] = {}
        ordered = sorted(indices)
        for start in range(0, len(ordered), 500):  # under SQLite's limit on parameters
            some = ordered[start : start + 500]
            marks = ",".join("?" * len(some))  # parameters, never the values
            query = f"SELECT i, t FROM s WHERE i IN ({marks})"  # noqa: S608
            found.update(self.db.execute(query, some))
        return found


def _shared_strings(events: Iterator[tuple[str, Element]]) -> Iterator[str]:
    """Each <si>'s text: a plain <t>, or rich text's runs (<r><t>) joined; phonetic guides
    (<rPh>) left out, as the spreadsheet program shows the cell."""
    _, root = next(events)
    qualified = root.tag.rpartition("}")[0] + "}" if root.tag.startswith("{") else ""
    si, t, phonetic_tag = qualified + "si", qualified + "t", qualified + "rPh"
    parts: list[str] = []
    phonetic = 0
    for event, element in events:
        tag = element.tag
        if event == "start":
            if tag == si:
                parts = []
            elif tag == phonetic_tag:
                phonetic += 1
        elif tag == t:
            if not phonetic:
                parts.append(element.text or "")
        elif tag == si:
            yield "".join(parts)
        elif tag == phonetic_tag:
            phonetic -= 1


# --- the worksheet -------------------------------------------------------------------------


class _Tags:
    """The worksheet's element names, in its namespace."""

    def __init__(self, namespace: str) -> None:
        qualified = f"{{{namespace}}}"
        self.sheet_data = qualified + "sheetData"
        self.row = qualified + "row"
        self.c = qualified + "c"
        self.v = qualified + "v"
        self.inline = qualified + "is"
        self.t = qualified + "t"
        self.phonetic = qualified + "rPh"


class _CellReader:
    """One cell's parts as they stream past: its type, <v>, and inline string."""

    def __init__(self) -> None:
        self.column = -1
        self.kind: str | None = None
        self.value: str | None = None
        self.inline: list[str] = []
        self.phonetic = 0

    def start(self, column: int, kind: str | None) -> None:
        self.column, self.kind, self.value = column, kind, None
        self.inline = []

    def cell(self, name: str) -> Cell:
        kind, value = self.kind, self.value
        if kind == "inlineStr":
            return "".join(self.inline)
        if value is None:
            return ""
        if kind == "s":
            try:
                return int(value)
            except ValueError:
                raise NotASpreadsheet(
                    f"{name} is not a readable XLSX file (a shared-string cell holds "
                    f"{value[:20]!r})."
                ) from None
        if kind is None or kind == "n":
            return _number(value)
        if kind == "b":
            return "TRUE" if value.strip() == "1" else "FALSE"
        return value  # "str" (a formula's text), "e" (#N/A and the like), "d" (an ISO date)


def _sheet_rows(
    events: Iterator[tuple[str, Element]], columns: int, name: str
) -> Iterator[list[Cell]]:
    tags: _Tags | None = None
    number = 0  # the last row's number
    cells: list[Cell] = []
    cell = _CellReader()
    next_column = 0
    for event, element in events:
        tag = element.tag
        if tags is None:
            tags = _worksheet_tags(tag, name)
        elif event == "start":
            if tag == tags.c:
                column = _column(element.get("r"), next_column, name)
                next_column = column + 1
                cell.start(column, element.get("t"))
            elif tag == tags.row:
                row = _row_number(element.get("r"), number, name)
                for _ in range(row - number - 1):
                    yield []  # rows the file leaves out, so that counting gives the numbers
                number, cells, next_column = row, [], 0
            elif tag == tags.phonetic:
                cell.phonetic += 1
        elif tag == tags.v:
            cell.value = element.text
        elif tag == tags.t:
            if not cell.phonetic:
                cell.inline.append(element.text or "")
        elif tag == tags.c:
            if cell.column < columns:
                _place(cells, cell.column, cell.cell(name))
        elif tag == tags.phonetic:
            cell.phonetic -= 1
        elif tag == tags.row:
            yield cells
        elif tag == tags.sheet_data:
            return  # nothing after the cells matters


def _worksheet_tags(root: str, name: str) -> _Tags:
    namespace = _namespace(root)
    if _local(root) != "worksheet" or namespace not in MAIN:
        raise NotASpreadsheet(
            f"{name} is not a readable XLSX file (its first sheet is not a worksheet: "
            f"{_local(root)[:40]!r}, a chart sheet or a dialog sheet holds no rows)."
        )
    return _Tags(namespace)


def _place(cells: list[Cell], column: int, value: Cell) -> None:
    if value == "":
        return
    if column >= len(cells):
        cells.extend([""] * (column + 1 - len(cells)))
    cells[column] = value


def _row_number(reference: str | None, previous: int, name: str) -> int:
    if reference is None:
        return previous + 1
    try:
        number = int(reference)
    except ValueError:
        number = -1
    if not previous < number <= MAX_ROWS:
        # Rows in order and within Excel's sheet: the rows left out are then at most the
        # sheet's own 1,048,576, however the file numbers them.
        raise NotASpreadsheet(
            f"{name} is not a readable XLSX file (row number {reference[:20]!r} after row "
            f"{previous}: rows go in order, from 1 to {MAX_ROWS:,})."
        )
    return number


def _column(reference: str | None, following: int, name: str) -> int:
    """Column index (A = 0) of a cell reference such as "C5"; without one, the next cell."""
    if reference is None:
        return following
    try:
        return _letters(reference.rstrip("0123456789"))
    except ValueError:
        raise NotASpreadsheet(
            f"{name} is not a readable XLSX file (a cell is at {reference[:20]!r})."
        ) from None


@functools.lru_cache(maxsize=MAX_COLUMNS)
def _letters(letters: str) -> int:
    index = 0
    for letter in letters.upper():
        if not "A" <= letter <= "Z":
            raise ValueError(letters)
        index = index * 26 + ord(letter) - 64
    if not 1 <= index <= MAX_COLUMNS:
        raise ValueError(letters)
    return index - 1


def _number(value: str) -> str:
    """A number as the CSV and XLS readers give it: 5.0 is "5"."""
    try:
        number = float(value)
    except ValueError:
        return value
    return str(int(number)) if number.is_integer() else str(number)


def _resolved(raw: Iterator[list[Cell]], strings: SharedStrings, name: str) -> Iterator[list[str]]:
    """The rows with their shared strings looked up, CHUNK_ROWS rows per query."""
    while chunk := list(islice(raw, CHUNK_ROWS)):
        wanted = {c for row in chunk for c in row if type(c) is int}
        found = strings.lookup(wanted)
        if not wanted <= found.keys():
            missing = min(wanted - found.keys())
            raise NotASpreadsheet(
                f"{name} is not a readable XLSX file (a cell refers to shared string {missing}, "
                f"and the workbook has {strings.count:,})."
            )
        for row in chunk:
            yield [c if isinstance(c, str) else found[c] for c in row]
