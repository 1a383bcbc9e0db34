"""Recipient imports for tests and benchmarks: spreadsheets in CSV, XLSX (openpyxl) and XLS
(xlwt) with the gateway's layout (`email` header, `name` to its right) wherever a test wants it,
an onboarding whose RFI gave its domains, and what the store then holds (recipients, batches,
staging rows)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

from sqlmodel import select

from commands.core.context import Caller
from commands.core.roles import Role
from commands.onboarding.service import OnboardingService
from commands.rfi import questions
from store import onboardings
from store.db import Database
from store.models import Recipient, RecipientBatch, RecipientStaging, RfiAnswer

Grid = Iterable[Sequence[str]]
ENGINEER = Caller("U0ENG", "C0ACME", "T0TEST", role=Role.ENGINEER)


def grid(rows: Iterable[tuple[str, str]], *, top: int = 0, left: int = 0) -> Iterable[list[str]]:
    """The header at row top+1, column left+1, and the rows under it (a generator: big files
    are written without a list of their rows)."""
    pad = [""] * left
    for _ in range(top):
        yield []
    yield [*pad, "email", "name"]
    for address, name in rows:
        yield [*pad, address, name]


def write(path: Path, cells: Grid) -> Path:
    """A file holding `cells` on its first sheet, in the format its suffix names."""
    if path.suffix == ".xlsx":
        import openpyxl

        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet("Recipients")
        for row in cells:
            sheet.append(list(row) or [None])
        book.save(path)
    elif path.suffix == ".xls":
        import xlwt

        book = xlwt.Workbook()
        sheet = book.add_sheet("Recipients")
        for r, row in enumerate(cells):
            for c, value in enumerate(row):
                if value:
                    sheet.write(r, c, value)
        book.save(str(path))
    else:
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            for row in cells:
                writer.writerow(row)
    return path


def open_onboarding(
    database: Database,
    key: str = "acme",
    *,
    channel: str = "C0ACME",
    domains: str | None = "acme.example, acme-corp.com",
) -> None:
    """An onboarding bound to `channel` whose RFI gave `domains` (None: not answered yet)."""
    service = OnboardingService(database, regions={"eu": "Test Europe"})
    service.open(
        Caller("U0ENG", channel, "T0TEST", role=Role.ENGINEER),
        key,
        service="both",
        region="eu",
        name=None,
    )
    if domains is None:
        return
    question = questions.BY_ID["domains"]
    values = question.dump(list(question.parse(domains, False).values))
    with database.session(write=True) as session:
        onboarding = onboardings.get_by_key(session, key)
        assert onboarding is not None
        session.add(
            RfiAnswer(
                onboarding_id=onboarding.id, question="domains", values=values, answered_by="U"
            )
        )


def stored(database: Database, key: str = "acme") -> list[tuple[str, str | None, str]]:
    with database.session() as session:
        onboarding = onboardings.get_by_key(session, key)
        assert onboarding is not None
        rows = session.exec(select(Recipient).where(Recipient.onboarding_id == onboarding.id)).all()
        return sorted((r.address, r.display_name, r.source) for r in rows)


def batches(database: Database) -> list[tuple[int, str]]:
    with database.session() as session:
        return [(b.id, b.state) for b in session.exec(select(RecipientBatch))]  # type: ignore[misc]


def staging_rows(database: Database) -> int:
    with database.session() as session:
        return len(session.exec(select(RecipientStaging.id)).all())
