"""`connect-bot` run as a person runs it (issue 14, section 4): a near miss in the shell gets a
suggestion, a bad DATABASE_URL stops every command with one line naming it, and the shell says
what becomes of reminders."""

from __future__ import annotations

import os
import pty
import queue
import select
import subprocess
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import IO

import pytest
from support.bot_process import free_port
from support.cli import BOT, run_bot
from support.slack_standin import SlackStandIn

from store import onboardings, reminders
from store.db import Database
from store.models import utcnow

# --- near misses in the shell ----------------------------------------------------------------


def test_the_shell_suggests_the_command_meant(tmp_path: Path) -> None:
    script = "\n".join(
        [
            "/connect open acme --serivce both",
            "/connect stauts acme",
            "/connect hlep",
        ]
    )
    done = run_bot(["shell"], {"DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}"}, script)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "open has no flag --serivce. Did you mean `/connect open acme --service both`?" in out
    assert "I don't know the verb stauts. Did you mean `/connect status acme`?" in out
    assert "Did you mean `/connect help`?" in out


# --- a bad DATABASE_URL ----------------------------------------------------------------------

PASSWORD = "s3cret-pw"


def _one_line(done: object) -> str:
    stderr = str(getattr(done, "stderr", "")).strip()
    assert getattr(done, "returncode", None) == 2, stderr
    assert stderr.splitlines() == [stderr], stderr  # one line, no traceback
    assert stderr.startswith("connect-bot: DATABASE_URL"), stderr
    assert "Traceback" not in stderr
    assert PASSWORD not in stderr + str(getattr(done, "stdout", ""))
    return stderr


def _bad_urls(tmp_path: Path) -> dict[str, tuple[str, str]]:
    """name -> (DATABASE_URL, what the line must say)."""
    closed = free_port()  # nothing listens there: the connection is refused
    # No user, root included, may create a file in /proc (chmod would not stop root).
    locked = Path("/proc")
    return {
        "unreachable": (
            f"postgresql://bob:{PASSWORD}@127.0.0.1:{closed}/connect",
            f"cannot use the database at postgresql+psycopg://bob:***@127.0.0.1:{closed}/connect",
        ),
        "unknown-scheme": (
            f"mongodb://bob:{PASSWORD}@127.0.0.1/connect",
            "has the unknown scheme mongodb://",
        ),
        "not-a-url": (f"bob:{PASSWORD}@db", "is not a database URL"),
        "sqlite-no-directory": (
            f"sqlite:///{tmp_path / 'missing' / 'connect.db'}",
            f"cannot open or write the SQLite database {tmp_path / 'missing' / 'connect.db'}",
        ),
        "sqlite-unwritable": (
            f"sqlite:///{locked / 'connect.db'}",
            f"cannot open or write the SQLite database {locked / 'connect.db'}",
        ),
    }


