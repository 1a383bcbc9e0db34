"""Importing a recipient spreadsheet: read, check, stage, find duplicates, import.

The rows stream from the file through the row checks into a staged batch (store/recipients.py),
so memory stays flat whatever the file's size; duplicates are then found in SQL. A clean file
(no row errors, no duplicates) is imported in the same transaction. Otherwise the batch stays
staged and the report lists the problems with their spreadsheet row numbers: nothing changes
until the person fixes the file or confirms importing only the valid rows (`confirm`), which
keeps the first row of each address. An import replaces the onboarding's spreadsheet
recipients in one transaction, so a failure leaves the previous set as it was.

Several files shared in one message are one recipient list (sales and support kept apart by
whoever wrote them): they are checked file by file and staged into one batch, so duplicates
across files are found like any other, and the report and its buttons cover them all. A file
that cannot be read refuses the whole upload: half a list would replace the whole one.

An import has a time budget (spreadsheet.Budget), from its files being on disk to its rows
staged: when it is spent the import stops with a message naming the file, and the transaction
that staged its rows rolls back, so nothing is stored.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session

from commands.core import audit
from commands.core.access import find_onboarding
from commands.core.context import Caller, Refused
from commands.core.text import Code, Text
from commands.recipients.spreadsheet import (
    BUDGET_SECONDS,
    MAX_ERRORS_KEPT,
    MAX_OUTSIDE_DOMAINS,
    Budget,
    Checked,
    NotASpreadsheet,
    Recipient,
    check,
    read_cells,
)
from commands.recipients.uploads import upload_target
from commands.rfi.service import rfi_domains
from store import recipients as store
from store.db import Database
from store.models import Onboarding, RecipientBatch, utcnow

SOURCE = "spreadsheet"
MAX_FILENAME_CHARS = 120


@dataclass(frozen=True)
class Problem:
    row: int  # as the spreadsheet program shows it (1-based)
    text: str
    file: str = ""  # the file's name when the upload had several; "" for a single file


@dataclass(frozen=True)
class FileCounts:
    """One file of an upload of several: its share of the report's counts."""

    name: str
    rows: int
    valid: int  # its rows that would be imported (a duplicate counts in the later file)
    errors: int
    header: str


@dataclass(frozen=True)
class ImportReport:
    """What an import did, or would do once confirmed. `state` is "imported" (the recipients
    are stored), "staged" (problems found: waiting for a fixed file or a confirmation) or
    "discarded"."""

    key: str
    filename: str
    batch_id: int
    state: str
    rows: int  # data rows read (empty rows not counted)
    valid: int  # unique valid addresses: those imported, or that a confirmation would import
    imported: int | None  # stored by this import; None while staged or discarded
    errors: int  # rows refused, duplicates included
    duplicates: int
    problems: tuple[Problem, ...]  # the first MAX_ERRORS_KEPT, by row
    more_problems: int  # errors not listed
    outside_domains: Mapping[str, int] = field(default_factory=dict)  # domain -> rows
    outside_other: int = 0  # rows in further outside domains, not named
    previous: int = 0  # spreadsheet recipients stored before (replaced by an import)
    header: str = ""  # where the `email` header was found, e.g. "F37" (one file)
    files: tuple[FileCounts, ...] = ()  # each file's counts when the upload had several
    public = True

    @property
    def clean(self) -> bool:
        return self.errors == 0


