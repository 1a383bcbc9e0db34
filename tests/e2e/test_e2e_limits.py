"""Slack's real limits end to end (issue 13, sections 2 and 3): a real `connect-bot serve`, a
real NSD, and the stand-in as strict as Slack (it refuses block text past 11,000 characters,
invalid Block Kit, chat.update beyond its tier and posts to an archived channel).

- a 40-domain report with every check failing arrives whole, in messages under 10,000
  characters of block text: the first part replaces the progress, the rest are numbered replies
  in its thread;
- a 200-domain check makes at most 40 chat.update calls;
- a reminder to an archived channel is tried once, marked failed, shown in the reminders list
  and the status, never tried again; the engineers are told once;
- channel_archive / unarchive and the bot's removal are recorded on the onboarding.
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from support.bot_process import BotProcess
from support.checks_e2e import onboarding_with_domains, run_check
from support.dns_fixtures import DnsWorld, bot_env_for
from support.signing import JSON, button_click, event_body, interaction_body, post
from support.slack_standin import Call, SlackStandIn, block_text_length

from store import reminders as reminder_store
from store.models import Onboarding, Reminder

WAIT = 30.0
ENGINEERS = "C0ENGINEERS"
PART = re.compile(r"^Part (\d+) of (\d+)")


@pytest.fixture(scope="module")
def bot_env(dns_world: DnsWorld, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return bot_env_for(
        dns_world,
        tmp_path_factory.mktemp("profile"),
        CONNECT_REMINDER_POLL_SECONDS="0.2",
        CONNECT_ENGINEERS_CHANNEL=ENGINEERS,
    )


def new_channel() -> str:
    return "C" + uuid.uuid4().hex[:10].upper()


def in_channel(slack: SlackStandIn, channel: str, method: str | None = None) -> list[Call]:
    return [c for c in slack.calls(method) if c.params.get("channel") == channel]


def send_event(bot: BotProcess, event: dict[str, Any]) -> None:
    assert post(bot.events_url, bot.secret, event_body(event), content_type=JSON)[0] == 200


def mrkdwn_objects(blocks: Any) -> list[dict[str, Any]]:
    if isinstance(blocks, list):
        return [o for item in blocks for o in mrkdwn_objects(item)]
    if isinstance(blocks, dict):
        found = [blocks] if blocks.get("type") == "mrkdwn" else []
        return found + [o for v in blocks.values() for o in mrkdwn_objects(v)]
    return []


def assert_verbatim(calls: list[Call]) -> None:
    """Every mrkdwn text the bot sent is verbatim: a typed @here or #general stays text."""
    loose = [
        (c.method, o["text"][:80])
        for c in calls
        for o in mrkdwn_objects(c.params.get("blocks"))
        if o.get("verbatim") is not True
    ]
    assert loose == []


def domains(count: int, width: int = 2) -> list[str]:
    # Under .test but in no zone: NXDOMAIN, so every domain check fails.
    return [f"d{n:0{width}d}.nowhere.test" for n in range(1, count + 1)]


