"""Watch runs against real name servers (two NSDs serving one zone, changed between runs) and
the Slack stand-in, on SQLite and PostgreSQL: the switch is posted once and arms the old-MX
reminder; a silent or refusing name server is `unknown`, never a switch; after the inbound step,
an MX moved away or an SPF without the gateway raises a regression, once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient
from sqlmodel import select
from support.dns_fixtures import GOOD_SPF, NS_ADDRESS, NS_ADDRESS_2, make_test_profile
from support.dns_switch import NEW_MX, OLD_MX, Zone
from support.nsd import SilentServer
from support.slack_standin import Call, SlackStandIn

from bot.slack.watcher import EVENT_TYPE, Watcher, WatcherConfig
from commands.checks.service import CheckService
from commands.core.context import Caller
from commands.core.roles import Role
from commands.rfi.service import Incoming
from commands.router import Router
from commands.services import Services
from commands.watch.schedule import WatchConfig
from commands.watch.service import WatchService
from store import reminders
from store.db import Database
from store.models import AuditEvent, Onboarding, Watch

ENGINEER = Caller("U0ENG", "C0ACME", "T0TEST", role=Role.ENGINEER)
CHANNEL = "C0ACME"
ENGINEERS_CHANNEL = "C0ENGINEERS"
POST = "chat.postMessage"
CONFIG = WatchConfig(interval=60, regression_interval=3600, run_seconds=5, lease_seconds=120)


class Clock:
    """The watch's clock: real time moved on by `skip`, so that a run falls due at once."""

    def __init__(self) -> None:
        self.shift = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.shift

    def skip(self, seconds: float) -> None:
        self.shift += timedelta(seconds=seconds)


@pytest.fixture
def zone() -> Iterator[Zone]:
    served = Zone()
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn(real_time_ts=True) as standin:
        yield standin


def onboarding(database: Database, zone: Zone, *, inbound: str) -> Router:
    """acme, region eu, domain cut.test from the RFI, its inbound step as asked."""
    checks = CheckService(database, make_test_profile(), zone.resolver)
    router = Router(
        Services.build(
            database, allow_private_targets=True, checks=checks, regions={"eu": "Test Europe"}
        )
    )
    router.handle_text(ENGINEER, "open acme --service both --region eu")
    router.services.rfi.bind_thread("acme", CHANNEL, "1.0", "U0ENG")
    contacts = "Jane, jane@acme.example, primary\nRaj, raj@acme.example, technical"
    answers = [contacts, "next", "127.0.0.40", "next", "cut.test"]
    for n, text in enumerate(answers):
        router.services.rfi.reply(Incoming(CHANNEL, "1.0", f"2.{n}", "U0CUST", text))
    router.handle_text(ENGINEER, "done acme inbound")
    if inbound == "in_progress":
        router.handle_text(ENGINEER, "reopen acme inbound")
    return router


def watcher(database: Database, zone: Zone, slack: SlackStandIn, clock: Clock) -> Watcher:
    service = WatchService(
        database, make_test_profile(), zone.resolver, config=CONFIG, clock=clock.now
    )
    client = WebClient(token="xoxb-test", base_url=slack.api_url, timeout=10)
    return Watcher(service, client, WatcherConfig(engineers_channel=ENGINEERS_CHANNEL))


def posts(slack: SlackStandIn, channel: str = CHANNEL) -> list[Call]:
    return [c for c in slack.calls(POST) if c.params.get("channel") == channel]


def the_watch(database: Database) -> Watch:
    with database.session() as session:
        return session.exec(select(Watch)).one()


def actions(database: Database) -> list[str]:
    with database.session() as session:
        return [e.action for e in session.exec(select(AuditEvent).order_by(AuditEvent.id))]


def test_the_switch_is_posted_once_and_arms_the_old_mx_reminder(
    database: Database, zone: Zone, slack: SlackStandIn
) -> None:
    zone.serve(*OLD_MX)
    onboarding(database, zone, inbound="in_progress")
    clock = Clock()
    bot = watcher(database, zone, slack, clock)
    assert bot.tick() == 0  # the watch is made, due one interval later
    assert the_watch(database).mode == "cutover"

    clock.skip(61)
    assert bot.tick() == 1
    assert posts(slack) == []  # still the old MX: nothing to say
    seen = the_watch(database).seen or {}
    assert seen["cut.test"]["gateway"] == "fail"
    assert seen["cut.test"]["old_ttl"] == 7200

    zone.serve(*NEW_MX)
    clock.skip(2 * 60 + 1)  # the run before saw nothing new: the interval doubled
    switched_at = clock.now()
    assert bot.tick() == 1
    (post,) = posts(slack)
    text = post.params["text"]
    assert "cut.test* now points at the gateway on all 2 name servers" in text
    # Caches of the old records (TTL 7200 s) expire two hours after the run that saw it.
    stamp = int(re.search(r"caches elsewhere expire by <!date\^(\d+)\^", text).group(1))  # type: ignore[union-attr]
    assert 0 <= stamp - int((switched_at + timedelta(seconds=7200)).timestamp()) < 60
    assert post.params["metadata"]["event_type"] == EVENT_TYPE
    assert "watch.switch_seen" in actions(database)
    with database.session() as session:
        acme = session.exec(select(Onboarding)).one()
        armed = reminders.by_key(session, f"inbound.old_mx_confirm:{acme.id}")
    assert armed is not None
    assert armed.due_at - switched_at >= timedelta(days=3)
    assert armed.due_at - switched_at < timedelta(days=3, minutes=1)

    clock.skip(10 * 60)
    assert bot.tick() == 1  # a later run sees the same switch: no second post
    assert len(posts(slack)) == 1
    assert actions(database).count("watch.switch_seen") == 1