class RecipientImporter:
    def __init__(
        self, db: Database, *, workdir: Path | None = None, seconds: float = BUDGET_SECONDS
    ) -> None:
        self.db = db
        self.workdir = workdir  # where uploaded bytes are written for the readers (else /tmp)
        self.seconds = seconds  # each import's time budget

    # --- entry points ----------------------------------------------------------------------

    def upload_target(self, channel_id: str, thread_ts: str, ts: str) -> str | None:
        """The onboarding a file uploaded in this thread is for (once per upload)."""
        return upload_target(self.db, channel_id, thread_ts, ts)

    def check_target(self, caller: Caller, key: str | None) -> None:
        """Refuse as an import into `key` would (closed, not theirs...), before anything is
        downloaded for it."""
        with self.db.session() as session:
            _open_onboarding(session, caller, key)

    def import_path(
        self, caller: Caller, key: str | None, path: Path, *, filename: str | None = None
    ) -> ImportReport:
        """Import the file at `path` (`filename`: the name to show, default the path's)."""
        return self._import(caller, key, [(path, filename or path.name)], valid_only=False)

    def import_paths(
        self, caller: Caller, key: str | None, paths: Sequence[Path], *, valid_only: bool = False
    ) -> ImportReport:
        """Import several files as one recipient list (`valid_only`: as import_valid_only)."""
        return self._import(caller, key, [(p, p.name) for p in paths], valid_only=valid_only)

    def import_files(
        self, caller: Caller, key: str | None, files: Iterable[tuple[Path, str]]
    ) -> ImportReport:
        """Import the files of one upload, (path, name its owner gave it) each, as one
        recipient list. The iterable is taken once the onboarding is known to take recipients,
        one file at a time: a lazy one (downloads) fetches each only then, and whatever it
        raises (a failed download) ends the import before anything is staged."""
        named = ((path, safe_filename(name)) for path, name in files)
        return self._import(caller, key, named, valid_only=False)

    def import_bytes(
        self, caller: Caller, key: str | None, data: bytes, filename: str
    ) -> ImportReport:
        """Import a file given as bytes."""
        return self.import_uploads(caller, key, [(filename, data)])

    def import_uploads(
        self, caller: Caller, key: str | None, uploads: Iterable[tuple[str, bytes]]
    ) -> ImportReport:
        """Import files given as (name, bytes), as import_files does: each is written to a
        scratch folder (`workdir`) as it comes."""
        with self._scratch() as directory:

            def written() -> Iterator[tuple[Path, str]]:
                for index, (filename, data) in enumerate(uploads):
                    path = directory / f"{index}.upload"
                    path.write_bytes(data)
                    yield path, filename

            return self.import_files(caller, key, written())

    def import_valid_only(
        self, caller: Caller, key: str | None, path: Path, *, filename: str | None = None
    ) -> ImportReport:
        """Stage the file, then import its valid rows at once (the CLI's --valid-only)."""
        return self._import(caller, key, [(path, filename or path.name)], valid_only=True)

    def confirm(self, caller: Caller, batch_id: int, key: str | None = None) -> ImportReport:
        """Import the valid rows of a staged batch (the first row of each address)."""
        with self.db.session(write=True) as session:
            onboarding, batch = self._staged(session, caller, key, batch_id, verb="import")
            if batch.valid == 0:
                raise Refused(
                    Text(
                        "{filename} has no valid rows, so there is nothing to import; fix the "
                        "file and upload it again.",
                        filename=batch.filename or "The file",
                    )
                )
            return self._store(session, onboarding, batch, caller.user_id)

    def discard(self, caller: Caller, batch_id: int, key: str | None = None) -> ImportReport:
        """Drop a staged batch; the stored recipients stay as they are."""
        with self.db.session(write=True) as session:
            onboarding, batch = self._staged(session, caller, key, batch_id, verb="import")
            assert batch.id is not None
            assert onboarding.id is not None
            store.discard(session, batch.id)
            batch.state = "discarded"
            discarded = audit.RecipientsDiscarded(batch.id, batch.filename)
            audit.record(session, onboarding.id, caller.user_id, discarded)
            return _report(onboarding, batch, previous=store.count(session, onboarding.id, SOURCE))

    # --- the work --------------------------------------------------------------------------

    def _import(
        self,
        caller: Caller,
        key: str | None,
        given: Iterable[tuple[Path, str]],
        *,
        valid_only: bool,
    ) -> ImportReport:
        """Check and stage the files ((path, name to show) each) as one batch; import it if
        clean."""
        with self.db.session() as session:
            onboarding = _open_onboarding(session, caller, key)
            domains = rfi_domains(session, onboarding)
            onboarding_key = onboarding.key
        files = list(given)  # downloads come here, before the budget starts
        if not files:
            raise Refused(Text("No file to import."))
        budget = Budget(self.seconds)
        several = len(files) > 1
        names = [name for _, name in files]
        # Every file is opened and its header found (an XLSX or XLS is read whole by the reader
        # child here) before the write transaction: a file that cannot be read refuses the
        # upload before anything is staged, and a slow read does not hold the write lock.
        opened = [_open(path, name, domains, several, budget) for path, name in files]
        filename = _joined(names)
        with self.db.session(write=True) as session:
            # Looked up again: it may have closed while the files were being opened.
            onboarding = _open_onboarding(session, caller, onboarding_key, for_update=True)
            assert onboarding.id is not None
            batch = store.start_batch(
                session,
                onboarding_id=onboarding.id,
                source=SOURCE,
                created_by=caller.user_id,
                filename=filename[:255],
            )
            assert batch.id is not None
            _discard_older(session, onboarding.id, batch.id)
            # A Refused raised while a file streams rolls the whole batch back.
            staged = store.stage(
                session,
                batch.id,
                (
                    row
                    for index, (name, _, recipients) in enumerate(opened)
                    for row in _staged_rows(index, name, recipients, several)
                ),
            )
            for name, checked, _ in opened:
                if checked.rows == 0:
                    empty = Text(
                        "{filename} has the {email} header (at {cell}) but no rows under it: "
                        "nothing to import.",
                        filename=name,
                        email=Code("email"),
                        cell=_cell(checked),
                    )
                    raise Refused(_whole_upload(empty, several))
            _record_checks(session, batch, [(name, checked) for name, checked, _ in opened], staged)
            if batch.errors == 0 or valid_only:
                if batch.valid == 0:
                    raise Refused(
                        Text(
                            "{filename} has no valid rows ({errors} with problems): nothing "
                            "to import.",
                            filename=filename,
                            errors=batch.errors,
                        )
                    )
                return self._store(session, onboarding, batch, caller.user_id)
            assert batch.id is not None
            event = audit.RecipientsStaged(batch.id, filename, batch.errors)
            audit.record(session, onboarding.id, caller.user_id, event)
            return _report(onboarding, batch, previous=store.count(session, onboarding.id, SOURCE))

    def _store(
        self, session: Session, onboarding: Onboarding, batch: RecipientBatch, user_id: str
    ) -> ImportReport:
        """Replace the onboarding's spreadsheet recipients with the batch (caller's transaction)."""
        assert onboarding.id is not None
        assert batch.id is not None
        now = utcnow()
        previous = store.count(session, onboarding.id, SOURCE)
        imported = store.import_batch(session, batch.id, by=user_id, at=now)
        done = audit.RecipientsImported(batch.id, batch.filename, imported, previous, batch.errors)
        audit.record(session, onboarding.id, user_id, done, at=now)
        return _report(onboarding, batch, previous=previous, imported=imported)

    def _staged(
        self, session: Session, caller: Caller, key: str | None, batch_id: int, *, verb: str
    ) -> tuple[Onboarding, RecipientBatch]:
        onboarding = _open_onboarding(session, caller, key, verb=verb, for_update=True)
        batch = store.batch(session, batch_id)
        if batch is None or batch.onboarding_id != onboarding.id or batch.source != SOURCE:
            raise Refused(
                Text(
                    "There is no staged spreadsheet {batch} for {key}.",
                    batch=str(batch_id),
                    key=onboarding.key,
                )
            )
        if batch.state != "staged":
            done = {
                "imported": "was already imported",
                "replaced": "was imported and has since been replaced by a newer file",
                "discarded": "was discarded (a newer file was uploaded, or someone discarded it)",
            }.get(batch.state, f"is {batch.state}")
            raise Refused(
                Text(
                    "{filename} {done}; nothing changed. Upload the file again to import it.",
                    filename=batch.filename or f"Spreadsheet {batch_id}",
                    done=done,
                )
            )
        return onboarding, batch

    @contextmanager
    def _scratch(self) -> Iterator[Path]:
        if self.workdir is not None:
            self.workdir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="import-", dir=self.workdir) as directory:
            yield Path(directory)


