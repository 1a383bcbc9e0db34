"""Checks driven through a real `connect-bot serve`, for the end-to-end tests: an onboarding
whose RFI is answered up to its domains by thread replies, and `/connect check` followed from
its progress message to the report that replaces it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

from support.bot_process import BotProcess
from support.signing import JSON, event_body, post
from support.slack_standin import Call, SlackStandIn

WAIT = 15.0
CONTACTS = "Jane, jane@acme.example, primary\nRaj, raj@acme.example, technical"


def top_level(slack: SlackStandIn, channel: str) -> list[Call]:
    """The messages the bot posted in the channel itself (not in threads)."""
    return [
        c
        for c in slack.calls("chat.postMessage")
        if c.params.get("channel") == channel and not c.params.get("thread_ts")
    ]


def onboarding_with_domains(
    bot: BotProcess,
    slack: SlackStandIn,
    domains: str | Sequence[str],
    *,
    region: str = "eu",
    prefix: str = "chk",
) -> tuple[str, str]:
    """Open an onboarding in a new channel and answer its RFI up to the domains question, in
    the thread, as a customer: (key, channel)."""
    key, channel = f"{prefix}-{uuid.uuid4().hex[:8]}", "C" + uuid.uuid4().hex[:10].upper()
    flags = f"--region {region}" if region else ""
    assert bot.send(f"open {key} --service both {flags}", channel_id=channel).status == 200
    root = slack.wait_for(
        lambda c: (
            c.method == "chat.postMessage"
            and c.params.get("channel") == channel
            and c.params.get("text", "").startswith("Request for information:")
        ),
        1,
        WAIT,
    )[0]
    thread_ts = root.response["ts"]
    answer = domains if isinstance(domains, str) else ", ".join(domains)
    replies = 1
    for text in (CONTACTS, "next", "127.0.0.40", "next", answer, "next"):
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
    return key, channel


def run_check(
    bot: BotProcess,
    slack: SlackStandIn,
    key: str,
    channel: str,
    what: str = "",
    *,
    timeout: float = WAIT,
) -> tuple[Call, Call]:
    """`/connect check` by the engineer: the progress message, and the chat.update that
    replaced it with the report."""
    before = len(top_level(slack, channel))
    reply = bot.send(f"check {key} {what}".strip(), channel_id=channel, user_id="U0ENG")
    assert (reply.status, reply.body) == (200, b"")  # acked at once; the DNS work comes after
    progress = slack.wait_for(lambda c: c in top_level(slack, channel), before + 1, WAIT)[-1]
    assert "⏳ Checking" in progress.params["text"]
    ts = progress.response["ts"]
    final = slack.wait_for(
        lambda c: (
            c.method == "chat.update"
            and c.params.get("ts") == ts
            and "⏳" not in c.params.get("text", "")
        ),
        1,
        timeout,
    )[-1]
    return progress, final
