"""Replicas: three `connect-bot worker` processes on one PostgreSQL database post 2,000 due
reminders, each exactly once, counted on the Slack stand-in's record."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, text
from sqlmodel import select
from support.bot_process import PROJECT_ROOT, TEST_SIGNING_SECRET, bot_environment
from support.slack_standin import SlackStandIn

from store.db import Database
from store.models import Onboarding, Reminder

POST = "chat.postMessage"
REMINDERS = 2_000
CHANNELS = 100
WORKERS = 3


@pytest.fixture
def postgres(postgres_url: str) -> Iterator[Database]:
    db = Database(postgres_url)
    db.upgrade()
    try:
        yield db
    finally:
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        db.dispose()


def start_worker(
    slack: SlackStandIn, url: str, log_path: Path
) -> tuple[subprocess.Popen[bytes], Path]:
    env = bot_environment(
        api_url=slack.api_url,
        secret=TEST_SIGNING_SECRET,
        database_url=url,
        extra={
            "CONNECT_REMINDER_POLL_SECONDS": "0.1",
            "CONNECT_REMINDER_CHANNEL_INTERVAL": "0",
            "CONNECT_REMINDER_BATCH": "50",
        },
    )
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "worker"],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return process, log_path


def wait_for_log(process: subprocess.Popen[bytes], log_path: Path, needle: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if needle in log_path.read_text(errors="replace"):
            return
        if process.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"worker did not log {needle!r}:\n{log_path.read_text()[-5000:]}")


def seed(db: Database) -> None:
    due = datetime.now(UTC) - timedelta(minutes=1)
    with db.session(write=True) as session:
        onboarding = Onboarding(key="acme", name="Acme", service="both", opened_by="U1")
        session.add(onboarding)
        session.flush()
        rows = [
            {
                "onboarding_id": onboarding.id,
                "kind": "manual",
                "text": f"chore {index}",
                "due_at": due - timedelta(milliseconds=index),
                "channel_id": f"C{index % CHANNELS:03d}",
                "state": "pending",
                "created_by": "bot",
                "created_at": due,
                "occurrence": 0,
                "attempts": 0,
            }
            for index in range(REMINDERS)
        ]
        session.execute(insert(Reminder), rows)


def sent_count(db: Database) -> int:
    with db.session() as session:
        query = select(func.count()).select_from(Reminder).where(Reminder.state == "sent")
        return int(session.exec(query).one())


@pytest.mark.timeout(300)
def test_three_workers_post_2000_reminders_each_exactly_once(
    postgres: Database, postgres_url: str, tmp_path: Path
) -> None:
    with SlackStandIn() as slack:
        workers = [
            start_worker(slack, postgres_url, tmp_path / f"worker{i}.log") for i in range(WORKERS)
        ]
        try:
            for process, log_path in workers:
                wait_for_log(process, log_path, "reminder dispatcher")
            # All three are polling before there is work, so they race for every batch.
            seed(postgres)
            deadline = time.monotonic() + 180
            while sent_count(postgres) < REMINDERS and time.monotonic() < deadline:
                time.sleep(0.25)
        finally:
            for process, _ in workers:
                process.terminate()
            codes = [process.wait(timeout=30) for process, _ in workers]
        logs = [log_path.read_text(errors="replace") for _, log_path in workers]
        assert sent_count(postgres) == REMINDERS, logs[0][-3000:]
        assert codes == [0] * WORKERS, [log[-3000:] for log in logs]

        posted = Counter(
            int(call.params["metadata"]["event_payload"]["reminder_id"])
            for call in slack.calls(POST)
            if call.answered == "ok"
        )
    assert len(posted) == REMINDERS
    assert [count for count in posted.values() if count != 1] == []
    # Each worker says how many it posted as it stops; together they posted each once.
    per_worker = [int(m) for log in logs for m in re.findall(r"stopped \((\d+) posted\)", log)]
    assert len(per_worker) == WORKERS
    assert sum(per_worker) == REMINDERS
    assert sum(1 for n in per_worker if n > 0) >= 2, per_worker  # the work was shared


@pytest.mark.parametrize(
    ("env", "line"),
    [
        ({"SLACK_BOT_TOKEN": ""}, "SLACK_BOT_TOKEN is not set"),
        ({"CONNECT_REMINDER_LEASE_SECONDS": "5"}, "CONNECT_REMINDER_LEASE_SECONDS"),
        ({"CONNECT_REMINDER_CHANNEL_INTERVAL": "soon"}, "CONNECT_REMINDER_CHANNEL_INTERVAL"),
        (
            {"SLACK_BOT_TOKEN": "xoxb-refused"},
            "SLACK_BOT_TOKEN was refused by Slack (invalid_auth)",
        ),
    ],
)
def test_a_worker_with_a_bad_setting_stops_with_one_line(
    tmp_path: Path, env: dict[str, str], line: str
) -> None:
    with SlackStandIn() as slack:
        slack.fail_next("auth.test", error="invalid_auth")
        child_env = bot_environment(
            api_url=slack.api_url,
            secret=TEST_SIGNING_SECRET,
            database_url=f"sqlite:///{tmp_path / 'w.db'}",
            extra=env,
        )
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", "worker"],
            cwd=PROJECT_ROOT,
            env=child_env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]  # exactly one line
    assert line in done.stderr
