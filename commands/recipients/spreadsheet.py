"""Recipient spreadsheets: CSV, XLSX and XLS in the gateway's layout, read and checked row by row.

The layout: a header row somewhere in rows 1 to 99 with an address cell and a name cell in
columns A to M, in either order and under common names (`Email`, `E-mail Address`, `Mail`;
`Name`, `Display Name`: commands/recipients/headers.py); the rows below it are recipients.
Every row is checked (address syntax with email-validator and no DNS, the domain among the
RFI's) and problems carry their row number, so the person can fix the file. Nothing here
remembers the rows already seen: duplicates are found by the store once the rows are staged
(store/recipients.py), so memory does not grow with the file.

CSV is read here, as a stream. XLSX and XLS are read by calamine (Rust), in a child process with
its own memory and CPU limits, because calamine on an untrusted file is not safe in the bot's
own process: it holds the sheet as a dense grid, so a few bytes naming a cell at XFD1048576 ask
it for 512 GiB and Rust aborts the process that cannot have them; and a read in Rust cannot be
stopped from Python when the import's time is up, while a child can be killed. Before calamine
opens an XLSX, the child refuses a zip whose parts would unpack past a bound or far past their
packed size (a zip bomb). The child writes the first columns of the first sheet as CSV to a
temporary file (of a bounded size), which is then read like any CSV.

Every read runs against a `Budget` (the import's time): the child gets what is left of it, and
the rows are checked against it as they stream, so a file that costs too much is stopped with a
clear message and nothing imported.
"""

from __future__ import annotations

import csv
import errno
import io
import logging
import math
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import (
    CASE_INSENSITIVE_MAILBOX_NAMES,
    DOT_ATOM_TEXT,
    EMAIL_MAX_LENGTH,
)

from commands.recipients.headers import SHOWN, Columns, find_columns

HEADER_ROWS = 99  # the header is looked for in rows 1 to 99 ...
HEADER_COLUMNS = 13  # ... and columns A to M
MAX_ERRORS_KEPT = 200  # every error is counted; the first ones are listed
MAX_NAME_CHARS = 256
MAX_OUTSIDE_DOMAINS = 100  # domains outside the RFI named in the report; the rest are counted
MAX_DOMAINS_REMEMBERED = 1_024  # valid domains whose verdict is reused (a file has a handful)
_LOWERCASED_MAILBOXES = frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)  # postmaster@ and the like

# Bounds for whatever reads a file. The largest real list is 100,000 rows: as XLSX that is a
# sheet of about 15 MiB packed about 10 to 1, read and imported in under 10 s.
BUDGET_SECONDS = 60.0  # an import's time, from its files being on disk to its rows staged
MAX_PART_BYTES = 64 << 20  # any part of an XLSX, unpacked
MAX_PACKING = 100  # unpacked size over packed size, for a part ...
PACKING_FROM = 1 << 20  # ... of more than 1 MiB (smaller ones cost nothing, however packed)
READER_MEMORY = 512 << 20  # the reader child's address space; 100,000 rows take about 40 MiB
READER_OUTPUT = 64 << 20  # the text it gives, as CSV; 100,000 rows give about 5 MiB
MAX_ROWS = 1_048_576  # Excel's last row
MAX_CELL_CHARS = 32_767  # what an Excel cell holds
CLOCK_EVERY = 1_000  # rows read between two looks at the budget
REFUSED = 3  # the reader child's exit code when it refuses the file (its reason on stderr)
OUT_OF_MEMORY = 4  # ... when Python's memory ran out (Rust aborts instead)
TOO_MUCH_TEXT = 5  # ... and when its output reached READER_OUTPUT

log = logging.getLogger(__name__)


class NotASpreadsheet(ValueError):
    """The file cannot be read as CSV, XLSX or XLS, or has no `email` header: says which."""


class OutOfTime(NotASpreadsheet):
    """The import's time budget ran out while this file was read."""


@dataclass
class Budget:
    """The time an import may take. Every reader of the import looks at this one clock, so
    several files share it, and so do the reading and the staging of their rows."""

    seconds: float = BUDGET_SECONDS
    started: float = field(default_factory=time.monotonic)

    def left(self) -> float:
        return self.seconds - (time.monotonic() - self.started)

    def check(self, name: str) -> None:
        if self.left() <= 0:
            raise self.spent(name)

    def spent(self, name: str) -> OutOfTime:
        return OutOfTime(
            f"{name} took more than {self.seconds:g} s to read, far longer than a list of "
            "100,000 recipients takes, so I stopped; nothing was imported. Split the list "
            "into smaller files, or save it as CSV."
        )


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
    header_column: int = 0  # the address header's (0 is column A)
    name_column: int = 1
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


