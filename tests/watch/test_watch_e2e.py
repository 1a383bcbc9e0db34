"""The DNS watch end to end: a real `connect-bot serve` (its watcher running every half
second) whose resolver is a real NSD pair whose zone changes during the test. Nobody runs a
command when the switch happens: the bot sees it, says so once in the channel and arms the
old-MX reminder; `watch` shows it over signed HTTP, an engineer pauses and resumes it, a
customer contact cannot; after the inbound step a moved MX is raised as a regression; and a
worker SIGKILLed while its post is under way leaves the post to the next worker, who finds it
and does not post it again."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from sqlmodel import Session, col, select
from support.bot_process import BotProcess
from support.dns_fixtures import GOOD_SPF, TEST_PROFILE_YAML
from support.dns_switch import NEW_MX, OLD_MX, Zone
from support.mentions import AT, guest, mention, wait
from support.signing import JSON, event_body, post
from support.slack_standin import Call, SlackStandIn

from store.models import AuditEvent, Onboarding, Reminder, StepStatus, Watch

WAIT = 20.0
ENGINEERS_CHANNEL = "C0ENGINEERS"
SWITCH = "now points at the gateway on all 2 name servers"


@pytest.fixture(scope="module")
def zone() -> Iterator[Zone]:
    served = Zone()
    served.serve(*OLD_MX)
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    """Message ts in wall-clock time, as Slack's: a worker looks for an earlier post by time."""
    with SlackStandIn(real_time_ts=True) as slack:
        yield slack


def environment(zone: Zone, profile: Path, **extra: str) -> dict[str, str]:
    profile.write_text(TEST_PROFILE_YAML)
    return {
        "CONNECT_ALLOW_PRIVATE_TARGETS": "true",
        "CONNECT_GATEWAY_PROFILE": str(profile),
        "CONNECT_DNS_NAMESERVERS": zone.nameserver,
        "CONNECT_DNS_DIRECT_PORT": str(zone.port),
        "CONNECT_WATCH_INTERVAL": "0.5",
        "CONNECT_WATCH_REGRESSION_INTERVAL": "0.5",
        "CONNECT_ENGINEERS_CHANNEL": ENGINEERS_CHANNEL,
        **extra,
    }


