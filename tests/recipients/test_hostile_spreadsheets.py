"""Spreadsheets built to cost the bot time or memory, which any customer contact can upload:
each is refused quickly, with a message that says what is wrong, and nothing is imported. The
files are written with zipfile and hand-written XML (support/hostile_xlsx.py): the three shapes
issue 16 measured
(minutes of CPU each for the hand-written reader before calamine), and shapes that would hurt
calamine itself."""

from __future__ import annotations

import os
import struct
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from support.hostile_xlsx import (
    MAIN,
    SHEET,
    SHEET_HEAD,
    SHEET_TAIL,
    STRINGS,
    empty_cells,
    many_strings,
    nearly_a_gib,
    sheet,
    workbook,
)
from support.recipients import ENGINEER, batches, grid, open_onboarding, staging_rows, stored, write

from bot.render.mrkdwn import text, to_plain
from commands.core.context import Refused
from commands.recipients.importer import RecipientImporter
from commands.recipients.spreadsheet import NotASpreadsheet, read_cells
from store.db import Database

REFUSED_WITHIN = 10.0  # seconds: the issue's bound for each refusal
GOOD = [("jane@acme.example", "Jane"), ("raj@acme.example", "Raj")]


# shape: (builder, what the refusal says)
SHAPES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "empty-cells": (empty_cells, f"its part {SHEET} unpacks to 100 MiB from"),
    "shared-strings": (many_strings, f"its part {STRINGS} unpacks to 75 MiB from"),
    "nearly-a-gib": (nearly_a_gib, f"its part {SHEET} unpacks to 1,023 MiB from"),
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The issue's three shapes, written once for the module (the GiB takes a few seconds)."""
    directory = tmp_path_factory.mktemp("hostile")
    return {shape: build(directory / f"{shape}.xlsx") for shape, (build, _) in SHAPES.items()}


def test_the_shapes_are_what_the_issue_measured(hostile: dict[str, Path]) -> None:
    """Small files holding a lot: what made the hand-written reader spend minutes."""
    sizes = {shape: path.stat().st_size for shape, path in hostile.items()}
    assert sizes["empty-cells"] < 300_000
    assert sizes["shared-strings"] < 300_000
    assert sizes["nearly-a-gib"] < 3_000_000
    with zipfile.ZipFile(hostile["nearly-a-gib"]) as archive:
        assert (1 << 30) - (2 << 20) < archive.getinfo(SHEET).file_size < 1 << 30


def imported_first(database: Database, tmp_path: Path) -> RecipientImporter:
    """An onboarding with a list imported, which a refused upload must leave as it is."""
    open_onboarding(database)
    importer = RecipientImporter(database)
    importer.import_path(ENGINEER, "acme", write(tmp_path / "first.csv", grid(GOOD)))
    return importer


def refusal(run: Callable[[], object]) -> str:
    """What the person reads when `run` is refused."""
    with pytest.raises(Refused) as caught:
        run()
    return to_plain(text(caught.value.text))


