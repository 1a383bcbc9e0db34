"""Recipient imports run in child processes, not in the process that acks Slack.

Reading and checking a 100,000-row spreadsheet is pure Python work: on a thread it holds the
interpreter lock the request threads need, and acks that should take milliseconds waited a
hundred or more. A child process has its own interpreter. It opens the same database and does
the whole import there (read, check, stage, import); the parent downloads the files before and
answers in Slack after. A child that dies (out of memory, killed) fails that import alone: the
pool is made again for the next.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from commands.core.context import Caller
from commands.recipients.importer import BUDGET_SECONDS, ImportReport, RecipientImporter
from store.db import Database

log = logging.getLogger(__name__)

WORKERS = 2  # imports at once, as many as the import threads that wait for them
IMPORT_NICENESS = 10

_importer: RecipientImporter | None = None  # in a child: its own, on its own engine


def _start(database_url: str, workdir: str | None, seconds: float) -> None:
    global _importer
    # Below the bot's own priority: on a busy machine the kernel runs the threads that ack
    # Slack first, and the import takes what is left (its time budget still bounds it).
    os.nice(IMPORT_NICENESS)
    directory = Path(workdir) if workdir else None
    _importer = RecipientImporter(Database(database_url), workdir=directory, seconds=seconds)


def _import(caller: Caller, key: str, files: Sequence[tuple[Path, str]]) -> ImportReport:
    assert _importer is not None, "the child was started without its importer"
    return _importer.import_files(caller, key, files)


class ImportProcesses:
    """`run(caller, key, files)` imports in a child; Refused and other errors come back as
    they were raised there."""

    def __init__(
        self,
        database_url: str,
        *,
        workers: int = WORKERS,
        workdir: Path | None = None,
        seconds: float = BUDGET_SECONDS,
    ) -> None:
        self._args = (database_url, str(workdir) if workdir else None, seconds)
        self._workers = workers
        self._lock = threading.Lock()
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn: a fork of a process with threads (waitress, the pools) may copy a held lock.
        return ProcessPoolExecutor(
            self._workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start,
            initargs=self._args,
        )

    def run(self, caller: Caller, key: str, files: Sequence[tuple[Path, str]]) -> ImportReport:
        with self._lock:
            pool = self._pool
        try:
            return pool.submit(_import, caller, key, list(files)).result()
        except BrokenProcessPool:
            log.error("an import's child process died; starting new ones")
            with self._lock:
                if self._pool is pool:
                    self._pool = self._new_pool()
            pool.shutdown(wait=False)
            raise

    def shutdown(self) -> None:
        with self._lock:
            self._pool.shutdown(wait=True)