def read_cells(
    path: Path, *, name: str | None = None, budget: Budget | None = None
) -> Iterator[list[str]]:
    """Each row of the first sheet as text cells (empty string for an empty cell), column A
    first and row 1 first, within `budget` (default: a budget of its own). `name` is the file's
    name as its owner knows it, for the format and the messages (default: the path's)."""
    name = name or path.name
    budget = budget or Budget()
    with path.open("rb") as handle:
        head = handle.read(4096)  # enough to tell text from binary, not just the magic
    kind = kind_of(name, head)
    rows = _csv_rows(path, name) if kind == "csv" else _workbook_rows(path, kind, name, budget)
    for count, row in enumerate(rows):
        if count % CLOCK_EVERY == 0:
            budget.check(name)
        yield row


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
        columns = find_columns(cells, HEADER_COLUMNS)
        if columns is not None:
            checked.header_row, checked.header_column = number, columns.address
            checked.name_column = columns.name
            return checked, _recipients(numbered, columns, wanted, checked)
    raise NotASpreadsheet(
        f"No header cells {SHOWN} in one row within A1 to M99: put them above the addresses "
        "and the names, in any order."
    )


def _recipients(
    numbered: Iterator[tuple[int, list[str]]],
    columns: Columns,
    domains: set[str],
    checked: Checked,
) -> Iterator[Recipient]:
    addresses = Addresses()
    at, named = columns.address, columns.name
    for number, cells in numbered:
        raw = cells[at].strip() if at < len(cells) else ""
        name = cells[named].strip() if named < len(cells) else ""
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


def _csv_rows(path: Path, name: str) -> Iterator[list[str]]:
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
            raise NotASpreadsheet(f"{name} is not readable as CSV: {exc}") from None


# --- XLSX and XLS: calamine in a child process ------------------------------------------------

# The child runs the project's own code, found where this file is, in an isolated interpreter
# (-I: no PYTHON* variables, no user site, not the working directory).
_CHILD = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from commands.recipients.spreadsheet import reader_child; "
    "sys.exit(reader_child(sys.argv[2:]))"
)
_ROOT = Path(__file__).resolve().parents[2]


def _workbook_rows(path: Path, kind: str, name: str, budget: Budget) -> Iterator[list[str]]:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        _run_reader(path, kind, name, budget, out, err)
        out.seek(0)
        yield from csv.reader(io.TextIOWrapper(out, encoding="utf-8", newline=""))


def _run_reader(
    path: Path, kind: str, name: str, budget: Budget, out: IO[bytes], err: IO[bytes]
) -> None:
    """Run the reader child on `path`, its rows into `out`; raise what it found wrong."""
    left = budget.left()
    if left <= 0:
        raise budget.spent(name)
    columns = HEADER_COLUMNS + 1  # the header's columns and the one right of them
    command = [sys.executable, "-I", "-X", "utf8", "-c", _CHILD, str(_ROOT)]
    command += [str(path), kind, name, str(columns), str(math.ceil(left))]
    try:
        done = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            # Nothing of the bot's environment (tokens, the database's URL) for a process that
            # parses untrusted bytes; and Rust's panic messages without a backtrace.
            env={"RUST_BACKTRACE": "0"},
            timeout=left,
            check=False,
        )
    except subprocess.TimeoutExpired:  # subprocess.run has killed it
        raise budget.spent(name) from None
    if done.returncode == 0:
        return
    err.seek(0)
    said = err.read(4096).decode("utf-8", "replace").strip()
    if done.returncode == REFUSED:
        raise NotASpreadsheet(said)
    if done.returncode == -signal.SIGXCPU:  # its own CPU limit, should the timeout not come
        raise budget.spent(name)
    if done.returncode in (OUT_OF_MEMORY, -signal.SIGABRT, -signal.SIGKILL):
        # Rust aborts when an allocation fails; the kernel's OOM killer kills.
        raise NotASpreadsheet(_too_big_to_read(name))
    if done.returncode == TOO_MUCH_TEXT:
        raise NotASpreadsheet(
            f"{name} holds more text than any recipient list (over {READER_OUTPUT >> 20} MiB "
            f"in its first {columns} columns). Keep only the list in the file, or save it as CSV."
        )
    log.warning("the spreadsheet reader stopped with exit code %s: %s", done.returncode, said)
    raise NotASpreadsheet(f"{name} is not a readable {kind.upper()} file (the reader stopped).")


def _too_big_to_read(name: str) -> str:
    return (
        f"{name} needs more than {READER_MEMORY >> 20} MiB to read, far more than a list of "
        "100,000 recipients: its sheet reaches far to the right or far down (one stray cell at "
        "XFD1048576 is enough). Delete what is outside the list, or save the list as CSV."
    )


