"""What the fixtures' daemonising servers (Dovecot, slapd) share: a temporary directory that
holds their configuration, log and pid file, and a stop that cannot hang a test run."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from pathlib import Path
from types import TracebackType
from typing import Self

STOP_TIMEOUT = 10.0  # seconds for SIGTERM to work before SIGKILL


class Daemon:
    """A server that forks into the background: found again through its pid file."""

    log_name = "daemon.log"
    pid_name = "daemon.pid"  # relative to `directory`

    def __init__(self) -> None:
        self.directory: Path | None = None

    def start(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def log_path(self) -> Path:
        assert self.directory is not None
        return self.directory / self.log_name

    def log_text(self) -> str:
        with contextlib.suppress(OSError, AssertionError):
            return self.log_path.read_text(errors="replace")
        return ""

    def _pid(self) -> int | None:
        if self.directory is None:
            return None
        with contextlib.suppress(OSError, ValueError):
            return int((self.directory / self.pid_name).read_text().strip())
        return None

    def stop(self) -> None:
        """SIGTERM, a bounded wait, SIGKILL if need be; then the directory goes."""
        pid = self._pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
            else:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None
