"""`connect-bot` run as a person runs it, for tests: a child process with the given arguments,
environment (none of the caller's SLACK_ and CONNECT_ settings) and standard input."""

from __future__ import annotations

import os
import subprocess
import sys

BOT = [sys.executable, "-m", "bot.cli"]


def run_bot(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CONNECT_"))}
    return subprocess.run(
        [*BOT, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**clean, **env},
        timeout=60,
        check=False,
    )
