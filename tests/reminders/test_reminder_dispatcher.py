"""The reminder dispatcher against the Slack stand-in, on SQLite and PostgreSQL.

Timing assertions compare the stand-in's recorded call times with each other (lower bounds that
sleeping guarantees), never with absolute wall-clock thresholds.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from support.slack_standin import Call, SlackStandIn

from bot.render.buttons import ReminderAction
from bot.render.reminder_message import EVENT_TYPE, metadata
from bot.slack.dispatcher import DispatchConfig, Dispatcher
from commands.core import changes
from store import reminders
from store.db import Database
from store.models import Onboarding, Reminder

POST = "chat.postMessage"


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    # Wall-clock message ts, so that conversations.history's `oldest` works as in Slack.
    with SlackStandIn(real_time_ts=True) as standin:
        yield standin


@pytest.fixture
def client(slack: SlackStandIn) -> WebClient:
    client = WebClient(token="xoxb-test", base_url=slack.api_url, timeout=10)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    return client


@pytest.fixture
def onboarding_id(database: Database) -> int:
    with database.session(write=True) as session:
        row = Onboarding(key="acme", name="Acme", service="both", opened_by="U1")
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def now() -> datetime:
    return datetime.now(UTC)


def add(database: Database, onboarding_id: int, **values: object) -> Reminder:
    fields: dict[str, object] = {
        "onboarding_id": onboarding_id,
        "kind": "manual",
        "text": "call the ISP",
        "due_at": now() - timedelta(minutes=1),
        "channel_id": "C1",
        "created_by": "U1",
        **values,
    }
    with database.session(write=True) as session:
        row = reminders.add(session, **fields)  # type: ignore[arg-type]
    assert row is not None
    assert row.id is not None
    return row


def fetch(database: Database, reminder_id: int | None) -> Reminder:
    assert reminder_id is not None
    with database.session() as session:
        row = reminders.get(session, reminder_id)
    assert row is not None
    return row


def dispatcher(database: Database, client: WebClient, **config: object) -> Dispatcher:
    values: dict[str, object] = {"poll_seconds": 0.05, "channel_interval": 0.0, **config}
    return Dispatcher(database, client, DispatchConfig(**values))  # type: ignore[arg-type]


def reminder_ids(calls: list[Call]) -> Counter[int]:
    return Counter(
        int(c.params["metadata"]["event_payload"]["reminder_id"])
        for c in calls
        if c.answered == "ok"
    )


def test_due_reminders_are_posted_once_with_metadata_and_buttons_and_recorded(
    database: Database, client: WebClient, slack: SlackStandIn, onboarding_id: int
) -> None:
    plain = add(database, onboarding_id, text="call <!channel> & the ISP")
    threaded = add(database, onboarding_id, channel_id="C2", thread_ts="1700000000.000100")
    later = add(database, onboarding_id, due_at=now() + timedelta(hours=1))
    dispatcher(database, client).run_until_idle()

    posts = slack.calls(POST)
    assert reminder_ids(posts) == {plain.id: 1, threaded.id: 1}
    by_id = {c.params["metadata"]["event_payload"]["reminder_id"]: c for c in posts}
    first = by_id[plain.id]
    assert first.params["metadata"] == {
        "event_type": EVENT_TYPE,
        "event_payload": {"reminder_id": plain.id, "occurrence": 1},
    }
    assert first.params["channel"] == "C1"
    assert "thread_ts" not in first.params
    # People's text cannot ping or link: it is escaped in the text and in the blocks.
    assert "&lt;!channel&gt; &amp; the ISP" in first.params["text"]
    assert "<!channel>" not in str(first.params["blocks"])
    assert f"<!date^{int(plain.due_at.timestamp())}^" in first.params["text"]
    (actions,) = [b for b in first.params["blocks"] if b["type"] == "actions"]
    assert tuple(e["action_id"] for e in actions["elements"]) == tuple(ReminderAction)
    assert {e["value"] for e in actions["elements"]} == {str(plain.id)}
    assert by_id[threaded.id].params["thread_ts"] == "1700000000.000100"

    stored = fetch(database, plain.id)
    assert stored.state == "sent"
    assert stored.message_ts == first.response["ts"]
    assert (stored.occurrence, stored.attempts, stored.claimed_by) == (1, 0, None)
    assert fetch(database, later.id).state == "pending"


def test_a_repeating_reminder_is_posted_again_when_due_again(
    database: Database, client: WebClient, slack: SlackStandIn, onboarding_id: int
) -> None:
    row = add(database, onboarding_id, repeat_seconds=86_400)
    dispatcher(database, client).run_until_idle()
    stored = fetch(database, row.id)
    assert (stored.state, stored.occurrence) == ("pending", 1)
    assert stored.due_at > now()
    # Pretend a day went by.
    with database.session(write=True) as session:
        again = reminders.get(session, row.id)  # type: ignore[arg-type]
        assert again is not None
        again.due_at = now() - timedelta(seconds=1)
        session.add(again)
    dispatcher(database, client).run_until_idle()
    occurrences = [c.params["metadata"]["event_payload"]["occurrence"] for c in slack.calls(POST)]
    assert occurrences == [1, 2]
    assert fetch(database, row.id).occurrence == 2


def test_posts_in_one_channel_are_paced_and_other_channels_are_not_held_up(
    database: Database, client: WebClient, slack: SlackStandIn, onboarding_id: int
) -> None:
    busy = [add(database, onboarding_id, channel_id="CBUSY") for _ in range(4)]
    quiet = [add(database, onboarding_id, channel_id=f"CQ{i}") for i in range(4)]
    dispatcher(database, client, channel_interval=0.4).run_until_idle()
    posts = slack.calls(POST)
    assert reminder_ids(posts) == Counter(r.id for r in busy + quiet)
    busy_times = [c.at for c in posts if c.params["channel"] == "CBUSY"]
    gaps = [b - a for a, b in itertools.pairwise(busy_times)]
    assert min(gaps) >= 0.4 * 0.95, gaps
    # Every quiet channel was served before the busy one had finished its pacing.
    quiet_times = [c.at for c in posts if c.params["channel"].startswith("CQ")]
    assert max(quiet_times) < busy_times[-1]


def test_a_429_waits_for_retry_after_in_its_channel_while_others_keep_flowing(
    database: Database, client: WebClient, slack: SlackStandIn, onboarding_id: int
) -> None:
    slow = add(database, onboarding_id, channel_id="CSLOW")
    fast = [add(database, onboarding_id, channel_id=f"CFAST{i % 4}") for i in range(12)]
    slack.rate_limit_next(POST, retry_after=1, count=1, channel="CSLOW")
    # Posts to the fast channels take a little time each, so they are still flowing during the
    # slow channel's wait.
    slack.delay(POST, 0.15)
    dispatcher(database, client, channel_threads=5).run_until_idle()

    posts = slack.calls(POST)
    assert reminder_ids(posts) == Counter(r.id for r in [slow, *fast])
    (limited,) = [c for c in posts if c.answered == "429"]
    (retried,) = [c for c in posts if c.params["channel"] == "CSLOW" and c.answered == "ok"]
    assert limited.params["channel"] == "CSLOW"
    assert retried.at - limited.at >= 1.0  # the Retry-After wait
    during = [c for c in posts if c.params["channel"] != "CSLOW" and limited.at < c.at < retried.at]
    assert during, "the other channels were held up by one channel's 429"
    assert fetch(database, slow.id).state == "sent"


def test_when_429s_outlast_the_retries_the_claim_is_given_back_and_posted_later(
    database: Database, client: WebClient, slack: SlackStandIn, onboarding_id: int
) -> None:
    row = add(database, onboarding_id, channel_id="CSLOW")
    slack.rate_limit_next(POST, retry_after=1, count=3, channel="CSLOW")  # one more than retries
    dispatcher(database, client).run_until_idle(timeout=30)
    # The first round gave up after two retries and set the reminder aside until Retry-After.
    assert fetch(database, row.id).claim_expires_at is not None
    loop = dispatcher(database, client).start()
    try:
        slack.wait_for(lambda c: c.method == POST and c.answered == "ok", timeout=20)
    finally:
        loop.stop()
    posts = slack.calls(POST)
    assert [c.answered for c in posts] == ["429", "429", "429", "ok"]
    stored = fetch(database, row.id)
    assert (stored.state, stored.attempts) == ("sent", 0)
    # A 429 means Slack posted nothing: the channel is not searched for an earlier post.
    assert slack.calls("conversations.history") == []


def test_a_slack_error_gives_the_claim_back_for_later_without_posting(
    database: Database, client: WebClient, slack: SlackStandIn, onboarding_id: int
) -> None:
    row = add(database, onboarding_id, channel_id="COUT")
    slack.fail_next(POST, error="not_in_channel", channel="COUT")
    before = now()
    dispatcher(database, client).run_until_idle()
    stored = fetch(database, row.id)
    assert (stored.state, stored.claimed_by, stored.attempts) == ("pending", None, 0)
    assert stored.claim_expires_at is not None
    assert stored.claim_expires_at > before + timedelta(minutes=5)  # not retried in a hot loop
    assert [c.answered for c in slack.calls(POST)] == ["error"]


def _posted_by_a_dead_worker(
    database: Database, client: WebClient, row: Reminder, lease: timedelta
) -> str:
    """What a worker that died between posting and recording leaves behind."""
    claimed_at = now() - lease - timedelta(seconds=1)
    (claimed,) = reminders.claim_due(database, worker="dead", now=claimed_at, limit=1, lease=lease)
    response = client.chat_postMessage(
        channel=row.channel_id, thread_ts=row.thread_ts, text="x", metadata=metadata(claimed)
    )
    return str(response["ts"])


@pytest.mark.parametrize("thread_ts", [None, "parent"])
def test_a_post_that_was_never_recorded_is_found_by_its_metadata_not_posted_again(
    database: Database,
    client: WebClient,
    slack: SlackStandIn,
    onboarding_id: int,
    thread_ts: str | None,
) -> None:
    if thread_ts:
        thread_ts = str(client.chat_postMessage(channel="C1", text="RFI thread")["ts"])
    client.chat_postMessage(channel="C1", text="noise", thread_ts=thread_ts)
    row = add(database, onboarding_id, thread_ts=thread_ts)
    other = add(database, onboarding_id, thread_ts=thread_ts)
    loop = dispatcher(database, client, lease_seconds=30)
    ts = _posted_by_a_dead_worker(database, client, row, loop.config.lease)
    slack.clear()

    loop.run_until_idle()
    # Only the reminder nobody had posted is posted now.
    assert reminder_ids(slack.calls(POST)) == {other.id: 1}
    read = slack.calls("conversations.replies" if thread_ts else "conversations.history")
    assert read
    assert read[0].params["include_all_metadata"] in ("1", "true", True)
    stored = fetch(database, row.id)
    assert (stored.state, stored.message_ts, stored.attempts) == ("sent", ts, 0)
    assert loop.recovered == 1


def test_an_expired_claim_with_nothing_posted_is_posted_after_looking(
    database: Database, client: WebClient, slack: SlackStandIn, onboarding_id: int
) -> None:
    row = add(database, onboarding_id)
    loop = dispatcher(database, client, lease_seconds=30)
    reminders.claim_due(
        database, worker="dead", now=now() - timedelta(seconds=31), limit=1, lease=loop.config.lease
    )
    loop.run_until_idle()
    assert len(slack.calls("conversations.history")) == 1
    assert reminder_ids(slack.calls(POST)) == {row.id: 1}
    assert loop.recovered == 0


def test_stopping_finishes_the_post_under_way_and_gives_the_rest_back(
    database: Database, client: WebClient, slack: SlackStandIn, onboarding_id: int
) -> None:
    rows = [add(database, onboarding_id, channel_id="C1") for _ in range(5)]
    loop = dispatcher(database, client, channel_interval=5.0).start()
    slack.wait_for(POST, count=1, timeout=10)
    loop.stop()
    assert len(slack.calls(POST)) == 1
    states = Counter((fetch(database, r.id).state, fetch(database, r.id).claimed_by) for r in rows)
    assert states == {("sent", None): 1, ("pending", None): 4}
    # Given back untried: the next worker posts them straight away, without searching first.
    dispatcher(database, client).run_until_idle()
    assert reminder_ids(slack.calls(POST)) == Counter(r.id for r in rows)
    assert slack.calls("conversations.history") == []


def test_a_channel_holds_no_more_than_its_pacing_can_post_within_the_lease(
    database: Database, client: WebClient, slack: SlackStandIn, onboarding_id: int
) -> None:
    rows = [add(database, onboarding_id, channel_id="C1") for _ in range(8)]
    # A 10 s lease leaves 5 s to post in; at one post per 2 s one channel holds 2 reminders.
    loop = dispatcher(database, client, lease_seconds=10, channel_interval=2.0)
    assert loop.config.channel_backlog == 2
    assert loop.tick() == 8
    loop.stop()  # the two held are given back untried too
    stored = [fetch(database, r.id) for r in rows]
    assert len(slack.calls(POST)) <= 1
    held_back = [r for r in stored if r.state == "pending"]
    assert all(r.claimed_by is None and r.attempts == 0 for r in held_back)
    # The six over the backlog wait a little before they are claimed again (no hot loop).
    assert sum(1 for r in held_back if r.claim_expires_at is not None) >= 6


def test_a_claim_too_close_to_its_expiry_is_given_back_untried(
    database: Database, client: WebClient, slack: SlackStandIn, onboarding_id: int
) -> None:
    row = add(database, onboarding_id)
    loop = dispatcher(database, client, lease_seconds=10)
    # Claimed 6 s ago: 4 s are left, less than the 5 s a post may need (429 retries included).
    (claimed,) = reminders.claim_due(
        database,
        worker=loop.worker,
        now=now() - timedelta(seconds=6),
        limit=1,
        lease=loop.config.lease,
    )
    loop._deliver(claimed)
    assert slack.calls(POST) == []
    stored = fetch(database, row.id)
    assert (stored.claimed_by, stored.attempts, stored.state) == (None, 0, "pending")
    loop.run_until_idle()
    assert reminder_ids(slack.calls(POST)) == {row.id: 1}
    assert slack.calls("conversations.history") == []
    loop.stop()


def test_a_sent_reminder_is_a_change_of_its_onboarding(
    database: Database, client: WebClient, onboarding_id: int
) -> None:
    """The card counts pending reminders: the change hook hears each one sent."""
    add(database, onboarding_id)
    heard: list[int] = []
    unsubscribe = changes.subscribe(heard.append)
    try:
        dispatcher(database, client).run_until_idle()
    finally:
        unsubscribe()
    assert heard == [onboarding_id]
