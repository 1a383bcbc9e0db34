"""Recipient spreadsheets: CSV, XLSX and XLS in the gateway's layout, read and checked row by row.

The layout: a header cell `email` somewhere in A1 to M99, with `name` directly to its right;
the rows below it are recipients. Every row is checked (address syntax with email-validator and
no DNS, the domain among the RFI's) and problems carry their row number, so the person can fix
the file. CSV and XLSX rows are read as a stream (XLSX by xlsx.py, whose shared strings wait
in a temporary SQLite file); XLS goes through calamine, which holds the sheet's cells (in Rust)
while they are read, bounded by the format's 65,536 rows. Nothing here remembers the rows
already seen: duplicates are found by the store once the rows are staged
(store/recipients.py), so memory does not grow with the file.
"""

from __future__ import annotations

import csv
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import (
    CASE_INSENSITIVE_MAILBOX_NAMES,
    DOT_ATOM_TEXT,
    EMAIL_MAX_LENGTH,
)

HEADER_ROWS = 99  # the header is looked for in rows 1 to 99 ...
HEADER_COLUMNS = 13  # ... and columns A to M
MAX_ERRORS_KEPT = 200  # every error is counted; the first ones are listed
MAX_NAME_CHARS = 256
MAX_OUTSIDE_DOMAINS = 100  # domains outside the RFI named in the report; the rest are counted
MAX_DOMAINS_REMEMBERED = 1_024  # valid domains whose verdict is reused (a file has a handful)
_LOWERCASED_MAILBOXES = frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)  # postmaster@ and the like


class NotASpreadsheet(ValueError):
    """The file cannot be read as CSV, XLSX or XLS, or has no `email` header: says which."""


@dataclass(frozen=True)
class Recipient:
    row: int  # 1-based, as the spreadsheet program shows it
    address: str  # normalised: the domain lowercased and in its ASCII form
    name: str | None


@dataclass(frozen=True)
class RowError:
    row: int
    problem: str


@dataclass
class Checked:
    """What a file holds: the good rows stream out; this collects the rest."""

    header_row: int = 0
    header_column: int = 0
    rows: int = 0  # data rows read (empty rows not counted)
    valid: int = 0  # rows that passed the row checks (duplicates among them are the store's)
    errors: int = 0
    listed_errors: list[RowError] = field(default_factory=list)
    outside_domains: dict[str, int] = field(default_factory=dict)  # domain -> rows
    outside_other: int = 0  # rows in further outside domains, beyond MAX_OUTSIDE_DOMAINS

    @property
    def clean(self) -> bool:
        """No row failed its own checks (duplicates are known only after staging)."""
        return self.errors == 0

    def outside(self, domain: str) -> None:
        if domain in self.outside_domains or len(self.outside_domains) < MAX_OUTSIDE_DOMAINS:
            self.outside_domains[domain] = self.outside_domains.get(domain, 0) + 1
        else:
            self.outside_other += 1  # a file of random domains must not grow this dict

    def problem(self, row: int, text: str) -> None:
        self.errors += 1
        if len(self.listed_errors) < MAX_ERRORS_KEPT:
            self.listed_errors.append(RowError(row, text))


def kind_of(filename: str, head: bytes) -> str:
    """ "csv", "xlsx" or "xls", from the content first (people rename files), then the name."""
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):  # the OLE2 container of .xls
        return "xls"
    suffix = Path(filename).suffix.lower()
    if suffix in (".xlsx", ".xls"):
        raise NotASpreadsheet(f"{filename} is named {suffix} but is not such a file.")
    if b"\x00" in head or not _looks_like_text(head):
        raise NotASpreadsheet(f"{filename} is not a spreadsheet (CSV, XLSX or XLS).")
    return "csv"


def _looks_like_text(head: bytes) -> bool:
    controls = sum(1 for byte in head if byte < 9 or 13 < byte < 32)
    return controls <= len(head) // 100  # a CSV has next to no control bytes


def read_cells(path: Path) -> Iterator[list[str]]:
    """Each row of the first sheet as text cells (empty string for an empty cell)."""
    with path.open("rb") as handle:
        head = handle.read(4096)  # enough to tell text from binary, not just the magic
    kind = kind_of(path.name, head)
    if kind in ("xlsx", "xls"):
        yield from _workbook_rows(path, kind)
    else:
        yield from _csv_rows(path)


def check(
    rows: Iterator[list[str]], domains: Collection[str]
) -> tuple[Checked, Iterator[Recipient]]:
    """Find the header, then stream the valid recipients; `Checked` fills in as they stream."""
    wanted = {d.lower().rstrip(".") for d in domains}
    checked = Checked()
    numbered = enumerate(rows, start=1)
    for number, cells in numbered:
        if number > HEADER_ROWS:
            break
        column = _header_column(cells)
        if column is not None:
            checked.header_row, checked.header_column = number, column
            return checked, _recipients(numbered, column, wanted, checked)
    raise NotASpreadsheet(
        "No header cell `email` (with `name` directly to its right) in A1 to M99: put the "
        "addresses under an `email` column and the names under `name` beside it."
    )