@pytest.mark.parametrize("second", ["silent", "refusing"])
def test_a_name_server_that_does_not_answer_is_unknown_never_a_switch(
    database: Database, zone: Zone, slack: SlackStandIn, second: str
) -> None:
    zone.serve(*NEW_MX, second=second)
    onboarding(database, zone, inbound="in_progress")
    clock = Clock()
    bot = watcher(database, zone, slack, clock)
    bot.tick()
    clock.skip(61)
    assert bot.tick() == 1
    entry = (the_watch(database).seen or {})["cut.test"]
    assert entry["gateway"] == "pass"  # the MX the resolver sees is the gateway's...
    assert entry["propagation"] == "unknown"  # ...but one name server could not be asked
    assert not entry["switched"]
    assert posts(slack) == []
    assert "watch.switch_seen" not in actions(database)


def test_a_resolver_that_times_out_is_unknown(
    database: Database, zone: Zone, slack: SlackStandIn
) -> None:
    zone.serve(*NEW_MX)
    onboarding(database, zone, inbound="in_progress")
    zone.stop()
    with SilentServer(NS_ADDRESS, zone.port), SilentServer(NS_ADDRESS_2, zone.port):
        clock = Clock()
        bot = watcher(database, zone, slack, clock)
        bot.tick()
        clock.skip(61)
        assert bot.tick() == 1
    entry = (the_watch(database).seen or {})["cut.test"]
    assert entry["gateway"] == "unknown"
    assert not entry["switched"]
    assert posts(slack) == []


def test_regressions_are_raised_in_the_channel_and_to_the_engineers_once(
    database: Database, zone: Zone, slack: SlackStandIn
) -> None:
    zone.serve(*NEW_MX, f'@ TXT "{GOOD_SPF}"')
    onboarding(database, zone, inbound="done")
    clock = Clock()
    bot = watcher(database, zone, slack, clock)
    bot.tick()
    assert the_watch(database).mode == "regression"
    clock.skip(3601)
    assert bot.tick() == 1
    assert posts(slack) == []  # all well
    assert (the_watch(database).seen or {})["cut.test"]["spf"] == "pass"

    zone.serve(*OLD_MX, f'@ TXT "{GOOD_SPF}"')  # the MX moved back to the old host
    clock.skip(3601)
    assert bot.tick() == 1
    (alert,) = posts(slack)
    (told,) = posts(slack, ENGINEERS_CHANNEL)
    assert "the MX of *cut.test* no longer points only at the gateway" in alert.params["text"]
    assert "acme-test.mail.protection.outlook.com" in alert.params["text"]
    assert f"<#{CHANNEL}>" in told.params["text"]  # the engineers get a link to the channel
    clock.skip(3601)
    bot.tick()
    assert len(posts(slack)) == 1  # still moved: not raised again

    # The MX comes back, and the SPF drops the gateway.
    zone.serve(*NEW_MX, '@ TXT "v=spf1 ip4:203.0.113.0/24 -all"')
    clock.skip(3601)
    bot.tick()
    alerts = posts(slack)
    assert len(alerts) == 2
    assert (
        "the SPF record of *cut.test* no longer authorises the gateway" in alerts[1].params["text"]
    )
    assert len(posts(slack, ENGINEERS_CHANNEL)) == 2
    assert actions(database).count("watch.regression") == 2


def test_a_notice_posted_by_a_worker_that_died_is_not_posted_again(
    database: Database, zone: Zone, slack: SlackStandIn
) -> None:
    """Worker a decides the switch, starts its post and dies before recording it; worker b
    takes the watch when a's lease runs out, finds the message by its metadata, and does not
    post it again. A notice a died before posting, b posts."""
    zone.serve(*NEW_MX)
    onboarding(database, zone, inbound="in_progress")
    clock = Clock()
    first = watcher(database, zone, slack, clock)
    first.service.sync()
    clock.skip(61)
    (claimed,) = first.service.claim("a", 1)
    outcome = first.service.run(claimed, "a")
    (notice,) = outcome.notices
    assert claimed.id is not None
    assert first.service.attempted(claimed.id, "a", notice.seq)
    # a posts it as the watcher would, and dies before it can record the post.
    first.client.chat_postMessage(
        channel=CHANNEL,
        text="switch",
        metadata={
            "event_type": EVENT_TYPE,
            "event_payload": {"watch_id": claimed.id, "seq": notice.seq},
        },
    )
    # a is gone. Until its lease runs out nobody takes the watch.
    second = watcher(database, zone, slack, clock)
    assert second.tick() == 0
    clock.skip(CONFIG.lease_seconds + 1)
    assert second.tick() == 1
    assert second.recovered == 1
    assert second.posted == 0
    assert len(posts(slack)) == 1
    assert the_watch(database).pending == 0
    assert the_watch(database).claimed_by is None