def safe_filename(filename: str) -> str:
    """A name to write an upload under and to show: no directories, no odd characters."""
    name = Path(filename.replace("\\", "/")).name
    name = re.sub(r"[^\w.\- ()]", "_", name).strip(" .")
    return name[-MAX_FILENAME_CHARS:] or "upload"


def _open_onboarding(
    session: Session,
    caller: Caller,
    key: str | None,
    *,
    verb: str = "import",
    for_update: bool = False,
) -> Onboarding:
    onboarding = find_onboarding(session, caller, key, verb=verb, for_update=for_update)
    if onboarding.closed_at is not None:
        raise Refused(
            Text("{key} is closed; its recipients can no longer change.", key=onboarding.key)
        )
    return onboarding


def _discard_older(session: Session, onboarding_id: int, newest: int) -> None:
    """One staged file per onboarding: a new upload drops the staging rows of earlier ones, which
    would otherwise wait in the database for a confirmation that never comes."""
    for older in store.staged_batches(session, onboarding_id, SOURCE):
        if older.id is not None and older.id != newest:
            store.discard(session, older.id)


def _open(
    path: Path, name: str, domains: Collection[str], several: bool, budget: Budget
) -> tuple[str, Checked, Iterator[Recipient]]:
    """Open one file and find its header; its rows stream later, into the batch."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise Refused(
            _whole_upload(
                Text("{path} cannot be read: {why}.", path=str(path), why=str(exc.strerror)),
                several,
            )
        ) from None
    if size == 0:
        raise Refused(
            _whole_upload(
                Text(
                    "{filename} is empty. Put the addresses under an {email} header with {name} "
                    "directly to its right (anywhere in A1 to M99), one recipient per row.",
                    filename=name,
                    email=Code("email"),
                    name=Code("name"),
                ),
                several,
            )
        )
    try:
        checked, recipients = check(read_cells(path, name=name, budget=budget), domains)
    except NotASpreadsheet as exc:
        raise Refused(_unreadable(name, exc, several)) from None
    except OSError as exc:
        raise Refused(_cannot_read(name, exc, several)) from None
    return name, checked, recipients


def _staged_rows(
    index: int, name: str, recipients: Iterator[Recipient], several: bool
) -> Iterator[store.StagedRow]:
    """A file's recipients as staging rows; a file that breaks half-way is named."""
    try:
        for r in recipients:
            yield store.StagedRow(r.row, r.address, r.name, file=index)
    except NotASpreadsheet as exc:
        raise Refused(_unreadable(name, exc, several)) from None
    except OSError as exc:  # a directory, no permission, a disk that failed mid-way
        raise Refused(_cannot_read(name, exc, several)) from None


