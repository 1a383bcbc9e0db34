"""Reminders survive a killed bot: a real `connect-bot serve` is SIGKILLed during dispatch and
restarted, and every reminder reaches the Slack stand-in exactly once. SIGTERM stops cleanly."""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import col, select
from support.bot_process import BotProcess
from support.slack_standin import SlackStandIn

from store import reminders
from store.db import Database
from store.models import Onboarding, Reminder

POST = "chat.postMessage"
LEASE_SECONDS = 10  # the smallest the settings allow: the restarted bot waits this out


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    # Overrides conftest's: wall-clock message ts, so that `oldest` in history reads works.
    with SlackStandIn(real_time_ts=True) as slack:
        yield slack


def seed(url: str, count: int, channels: int) -> list[int]:
    db = Database(url)
    db.upgrade()
    due = datetime.now(UTC) - timedelta(minutes=5)
    ids: list[int] = []
    with db.session(write=True) as session:
        onboarding = Onboarding(key="acme", name="Acme", service="both", opened_by="U1")
        session.add(onboarding)
        session.flush()
        assert onboarding.id is not None
        for index in range(count):
            row = reminders.add(
                session,
                onboarding_id=onboarding.id,
                kind="manual",
                text=f"chore {index}",
                due_at=due + timedelta(seconds=index),
                channel_id=f"C{index % channels}",
                created_by="U1",
            )
            assert row is not None
            assert row.id is not None
            ids.append(row.id)
    db.dispose()
    return ids


def states(url: str) -> Counter[tuple[str, bool]]:
    """(state, claimed) -> count."""
    db = Database(url)
    try:
        with db.session() as session:
            claimed = col(Reminder.claimed_by).is_not(None)
            query = select(Reminder.state, claimed, func.count()).group_by(Reminder.state, claimed)
            rows = session.exec(query).all()
            return Counter({(state, bool(held)): n for state, held, n in rows})
    finally:
        db.dispose()


def posted_ids(slack: SlackStandIn) -> Counter[int]:
    return Counter(
        int(call.params["metadata"]["event_payload"]["reminder_id"])
        for call in slack.calls(POST)
        if call.answered == "ok"
    )


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


ENV = {
    "CONNECT_REMINDER_POLL_SECONDS": "0.2",
    "CONNECT_REMINDER_LEASE_SECONDS": str(LEASE_SECONDS),
    "CONNECT_REMINDER_CHANNEL_INTERVAL": "0",
}


def test_sigkill_during_dispatch_then_restart_posts_every_reminder_exactly_once(
    serve_bot: Callable[..., BotProcess], standin: SlackStandIn, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'reminders.db'}"
    ids = seed(url, count=30, channels=3)
    # Slow answers, so the kill lands while posts are under way: some reach Slack but never
    # get recorded (the crash the metadata is for), others are claimed and not yet tried.
    standin.delay(POST, 0.3)
    first = serve_bot(database_url=url, env=ENV)
    standin.wait_for(POST, count=5, timeout=30)
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(timeout=10)
    killed_at = states(url)
    assert killed_at[("pending", True)] > 0, killed_at  # claimed and stranded by the kill
    # Let the posts that were in flight at the kill finish on the stand-in's side.
    time.sleep(0.5)
    in_flight_at_kill = len(posted_ids(standin)) - killed_at[("sent", False)]

    standin.delay(POST, 0)
    second = serve_bot(database_url=url, env=ENV)
    wait_until(
        lambda: states(url)[("sent", False)] == len(ids),
        timeout=LEASE_SECONDS + 60,
        what="every reminder to be recorded as sent",
    )
    posted = posted_ids(standin)
    assert set(posted) == set(ids)
    assert [n for n in posted.values() if n != 1] == [], posted
    # The restarted bot looked for the unrecorded posts instead of posting them again.
    assert standin.calls("conversations.history")
    assert second.log_text().count("found its earlier post") == in_flight_at_kill


def test_sigterm_finishes_the_post_under_way_and_gives_the_other_claims_back(
    serve_bot: Callable[..., BotProcess], standin: SlackStandIn, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'reminders.db'}"
    ids = seed(url, count=6, channels=1)
    # One channel, paced one post per 5 s: the stop comes while the rest wait their turn.
    bot = serve_bot(database_url=url, env={**ENV, "CONNECT_REMINDER_CHANNEL_INTERVAL": "5"})
    standin.wait_for(POST, count=1, timeout=30)
    code = bot.stop(timeout=20)
    assert code == 0, bot.log_text()
    assert len(standin.calls(POST)) == 1
    # Nothing is left claimed: a restarted bot (or another worker) posts the rest at once.
    assert states(url) == Counter({("sent", False): 1, ("pending", False): len(ids) - 1})
    assert "reminder dispatcher" in bot.log_text()
    assert "stopped (1 posted)" in bot.log_text()