def reader_child(args: Sequence[str]) -> int:
    """The reader child's main, given PATH KIND NAME COLUMNS SECONDS: writes the first COLUMNS
    columns of the first sheet to stdout as CSV and returns 0, or writes why the file is
    refused to stderr and returns REFUSED. Its limits are set before it reads anything."""
    import resource  # imported here: only the child limits itself

    path, kind, name, columns, seconds = args
    resource.setrlimit(resource.RLIMIT_AS, (READER_MEMORY, READER_MEMORY))
    cpu = int(seconds)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # should its parent be gone
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # an abort leaves no core file behind
    # One long shared string in many cells packs small and unpacks huge: a cap on the output
    # keeps /tmp from filling up.
    resource.setrlimit(resource.RLIMIT_FSIZE, (READER_OUTPUT, READER_OUTPUT))
    try:
        if kind == "xlsx":
            _check_zip(Path(path), name)
        # Its own stream on stdout: should the output's limit stop it, what is left in its
        # buffer is not sys.stdout's, which Python would try again at exit (and exit 120).
        with open(1, "w", encoding="utf-8", newline="", closefd=False) as out:
            _write_rows(Path(path), kind, name, int(columns), out)
    except NotASpreadsheet as exc:
        sys.stderr.buffer.write(str(exc).encode())
        return REFUSED
    except MemoryError:
        return OUT_OF_MEMORY
    except OSError as exc:
        if exc.errno == errno.EFBIG:  # RLIMIT_FSIZE (Python ignores SIGXFSZ, so no signal)
            return TOO_MUCH_TEXT
        raise
    return 0


def _check_zip(path: Path, name: str) -> None:
    """Refuse a zip bomb before calamine opens the file, from the sizes its parts declare:
    calamine's zip reader stops at a part's declared size, so no part gets past this by lying."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise NotASpreadsheet(f"{name} is not a readable XLSX file ({exc}).") from None
    if not any(part.filename.lower() == "xl/workbook.xml" for part in parts):
        raise NotASpreadsheet(
            f"{name} is a zip archive but not an Excel workbook (it has no xl/workbook.xml)."
        )
    for part in parts:
        size, packed, label = part.file_size, part.compress_size, part.filename[:60]
        if size > PACKING_FROM and size > MAX_PACKING * packed:
            raise NotASpreadsheet(
                f"{name} was not read: its part {label} unpacks to {_mib(size)} from "
                f"{_kib(packed)}, {size // max(packed, 1):,} times its packed size (a real "
                "spreadsheet's is about 10). That is a zip bomb's shape: save the list again "
                "from your spreadsheet program, or as CSV."
            )
        if size > MAX_PART_BYTES:
            raise NotASpreadsheet(
                f"{name} was not read: its part {label} unpacks to {_mib(size)}, where a list of "
                f"100,000 recipients takes about 15 MiB (at most {MAX_PART_BYTES >> 20} MiB is "
                "read). Keep only the list in the file, or save it as CSV."
            )


def _mib(size: int) -> str:
    return f"{size / (1 << 20):,.0f} MiB"


def _kib(size: int) -> str:
    return f"{size / 1024:,.0f} KiB"


def _write_rows(path: Path, kind: str, name: str, columns: int, out: IO[str]) -> None:
    """The first sheet's first `columns` columns, one CSV line a row, from row 1."""
    from python_calamine import CalamineWorkbook, SheetTypeEnum  # only the child needs it

    unreadable = f"{name} is not a readable {kind.upper()} file"
    try:
        book = CalamineWorkbook.from_path(str(path))
        if not book.sheets_metadata:
            raise NotASpreadsheet(f"{unreadable} (it has no sheet).")
        first = book.sheets_metadata[0]
        if first.typ != SheetTypeEnum.WorkSheet:  # the first tab, as Excel orders them
            what = str(first.typ).rpartition(".")[2].removesuffix("Sheet").lower()
            raise NotASpreadsheet(
                f"{name}: its first sheet, {first.name[:40]!r}, is a {what} sheet, which holds "
                "no rows. Move the recipient list to the first tab."
            )
        sheet = book.get_sheet_by_index(0)
        if sheet.end is not None and sheet.end[0] >= MAX_ROWS:
            raise NotASpreadsheet(
                f"{unreadable} (it has rows past row {MAX_ROWS:,}, Excel's last)."
            )
        # calamine gives every row from row 1, but each from the first column used: put the
        # cells back where they sit, so that the A1-M99 rule means what the person sees.
        left = min(sheet.start[1] if sheet.start is not None else 0, columns)
        writer = csv.writer(out)
        for values in sheet.iter_rows():
            writer.writerow([*[""] * left, *(_text(v) for v in values[: columns - left])])
    except (NotASpreadsheet, MemoryError):
        raise
    except OSError as exc:
        if exc.errno == errno.EFBIG:
            raise  # the output's limit: nothing wrong with the file's format
        raise NotASpreadsheet(f"{unreadable} ({str(exc)[:200]}).") from None
    except Exception as exc:  # calamine's errors all mean "not a readable workbook"
        raise NotASpreadsheet(f"{unreadable} ({str(exc)[:200]}).") from None
    except BaseException as exc:  # a Rust panic comes as pyo3's PanicException
        if isinstance(exc, (SystemExit, KeyboardInterrupt)):
            raise
        raise NotASpreadsheet(f"{unreadable} ({str(exc)[:200]}).") from None


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"  # as the spreadsheet program shows it
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    # No more than an Excel cell holds, and no NUL, which a CSV line cannot carry.
    return str(value)[:MAX_CELL_CHARS].replace("\x00", "")
