"""Imports in child processes (bot/import_processes.py), on SQLite and PostgreSQL: the child
imports into the same database, a refusal comes back as the person's refusal, and a child that
dies fails its own import only."""

from __future__ import annotations

import multiprocessing
import os
import signal
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest
from support.recipients import ENGINEER, grid, open_onboarding, stored, write

from bot.import_processes import IMPORT_NICENESS, ImportProcesses
from bot.render.mrkdwn import text, to_plain
from commands.core.context import Caller, Refused
from commands.core.roles import Role
from store.db import Database

ROWS = [("jane@acme.example", "Jane Smith"), ("raj@acme-corp.com", "Raj Patel")]


@pytest.fixture
def processes(database_url: str, database: Database) -> ImportProcesses:
    return ImportProcesses(database_url, workers=1)


def test_a_child_imports_into_the_same_database(
    processes: ImportProcesses, database: Database, tmp_path: Path
) -> None:
    open_onboarding(database)
    path = write(tmp_path / "people.csv", grid(ROWS))
    try:
        report = processes.run(ENGINEER, "acme", [(path, "people.csv")])
    finally:
        processes.shutdown()
    assert (report.state, report.imported) == ("imported", 2)
    assert [address for address, _, _ in stored(database)] == sorted(a for a, _ in ROWS)


def test_the_child_runs_below_the_bots_priority(
    processes: ImportProcesses, database: Database, tmp_path: Path
) -> None:
    """On a busy machine the kernel serves the threads that ack Slack before an import."""
    open_onboarding(database)
    path = write(tmp_path / "people.csv", grid(ROWS))
    try:
        processes.run(ENGINEER, "acme", [(path, "people.csv")])
        (child,) = multiprocessing.active_children()
        assert child.pid is not None
        niceness = os.getpriority(os.PRIO_PROCESS, child.pid)
    finally:
        processes.shutdown()
    assert niceness == min(19, os.getpriority(os.PRIO_PROCESS, 0) + IMPORT_NICENESS)


def test_a_refusal_in_the_child_comes_back_as_the_persons_refusal(
    processes: ImportProcesses, database: Database, tmp_path: Path
) -> None:
    open_onboarding(database)
    path = write(tmp_path / "people.csv", grid(ROWS))
    stranger = Caller("U0OUT", "C0ELSE", "T0OTHER", role=Role.CUSTOMER)
    try:
        with pytest.raises(Refused) as caught:
            processes.run(stranger, "acme", [(path, "people.csv")])
    finally:
        processes.shutdown()
    assert to_plain(text(caught.value.text))  # a Text the renderer reads, not a bare string
    assert stored(database) == []


def test_a_child_that_dies_fails_its_import_and_the_next_one_works(
    processes: ImportProcesses, database: Database, tmp_path: Path
) -> None:
    open_onboarding(database)
    path = write(tmp_path / "people.csv", grid(ROWS))
    try:
        processes.run(ENGINEER, "acme", [(path, "people.csv")])  # the child is up
        (child,) = multiprocessing.active_children()
        os.kill(child.pid or 0, signal.SIGKILL)  # as the kernel's OOM killer would
        child.join(10)
        with pytest.raises(BrokenProcessPool):
            processes.run(ENGINEER, "acme", [(path, "people.csv")])
        report = processes.run(ENGINEER, "acme", [(path, "people.csv")])
    finally:
        processes.shutdown()
    assert (report.state, report.imported) == ("imported", 2)