def declare_size(path: Path, part: str, size: int) -> None:
    """Make the zip say that `part` unpacks to `size` bytes, in its local header and in its
    central directory, whatever the part really holds."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(part)
    struct.pack_into("<I", data, info.header_offset + 22, size)
    entry = data.find(b"PK\x01\x02")
    while entry >= 0:
        length = struct.unpack_from("<H", data, entry + 28)[0]
        if data[entry + 46 : entry + 46 + length] == part.encode():
            struct.pack_into("<I", data, entry + 24, size)
        entry = data.find(b"PK\x01\x02", entry + 4)
    path.write_bytes(bytes(data))


def assert_nothing_changed(database: Database, before: list[tuple[int, str]]) -> None:
    assert batches(database) == before
    assert staging_rows(database) == 0
    assert [a for a, _, _ in stored(database)] == ["jane@acme.example", "raj@acme.example"]


@pytest.mark.parametrize("shape", SHAPES)
def test_the_issues_shapes_are_refused_quickly_and_nothing_is_imported(
    database: Database, tmp_path: Path, hostile: dict[str, Path], shape: str
) -> None:
    importer = imported_first(database, tmp_path)
    before = batches(database)
    data = hostile[shape].read_bytes()
    started = time.monotonic()
    said = refusal(lambda: importer.import_bytes(ENGINEER, "acme", data, "recipients.xlsx"))
    assert time.monotonic() - started < REFUSED_WITHIN
    assert said.startswith(f"recipients.xlsx was not read: {SHAPES[shape][1]}"), said
    assert "That is a zip bomb's shape" in said
    assert_nothing_changed(database, before)


def test_a_cell_far_away_asks_calamine_for_too_much_memory_and_is_refused(
    database: Database, tmp_path: Path
) -> None:
    """Two cells, A1 and XFD1048576: calamine holds a sheet as a dense grid, so these 1.2 KB
    ask it for 512 GiB. In the bot's process Rust would abort the whole bot; in the reader
    child the child dies, and the upload is refused."""
    importer = imported_first(database, tmp_path)
    before = batches(database)
    cells = sheet(
        b'<row r="1"><c r="A1" t="inlineStr"><is><t>email</t></is></c></row>'
        b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    )
    path = workbook(tmp_path / "far.xlsx", {SHEET: cells})
    assert path.stat().st_size < 2_000
    said = refusal(lambda: importer.import_path(ENGINEER, "acme", path))
    assert said.startswith("far.xlsx needs more than 512 MiB to read"), said
    assert "one stray cell at XFD1048576 is enough" in said
    assert_nothing_changed(database, before)


def test_a_part_past_the_bound_is_refused_however_little_it_packs(
    database: Database, tmp_path: Path
) -> None:
    """65 MiB that do not pack at all (stored, and random): not a zip bomb's shape, but more
    than any recipient list, so calamine never reads it."""
    importer = imported_first(database, tmp_path)
    before = batches(database)
    noise = os.urandom(65 << 19).hex().encode()  # 65 MiB of hex digits
    cells = SHEET_HEAD + b"<!--" + noise + b"-->" + SHEET_TAIL
    path = workbook(tmp_path / "noise.xlsx", {SHEET: cells}, packed=False)
    said = refusal(lambda: importer.import_path(ENGINEER, "acme", path))
    assert said.startswith(f"noise.xlsx was not read: its part {SHEET} unpacks to 65 MiB,"), said
    assert "at most 64 MiB is read" in said
    assert_nothing_changed(database, before)


def test_a_part_that_lies_about_its_size_is_refused(database: Database, tmp_path: Path) -> None:
    """The zip says the sheet unpacks to 1,000 bytes; it holds 100 MiB. The bound is checked
    on the declared size, so the reader must stop at it rather than believe the stream."""
    importer = imported_first(database, tmp_path)
    before = batches(database)
    path = empty_cells(tmp_path / "liar.xlsx")
    declare_size(path, SHEET, 1_000)
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo(SHEET).file_size == 1_000
    started = time.monotonic()
    said = refusal(lambda: importer.import_path(ENGINEER, "acme", path))
    assert time.monotonic() - started < REFUSED_WITHIN
    assert said.startswith("liar.xlsx is not a readable XLSX file ("), said
    assert_nothing_changed(database, before)


def test_one_long_string_in_many_cells_is_refused_before_it_fills_the_disk(
    tmp_path: Path,
) -> None:
    """A 32,767-character string shared by 10,000 cells: half a MiB packed, 327 MB of text
    unpacked. The reader's output has a cap, so /tmp does not fill up."""
    long = os.urandom(32_767 // 2).hex()
    rows = b"".join(
        b'<row r="%d"><c r="A%d" t="s"><v>0</v></c></row>' % (n, n) for n in range(1, 10_001)
    )
    table = f'<sst xmlns="{MAIN}"><si><t>{long}</t></si></sst>'.encode()
    path = workbook(tmp_path / "long.xlsx", {SHEET: sheet(rows), STRINGS: table})
    assert path.stat().st_size < 1 << 20
    with pytest.raises(NotASpreadsheet) as caught:
        list(read_cells(path))
    assert str(caught.value) == (
        "long.xlsx holds more text than any recipient list (over 64 MiB in its first 14 "
        "columns). Keep only the list in the file, or save it as CSV."
    )


def test_an_import_whose_budget_is_spent_stops_and_stores_nothing(
    database: Database, tmp_path: Path
) -> None:
    """100,000 good rows take about a second to stage; with a tenth of that the import stops
    part-way, inside the transaction that staged its rows, which rolls back. (With a whole
    second, a fast machine finished in time and the test could not tell.)"""
    imported_first(database, tmp_path)
    before = batches(database)
    rows = ((f"user{n}@acme.example", f"User {n}") for n in range(100_000))
    path = write(tmp_path / "long.csv", grid(rows))
    hurried = RecipientImporter(database, seconds=0.1)
    said = refusal(lambda: hurried.import_path(ENGINEER, "acme", path))
    assert said.startswith("long.csv took more than 0.1 s to read"), said
    assert "nothing was imported" in said
    assert_nothing_changed(database, before)
