"""`connect-bot` run as a person runs it (issue 14, section 4): a near miss in the shell gets a
suggestion, a bad DATABASE_URL stops every command with one line naming it, and the shell says
what becomes of reminders."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.bot_process import free_port
from support.cli import run_bot
from support.slack_standin import SlackStandIn

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