def _unreadable(name: str, exc: NotASpreadsheet, several: bool) -> Text:
    problem = str(exc)
    # Most reader messages name the file already; the header one does not.
    text = (
        Text("{problem}", problem=problem)
        if name in problem
        else Text("{filename}: {problem}", filename=name, problem=problem)
    )
    return _whole_upload(text, several)


def _cannot_read(name: str, exc: OSError, several: bool) -> Text:
    return _whole_upload(
        Text("{filename} cannot be read: {why}.", filename=name, why=str(exc.strerror)), several
    )


def _whole_upload(text: Text, several: bool) -> Text:
    """One file of several failed: say that the others were not imported either."""
    if not several:
        return text
    return Text(
        "{problem} Nothing from this upload was imported: fix that file and share all of them "
        "again in one message.",
        problem=text,
    )


def _joined(names: Sequence[str]) -> str:
    """ "a.csv", "a.csv and b.xlsx", "a.csv, b.xlsx and c.xls" """
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def _record_checks(
    session: Session, batch: RecipientBatch, files: Sequence[tuple[str, Checked]], staged: int
) -> None:
    """Count the duplicates in SQL and keep the counts and the first problems on the batch."""
    assert batch.id is not None
    several = len(files) > 1
    names = [name for name, _ in files]
    duplicate_count, listed = store.duplicates(session, batch.id, limit=MAX_ERRORS_KEPT)
    per_file = (
        store.duplicates_per_file(session, batch.id)
        if several and duplicate_count
        else {0: duplicate_count}
    )
    problems = [
        (index, e.row, e.problem)
        for index, (_, checked) in enumerate(files)
        for e in checked.listed_errors
    ]
    for d in listed:
        first = (
            f"on row {d.first_row}"
            if d.first_file == d.file
            else f"in {names[d.first_file]} row {d.first_row}"
        )
        problems.append((d.file, d.row, f"{d.address} is listed more than once (first {first})"))
    # Each list holds the first ones of its kind (by file, then row), so the first of all
    # together are here.
    problems.sort()
    outside: dict[str, int] = {}
    outside_other = 0
    for _, checked in files:
        outside_other += checked.outside_other
        for domain, n in checked.outside_domains.items():
            if domain in outside or len(outside) < MAX_OUTSIDE_DOMAINS:
                outside[domain] = outside.get(domain, 0) + n
            else:
                outside_other += n
    batch.rows = sum(checked.rows for _, checked in files)
    batch.valid = staged - duplicate_count
    batch.duplicates = duplicate_count
    batch.errors = sum(checked.errors for _, checked in files) + duplicate_count
    batch.report = {
        "header": "" if several else _cell(files[0][1]),
        # [file index, row, text]: row numbers repeat across files
        "problems": [list(p) for p in problems[:MAX_ERRORS_KEPT]],
        "outside_domains": outside,
        "outside_other": outside_other,
        "files": [
            {
                "name": name,
                "rows": checked.rows,
                "valid": checked.valid - per_file.get(index, 0),
                "errors": checked.errors + per_file.get(index, 0),
                "header": _cell(checked),
            }
            for index, (name, checked) in enumerate(files)
        ]
        if several
        else [],
    }
    session.add(batch)
    session.flush()