BAD_URLS = [
    "unreachable",
    "unknown-scheme",
    "not-a-url",
    "sqlite-no-directory",
    "sqlite-unwritable",
]
COMMANDS = {
    "db-upgrade": ["db", "upgrade"],
    "shell": ["shell"],
    "import": ["import", "acme", "{tmp}/people.csv"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("bad", BAD_URLS)
def test_a_bad_database_url_stops_every_command_with_one_line(
    tmp_path: Path, bad: str, command: str
) -> None:
    url, says = _bad_urls(tmp_path)[bad]
    (tmp_path / "people.csv").write_text("email,name\njane@acme.example,Jane\n")
    args = [arg.format(tmp=tmp_path) for arg in COMMANDS[command]]
    done = run_bot(args, {"DATABASE_URL": url})
    assert says in _one_line(done)


@pytest.mark.parametrize("runner", ["serve", "worker"])
@pytest.mark.parametrize("bad", ["unreachable", "sqlite-unwritable"])
def test_a_bad_database_url_stops_the_slack_runners_with_one_line(
    tmp_path: Path, standin: SlackStandIn, bad: str, runner: str
) -> None:
    url, says = _bad_urls(tmp_path)[bad]
    env = {
        "DATABASE_URL": url,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "test-secret",
        "SLACK_API_URL": standin.api_url,
    }
    args = ["serve", "--port", str(free_port())] if runner == "serve" else ["worker"]
    assert says in _one_line(run_bot(args, env))


# --- reminders in the shell ------------------------------------------------------------------


def _due_reminder(url: str, text: str) -> int:
    """acme opened through the shell, and a reminder of its that fell due a minute ago."""
    opened = run_bot(["shell"], {"DATABASE_URL": url}, "/connect open acme --service both\n")
    assert opened.returncode == 0, opened.stderr
    db = Database(url)
    with db.session(write=True) as session:
        onboarding = onboardings.get_by_key(session, "acme")
        assert onboarding is not None
        assert onboarding.id is not None
        row = reminders.add(
            session,
            onboarding_id=onboarding.id,
            kind="manual",
            text=text,
            due_at=utcnow() - timedelta(minutes=1),
            channel_id="C0LOCAL",
            created_by="U0LOCAL",
        )
        assert row is not None
        assert row.id is not None
        reminder_id = row.id
    db.dispose()
    return reminder_id


def _state(url: str, reminder_id: int) -> tuple[str, int]:
    db = Database(url)
    with db.session() as session:
        row = reminders.get(session, reminder_id)
        assert row is not None
        found = (row.state, row.occurrence)
    db.dispose()
    return found


def _shell(env: dict[str, str]) -> subprocess.Popen[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CONNECT_"))}
    return subprocess.Popen(
        [*BOT, "shell"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**clean, "CONNECT_REMINDER_POLL_SECONDS": "0.1", **env},
    )


def _read_until(stream: IO[str], needle: str, timeout: float = 30.0) -> str:
    """What `stream` printed up to and including the line holding `needle` (bounded)."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in stream], daemon=True).start()
    seen = ""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"{needle!r} not printed; got {seen!r}"
        try:
            seen += lines.get(timeout=left)
        except queue.Empty:
            continue
    return seen


def test_the_shell_prints_a_reminder_that_falls_due_while_it_runs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'due.db'}"
    reminder_id = _due_reminder(url, "call the ISP about port 25")

    shell = _shell({"DATABASE_URL": url})
    try:
        assert shell.stdout is not None
        printed = _read_until(shell.stdout, "marks it done")
    finally:
        assert shell.stdin is not None
        shell.stdin.close()  # the end of input ends the shell
        assert shell.wait(timeout=30) == 0

    assert "⏰ Reminder: call the ISP about port 25 (due " in printed
    assert f"/connect remind done {reminder_id} marks it done" in printed
    assert _state(url, reminder_id) == ("sent", 1)  # recorded, so never delivered again


@pytest.mark.parametrize(
    "env",
    [
        pytest.param({"SLACK_BOT_TOKEN": "xoxb-elsewhere"}, id="slack-bot-configured"),
        pytest.param({"CONNECT_REMINDER_DISPATCH": "false"}, id="dispatch-off"),
    ],
)
def test_where_the_slack_bot_delivers_the_shell_says_so(
    tmp_path: Path, env: dict[str, str]
) -> None:
    url = f"sqlite:///{tmp_path / 'slack.db'}"
    reminder_id = _due_reminder(url, "check the MX")
    script = "/connect remind acme in 2h chase the firewall change\n/connect status acme\n"

    done = run_bot(["shell"], {"DATABASE_URL": url, **env}, script)

    assert done.returncode == 0, done.stderr
    assert "Reminder #" in done.stdout
    assert "reminders are not delivered in this shell: the Slack bot" in done.stdout
    assert "check the MX" not in done.stdout
    assert _state(url, reminder_id) == ("pending", 0)  # left for the Slack bot


@pytest.mark.parametrize(
    ("env", "said"),
    [
        pytest.param({}, "Due reminders are printed here while the shell runs.", id="here"),
        pytest.param(
            {"SLACK_BOT_TOKEN": "xoxb-elsewhere"},
            "reminders are not delivered in this shell",
            id="slack",
        ),
    ],
)
def test_the_interactive_shell_says_at_start_where_reminders_go(
    tmp_path: Path, env: dict[str, str], said: str
) -> None:
    leader, follower = pty.openpty()  # a terminal, so the shell is interactive
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CONNECT_"))}
    shell = subprocess.Popen(
        [*BOT, "shell"],
        stdin=follower,
        stdout=follower,
        stderr=subprocess.PIPE,
        env={**clean, "DATABASE_URL": f"sqlite:///{tmp_path / 'tty.db'}", **env},
    )
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 30
    try:
        while b"> " not in seen.split(b"Ctrl-D", 1)[-1]:  # up to the first prompt
            assert time.monotonic() < deadline, seen
            ready, _, _ = select.select([leader], [], [], 1.0)
            if ready:
                seen += os.read(leader, 4096)
        os.write(leader, b"\x04")  # Ctrl-D: the end of input
        assert shell.wait(timeout=30) == 0
    finally:
        if shell.poll() is None:
            shell.kill()
        os.close(leader)
    assert said in seen.decode()
