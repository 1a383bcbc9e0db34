"""A reminder Slack refuses for good is marked failed, told once to the engineers, and never
claimed again; a refusal that may pass (not_in_channel, a 429) is still retried later."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient
from support.slack_standin import SlackStandIn

from bot.slack.dispatcher import DispatchConfig, Dispatcher
from store import reminders
from store.db import Database
from store.models import Onboarding, Reminder

POST = "chat.postMessage"
ENGINEERS = "C0ENGINEERS"


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn(real_time_ts=True) as standin:
        yield standin


@pytest.fixture
def client(slack: SlackStandIn) -> WebClient:
    return WebClient(token="xoxb-test", base_url=slack.api_url, timeout=10)


@pytest.fixture
def onboarding_id(database: Database) -> int:
    with database.session(write=True) as session:
        row = Onboarding(key="acme", name="Acme", service="both", opened_by="U1")
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def add(database: Database, onboarding_id: int, **values: object) -> Reminder:
    fields: dict[str, object] = {
        "onboarding_id": onboarding_id,
        "kind": "manual",
        "text": "call the ISP",
        "due_at": datetime.now(UTC) - timedelta(minutes=1),
        "channel_id": "C1",
        "created_by": "U1",
        **values,
    }
    with database.session(write=True) as session:
        row = reminders.add(session, **fields)  # type: ignore[arg-type]
    assert row is not None
    return row


def fetch(database: Database, reminder_id: int | None) -> Reminder:
    assert reminder_id is not None
    with database.session() as session:
        row = reminders.get(session, reminder_id)
    assert row is not None
    return row


def dispatcher(database: Database, client: WebClient, clock: list[datetime]) -> Dispatcher:
    config = DispatchConfig(poll_seconds=0.05, channel_interval=0.0, engineers_channel=ENGINEERS)
    return Dispatcher(database, client, config, clock=lambda: clock[0])


@pytest.mark.parametrize(
    "error", ["is_archived", "channel_not_found", "thread_not_found", "invalid_blocks"]
)
def test_a_permanent_refusal_marks_the_reminder_failed_and_tells_the_engineers_once(
    database: Database, client: WebClient, slack: SlackStandIn, onboarding_id: int, error: str
) -> None:
    row = add(database, onboarding_id, channel_id="CGONE", thread_ts="1700000000.000100")
    slack.fail_next(POST, error=error, channel="CGONE", count=100)
    clock = [datetime.now(UTC)]
    worker = dispatcher(database, client, clock)
    worker.run_until_idle()
    stored = fetch(database, row.id)
    assert (stored.state, stored.failed_reason, stored.claimed_by) == ("failed", error, None)
    assert worker.failed == 1
    # A month of polling later: never claimed, never tried again.
    for days in (1, 7, 30):
        clock[0] = datetime.now(UTC) + timedelta(days=days)
        worker.run_until_idle()
    worker.stop()
    tries = [c for c in slack.calls(POST) if c.params.get("channel") == "CGONE"]
    assert len(tries) == 1
    told = [c for c in slack.calls(POST) if c.params.get("channel") == ENGINEERS]
    assert len(told) == 1
    assert f"#{row.id}" in told[0].params["text"]
    assert error in told[0].params["text"]
    with database.session() as session:
        assert reminders.failed_count(session, onboarding_id) == 1
        listed, _ = reminders.open_reminders(session, onboarding_id=onboarding_id)
    assert [(r.id, r.state) for r, _key in listed] == [(row.id, "failed")]


def test_a_refusal_that_may_pass_is_retried_later(
    database: Database, client: WebClient, slack: SlackStandIn, onboarding_id: int
) -> None:
    row = add(database, onboarding_id, channel_id="COUT")
    slack.fail_next(POST, error="not_in_channel", channel="COUT")
    clock = [datetime.now(UTC)]
    worker = dispatcher(database, client, clock)
    worker.run_until_idle()
    assert fetch(database, row.id).state == "pending"
    clock[0] = datetime.now(UTC) + timedelta(hours=1)
    worker.run_until_idle()
    worker.stop()
    assert fetch(database, row.id).state == "sent"
    assert [c for c in slack.calls(POST) if c.params.get("channel") == ENGINEERS] == []