@pytest.fixture(scope="module")
def bot_env(zone: Zone, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return environment(zone, tmp_path_factory.mktemp("profile") / "profile.yml")


def in_channel(slack: SlackStandIn, channel: str, needle: str) -> list[Call]:
    return [
        c
        for c in slack.calls("chat.postMessage")
        if c.params.get("channel") == channel and needle in str(c.params.get("text", ""))
    ]


def said(slack: SlackStandIn, channel: str, needle: str, count: int = 1) -> list[Call]:
    return slack.wait_for(
        lambda c: c.method == "chat.postMessage" and c in in_channel(slack, channel, needle),
        count,
        WAIT,
    )


def the_watch(engine: Engine, key: str) -> Watch | None:
    with Session(engine) as session:
        query = (
            select(Watch)
            .join(Onboarding, col(Onboarding.id) == col(Watch.onboarding_id))
            .where(Onboarding.key == key)
        )
        return session.exec(query).first()


def until(check: Callable[[], bool], what: str) -> None:
    """Wait for `check` (bounded: WAIT seconds, polled)."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {WAIT} s: {what}")


def runs_of(engine: Engine, key: str) -> int:
    row = the_watch(engine, key)
    return row.runs if row is not None else 0


def command(bot: BotProcess, slack: SlackStandIn, text: str, channel: str) -> None:
    reply = bot.send(text, channel_id=channel, user_id="U0ENG")
    assert reply.status == 200, reply


def cut_over(bot: BotProcess, slack: SlackStandIn) -> tuple[str, str]:
    """An onboarding of cut.test whose inbound step is in progress; (key, channel)."""
    key, channel = f"w-{uuid.uuid4().hex[:8]}", "C" + uuid.uuid4().hex[:10].upper()
    command(bot, slack, f"open {key} --service both --region eu", channel)
    root = said(slack, channel, "Request for information:")[0]
    thread_ts = root.response["ts"]
    replies = 1
    contacts = "Jane, jane@acme.example, primary\nRaj, raj@acme.example, technical"
    for text in (contacts, "next", "127.0.0.40", "next", "cut.test", "next"):
        slack.wait_for(lambda c: c.params.get("thread_ts") == thread_ts, replies, WAIT)
        ts = f"{int(time.time())}.{uuid.uuid4().int % 10**6:06d}"
        event = {
            "type": "message",
            "channel": channel,
            "user": "U0CUST",
            "text": text,
            "ts": ts,
            "thread_ts": thread_ts,
        }
        assert post(bot.events_url, bot.secret, event_body(event), content_type=JSON)[0] == 200
        replies += 1
    slack.wait_for(lambda c: c.params.get("thread_ts") == thread_ts, replies, WAIT)
    # The inbound checks fail on the old MX: the step is in progress, and the watch begins.
    command(bot, slack, f"check {key} inbound", channel)
    engine = create_engine(bot.database_url)
    try:
        until(lambda: inbound_of(engine, key) == "in_progress", "inbound in progress")
    finally:
        engine.dispose()
    return key, channel


def inbound_of(engine: Engine, key: str) -> str | None:
    with Session(engine) as session:
        query = (
            select(StepStatus.state)
            .join(Onboarding, col(Onboarding.id) == col(StepStatus.onboarding_id))
            .where(Onboarding.key == key, StepStatus.step == "inbound")
        )
        return session.exec(query).first()


def test_the_bot_sees_the_switch_on_its_own_and_can_be_paused(
    bot: BotProcess, slack: SlackStandIn, db: Engine, zone: Zone
) -> None:
    zone.serve(*OLD_MX)
    key, channel = cut_over(bot, slack)
    until(lambda: runs_of(db, key) >= 2, "two watch runs on the old MX")
    assert in_channel(slack, channel, SWITCH) == []

    command(bot, slack, f"watch {key}", channel)
    (shown,) = said(slack, channel, f"DNS watch for {key} ({key})")
    assert "Watching the cut-over" in shown.params["text"]
    assert "cut.test" in shown.params["text"]
    assert "Next run" in shown.params["text"]

    zone.serve(*NEW_MX)  # the customer changes the MX; nobody runs a command
    (switch,) = said(slack, channel, SWITCH)
    assert "caches elsewhere expire by" in switch.params["text"]
    seen = runs_of(db, key)
    until(lambda: runs_of(db, key) >= seen + 2, "two more watch runs")
    assert len(in_channel(slack, channel, SWITCH)) == 1  # said once
    with Session(db) as session:
        onboarding = session.exec(select(Onboarding).where(Onboarding.key == key)).one()
        armed = session.exec(
            select(Reminder).where(Reminder.key == f"inbound.old_mx_confirm:{onboarding.id}")
        ).first()
        events = [
            e.action
            for e in session.exec(
                select(AuditEvent).where(AuditEvent.onboarding_id == onboarding.id)
            )
        ]
    assert armed is not None
    assert events.count("watch.switch_seen") == 1

    # A customer contact sees the watch through a mention, and cannot pause it.
    user, team = guest(slack)
    shown_to_them = mention(bot, f"{AT} watch", user=user, team=team, channel=channel)
    (answer,) = wait(slack, shown_to_them.in_thread)
    assert "Watching the cut-over" in answer.params["text"]
    refused = mention(bot, f"{AT} watch pause", user=user, team=team, channel=channel)
    (no,) = wait(slack, refused.in_thread)
    assert "Only a Connect engineer can pause the DNS watch" in no.params["text"]
    row = the_watch(db, key)
    assert row is not None
    assert row.paused_at is None

    command(bot, slack, f"watch {key} pause", channel)
    (paused,) = said(slack, channel, "Paused")
    assert "/connect watch " + key + " resume" in paused.params["text"]
    row = the_watch(db, key)
    assert row is not None
    assert row.paused_by == "U0ENG"
    command(bot, slack, f"watch {key} resume", channel)
    said(slack, channel, "Resumed")
    runs = runs_of(db, key)
    until(lambda: runs_of(db, key) > runs, "a run after resuming")
    with Session(db) as session:
        actions = [e.action for e in session.exec(select(AuditEvent))]
    assert "watch.paused" in actions
    assert "watch.resumed" in actions

    # Inbound done: the watch turns to regressions, and a moved MX is raised, once.
    zone.serve(*NEW_MX, f'@ TXT "{GOOD_SPF}"')
    command(bot, slack, f"done {key} inbound", channel)
    until(
        lambda: (row := the_watch(db, key)) is not None and row.mode == "regression",
        "the regression watch",
    )
    seen = runs_of(db, key)
    until(lambda: runs_of(db, key) >= seen + 2, "two regression runs with all well")
    assert in_channel(slack, channel, "Regression for") == []
    zone.serve(*OLD_MX, f'@ TXT "{GOOD_SPF}"')
    (alert,) = said(slack, channel, "Regression for")
    assert "the MX of *cut.test* no longer points only at the gateway" in alert.params["text"]
    said(slack, ENGINEERS_CHANNEL, f"Regression for {key} ({key})")
    seen = runs_of(db, key)
    until(lambda: runs_of(db, key) >= seen + 2, "two more regression runs")
    assert len(in_channel(slack, channel, "Regression for")) == 1


def test_a_worker_killed_while_posting_doubles_no_post(
    standin: SlackStandIn,
    serve_bot: Callable[..., BotProcess],
    zone: Zone,
    tmp_path: Path,
) -> None:
    zone.serve(*OLD_MX)
    env = environment(zone, tmp_path / "profile.yml", CONNECT_WATCH_LEASE_SECONDS="3")
    database_url = f"sqlite:///{tmp_path / 'shared.db'}"
    first = serve_bot(database_url=database_url, env=env)
    key, channel = cut_over(first, standin)
    engine = create_engine(database_url)
    try:
        until(lambda: runs_of(engine, key) >= 1, "a watch run on the old MX")
        standin.delay("chat.postMessage", 30)  # the post reaches Slack; its answer never comes
        zone.serve(*NEW_MX)
        until(
            lambda: any(SWITCH in m.get("text", "") for m in standin.messages(channel)),
            "the switch posted by the first worker",
        )
        first.process.kill()  # SIGKILL, mid-post: nothing recorded the post
        first.process.wait(10)
        standin.delay("chat.postMessage", 0)
        row = the_watch(engine, key)
        assert row is not None
        assert row.pending == 1  # the notice is still owed

        serve_bot(database_url=database_url, env=env)  # the next worker
        until(
            lambda: (w := the_watch(engine, key)) is not None and w.pending == 0,
            "the next worker settling the notice",
        )
        switches = [m for m in standin.messages(channel) if SWITCH in m.get("text", "")]
        assert len(switches) == 1
    finally:
        engine.dispose()