def _report(
    onboarding: Onboarding, batch: RecipientBatch, *, previous: int, imported: int | None = None
) -> ImportReport:
    assert batch.id is not None
    saved: Mapping[str, Any] = batch.report or {}
    files = tuple(
        FileCounts(
            name=str(f["name"]),
            rows=int(f["rows"]),
            valid=int(f["valid"]),
            errors=int(f["errors"]),
            header=str(f["header"]),
        )
        for f in saved.get("files", [])
    )
    names = [f.name for f in files]
    problems = tuple(_problem(p, names) for p in saved.get("problems", []))
    return ImportReport(
        key=onboarding.key,
        filename=_joined(names) if len(names) > 1 else batch.filename or "",
        batch_id=batch.id,
        state=batch.state,
        rows=batch.rows,
        valid=batch.valid,
        imported=imported,
        errors=batch.errors,
        duplicates=batch.duplicates,
        problems=problems,
        more_problems=max(0, batch.errors - len(problems)),
        outside_domains=dict(saved.get("outside_domains", {})),
        outside_other=int(saved.get("outside_other", 0)),
        previous=previous,
        header=str(saved.get("header", "")),
        files=files,
    )


def _problem(saved: Sequence[Any], names: Sequence[str]) -> Problem:
    if len(saved) == 2:  # [row, text]: staged before uploads could hold several files
        return Problem(int(saved[0]), str(saved[1]))
    index, row, text = saved
    name = names[int(index)] if len(names) > 1 and int(index) < len(names) else ""
    return Problem(int(row), str(text), name)


def _cell(checked: Checked) -> str:
    """The header's cell as the spreadsheet names it (column letters, then the row)."""
    column, letters = checked.header_column + 1, ""
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return f"{letters}{checked.header_row}"