def test_a_40_domain_report_with_every_check_failing_arrives_whole_in_parts(
    bot: BotProcess, slack: SlackStandIn
) -> None:
    names = domains(40)
    key, channel = onboarding_with_domains(bot, slack, prefix="lim", domains="\n".join(names))
    progress, final = run_check(bot, slack, key, channel, timeout=120.0)
    ts = progress.response["ts"]
    # The report in the channel is one message under the limit that names every domain.
    assert final.answered == "ok", final
    assert block_text_length(final.params["blocks"]) < 10_000
    assert len(final.params["text"]) < 4_000
    assert all(name in str(final.params["blocks"]) for name in names)
    assert final.params["blocks"][0]["type"] == "header"  # the summary comes first
    # Its evidence, every check of every domain, is far longer: Details posts it in parts.
    click_details(bot, slack, final, channel)
    first = slack.wait_for(
        lambda c: (
            c.method == "chat.postMessage"
            and c.params.get("thread_ts") == ts
            and "Part 1 of" in str(c.params.get("blocks"))
        ),
        1,
        WAIT,
    )[0]
    total = int(re.findall(r"Part 1 of (\d+)", str(first.params["blocks"]))[0])
    assert total > 1
    parts = slack.wait_for(
        lambda c: (
            c.method == "chat.postMessage"
            and c.params.get("thread_ts") == ts
            and PART.match(c.params.get("text", "")) is not None
        ),
        total - 1,
        WAIT,
    )
    numbers = [int(PART.match(c.params["text"]).group(1)) for c in parts]  # type: ignore[union-attr]
    assert numbers == list(range(2, total + 1))
    for call in [first, *parts]:
        assert call.answered == "ok", call
        assert block_text_length(call.params["blocks"]) < 10_000
        assert len(call.params["text"]) < 4_000
    # Whole: every domain is reported, and nothing was cut ("… and N more lines").
    shown = "\n".join(str(c.params["blocks"]) for c in [first, *parts])
    assert all(name in shown for name in names)
    assert "more line" not in shown
    refused = [c for c in in_channel(slack, channel) if c.answered != "ok"]
    assert refused == []
    assert_verbatim(in_channel(slack, channel))