def _header_column(cells: Sequence[str]) -> int | None:
    for index, cell in enumerate(cells[:HEADER_COLUMNS]):
        right = cells[index + 1] if index + 1 < len(cells) else ""
        if cell.strip().lower() == "email" and right.strip().lower() == "name":
            return index
    return None


def _recipients(
    numbered: Iterator[tuple[int, list[str]]],
    column: int,
    domains: set[str],
    checked: Checked,
) -> Iterator[Recipient]:
    addresses = Addresses()
    for number, cells in numbered:
        raw = cells[column].strip() if column < len(cells) else ""
        name = cells[column + 1].strip() if column + 1 < len(cells) else ""
        if not raw and not name:
            continue  # an empty row is not an error
        checked.rows += 1
        if not raw:
            checked.problem(number, f"no address (the name is {name[:60]!r})")
            continue
        try:
            address = addresses.normalise(raw)
        except EmailNotValidError as exc:
            checked.problem(number, f"{raw[:80]!r} is not an email address: {exc}")
            continue
        domain = address.rpartition("@")[2]
        if domains and domain not in domains:
            checked.outside(domain)
            checked.problem(number, f"{address}: {domain} is not one of the RFI's domains")
            continue
        checked.valid += 1
        yield Recipient(number, address, name[:MAX_NAME_CHARS] or None)


class Addresses:
    """email-validator's verdict (no DNS), with each valid domain's result remembered.

    Checking the domain (IDNA, UTS-46) is most of email-validator's time, and a file repeats a
    handful of domains: an address whose part before the @ is a plain ASCII dot-atom (what
    email-validator itself passes through unchanged) and whose domain already passed is
    answered from memory; anything else goes through `validate_email` whole. The address comes
    back with its domain in lowercase A-label form, the form the RFI keeps its domains in
    (`normalized` would give an internationalised domain in Unicode).
    """

    def __init__(self) -> None:
        # domain as written -> (its A-label form, the longest of its forms in UTF-8 bytes)
        self._domains: dict[str, tuple[str, int]] = {}

    def normalise(self, raw: str) -> str:
        local, _, written = raw.rpartition("@")
        known = self._domains.get(written)
        if (
            known is not None
            # email-validator checks the address's length as written, with the Unicode and
            # with the A-label domain: `known[1]` is the longest of the three domains.
            and len(local) + 1 + known[1] <= EMAIL_MAX_LENGTH
            and DOT_ATOM_TEXT.match(local) is not None
            and local.lower() not in _LOWERCASED_MAILBOXES
        ):
            return f"{local}@{known[0]}"
        valid = validate_email(raw, check_deliverability=False)
        ascii_domain = valid.ascii_domain.lower()
        if len(self._domains) >= MAX_DOMAINS_REMEMBERED:
            self._domains.clear()  # bounded: a file of random domains must not grow this
        longest = max(len(written.encode()), len(valid.domain.encode()), len(ascii_domain))
        self._domains[written] = (ascii_domain, longest)
        return f"{valid.local_part}@{ascii_domain}"


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _csv_rows(path: Path) -> Iterator[list[str]]:
    with path.open("rb") as handle:
        sample = handle.read(65536)
    try:
        encoding = "utf-8-sig"
        sample.decode(encoding)
    except UnicodeDecodeError:
        encoding = "cp1252"  # what Excel writes for "CSV" on Western European Windows
    text = sample.decode(encoding, errors="replace")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    with path.open(encoding=encoding, errors="replace", newline="") as handle:
        try:
            yield from csv.reader(handle, dialect)
        except csv.Error as exc:
            raise NotASpreadsheet(f"{path.name} is not readable as CSV: {exc}") from None


def _workbook_rows(path: Path, kind: str) -> Iterator[list[str]]:
    if kind == "xlsx":
        from commands.recipients import xlsx  # imported here: it imports this module

        # Only the columns the header can be in, and the one to its right, are ever read.
        return xlsx.rows(path, columns=HEADER_COLUMNS + 1)
    return _xls_rows(path)


def _xls_rows(path: Path) -> Iterator[list[str]]:
    """XLS through calamine (Rust), which holds the sheet while it is read: an XLS sheet stops
    at 65,536 rows, so that is bounded."""
    from python_calamine import CalamineWorkbook  # imported here: CSV does without it

    try:
        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
        rows = sheet.iter_rows()
    except Exception as exc:  # calamine's errors all mean "not a readable workbook"
        raise NotASpreadsheet(f"{path.name} is not a readable XLS file ({exc}).") from None
    # calamine's rows start at row 1 but its columns at the first used one: put them back
    # where they sit, so that the A1-M99 rule means what the person sees.
    left = sheet.start[1] if sheet.start else 0
    pad = [""] * left
    for values in rows:
        yield [*pad, *(_text(v) for v in values)]


def read_bytes(data: bytes, filename: str, directory: Path) -> Iterator[list[str]]:
    """Rows of an uploaded file (the Files API gives bytes): written to `directory` first,
    since the XLSX and XLS readers want a file."""
    path = directory / Path(filename).name
    path.write_bytes(data)
    return read_cells(path)