def click_details(bot: BotProcess, slack: SlackStandIn, report: Call, channel: str) -> None:
    """The engineer presses the report's Details button."""
    (button,) = [
        e
        for b in report.params["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["text"]["text"].endswith("Details")
    ]
    payload = button_click(
        report,
        button,
        user="U0ENG",
        channel=channel,
        response_url=slack.response_url(f"details-{uuid.uuid4().hex[:8]}"),
        block_id="connect_actions",
    )
    status, _, body = post(bot.events_url, bot.secret, interaction_body(payload))
    assert (status, body) == (200, b""), body


def test_a_200_domain_check_makes_at_most_40_updates(bot: BotProcess, slack: SlackStandIn) -> None:
    key, channel = onboarding_with_domains(
        bot, slack, prefix="lim", domains="\n".join(domains(200, width=3))
    )
    progress, _final = run_check(bot, slack, key, channel, timeout=120.0)
    ts = progress.response["ts"]
    updates = [c for c in slack.calls("chat.update") if c.params.get("ts") == ts]
    assert 1 <= len(updates) <= 40
    assert all(c.answered == "ok" for c in updates)


# --- reminders and channel events ---------------------------------------------------------------


def onboarding(db: Engine, key: str) -> Onboarding:
    with Session(db) as session:
        row = session.exec(select(Onboarding).where(Onboarding.key == key)).one()
        session.expunge(row)
        return row


def wait_until(check: Any, what: str) -> Any:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def open_onboarding(bot: BotProcess, slack: SlackStandIn, key: str, channel: str) -> None:
    """Open an onboarding; return once its RFI thread asked its first question."""
    assert bot.send(f"open {key} --service security --region eu", channel_id=channel).status == 200
    root = slack.wait_for(
        lambda c: (
            c.method == "chat.postMessage"
            and c.params.get("channel") == channel
            and str(c.params.get("text", "")).startswith("Request for information:")
        ),
        timeout=WAIT,
    )[0]
    slack.wait_for(lambda c: c.params.get("thread_ts") == root.response["ts"], timeout=WAIT)


def answer_of(bot: BotProcess, slack: SlackStandIn, text: str, channel: str) -> str:
    reply = bot.send(text, channel_id=channel, user_id="U0ENG")
    assert reply.status == 200
    found = slack.wait_for(
        lambda c: c.method == "response_url" and c.name == reply.response_name, 1, WAIT
    )
    return "\n".join(str(c.params.get("text", "")) for c in found)


def test_a_reminder_to_an_archived_channel_is_tried_once_marked_failed_and_shown(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    key, channel = f"arc-{uuid.uuid4().hex[:8]}", new_channel()
    open_onboarding(bot, slack, key, channel)
    slack.archive(channel)
    send_event(bot, {"type": "channel_archive", "channel": channel, "user": "U0ENG"})
    wait_until(lambda: onboarding(db, key).channel_state == "archived", "the archive")

    # Inbound done: the cancel-the-previous-provider reminder is due at once.
    assert bot.send(f"done {key} inbound", channel_id=channel, user_id="U0ENG").status == 200

    def failed() -> list[Reminder]:
        with Session(db) as session:
            query = (
                select(Reminder)
                .join(Onboarding, col(Onboarding.id) == col(Reminder.onboarding_id))
                .where(Onboarding.key == key, Reminder.state == "failed")
            )
            return list(session.exec(query))

    (row,) = wait_until(failed, "the reminder marked failed")
    assert row.failed_reason == "is_archived"
    assert row.claimed_by is None
    told = slack.wait_for(
        lambda c: c.method == "chat.postMessage" and c.params.get("channel") == ENGINEERS,
        1,
        WAIT,
    )
    assert f"#{row.id}" in told[0].params["text"]
    assert "archived" in told[0].params["text"]

    # Nothing retries it: not due at any time to come, and no second try while the
    # dispatcher polls (every 0.2 s) a good many times.
    with Session(db) as session:
        later = datetime.now(UTC) + timedelta(days=30)
        due = list(session.exec(reminder_store.due_ids_query(later, 10_000)))
    assert row.id not in due
    time.sleep(2.0)
    tries = [
        c
        for c in in_channel(slack, channel, "chat.postMessage")
        if (c.params.get("metadata") or {}).get("event_payload", {}).get("reminder_id") == row.id
    ]
    assert [c.answered for c in tries] == ["error"]
    assert [c.response.get("error") for c in tries] == ["is_archived"]
    engineers = [c for c in slack.calls("chat.postMessage") if c.params.get("channel") == ENGINEERS]
    assert len([c for c in engineers if f"#{row.id}" in c.params.get("text", "")]) == 1

    listing = answer_of(bot, slack, f"reminders {key}", channel)
    assert f"#{row.id}*" in listing
    assert "could not be delivered" in listing
    status = answer_of(bot, slack, f"status {key}", channel)
    assert "1 reminder could not be delivered" in status
    assert "channel is archived" in status


def test_unarchive_and_the_bot_removed_are_recorded_on_the_onboarding(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    key, channel = f"chn-{uuid.uuid4().hex[:8]}", new_channel()
    open_onboarding(bot, slack, key, channel)
    assert onboarding(db, key).channel_state is None
    send_event(bot, {"type": "group_archive", "channel": channel})
    wait_until(lambda: onboarding(db, key).channel_state == "archived", "group_archive")
    send_event(bot, {"type": "channel_unarchive", "channel": channel, "user": "U0ENG"})
    wait_until(lambda: onboarding(db, key).channel_state is None, "channel_unarchive")
    # Someone else leaving changes nothing; the bot leaving does.
    left = {"type": "member_left_channel", "channel": channel, "channel_type": "C"}
    send_event(bot, {**left, "user": "U0CUST", "team": "T0TEST"})
    send_event(bot, {**left, "user": "U0BOT", "team": "T0TEST"})
    wait_until(lambda: onboarding(db, key).channel_state == "removed", "member_left_channel")
    slack.fail_next("chat.postMessage", "not_in_channel", channel=channel)  # as Slack would
    status = answer_of(bot, slack, f"status {key}", channel)
    assert "removed from its channel" in status
    # An unarchive does not undo a removal.
    send_event(bot, {"type": "channel_unarchive", "channel": channel, "user": "U0ENG"})
    # The bot's own notice of leaving a channel (public or private).
    second, where = f"chn-{uuid.uuid4().hex[:8]}", new_channel()
    open_onboarding(bot, slack, second, where)
    send_event(bot, {"type": "channel_left", "channel": where, "actor_id": "U0ENG"})
    wait_until(lambda: onboarding(db, second).channel_state == "removed", "channel_left")
    assert onboarding(db, key).channel_state == "removed"
