"""Slash commands to a real `connect-bot serve`, for the end-to-end tests: new keys and channels,
a command whose work runs after the ack, an onboarding opened and waited for, the posts and
response_url calls the Slack stand-in received, and the rows the bot's database holds."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from store.models import AuditEvent, Onboarding, StepStatus
from support.bot_process import BotProcess
from support.slack_standin import Call, SlackStandIn

WAIT = 10.0  # seconds: bound for any single reply to arrive
# What a person reads when they ask for an onboarding that is not theirs (the product's text,
# written out here so that a change to it is a test change too).
NOT_YOURS = (
    "I can't do that here. In this channel I can only help with the onboarding it is bound to; "
    "a Connect engineer can help with anything else."
)


def new_key(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def new_channel() -> str:
    return "C" + uuid.uuid4().hex[:10].upper()


def is_post_in(channel: str) -> Callable[[Call], bool]:
    """A message posted in the channel itself (the RFI thread's replies are not counted)."""
    return lambda c: (
        c.method == "chat.postMessage"
        and c.params.get("channel") == channel
        and not c.params.get("thread_ts")
    )


def posts_in(slack: SlackStandIn, channel: str) -> list[Call]:
    return [c for c in slack.calls("chat.postMessage") if is_post_in(channel)(c)]


def wait_posts(slack: SlackStandIn, channel: str, count: int = 1) -> list[Call]:
    return slack.wait_for(is_post_in(channel), count, timeout=WAIT)


def responses_to(slack: SlackStandIn, name: str | None) -> list[Call]:
    assert name is not None
    return [c for c in slack.calls("response_url") if c.name == name]


def wait_responses(slack: SlackStandIn, name: str | None, count: int = 1) -> list[Call]:
    assert name is not None
    return slack.wait_for(lambda c: c.method == "response_url" and c.name == name, count, WAIT)


def mrkdwn_texts(message: dict[str, Any]) -> list[str]:
    """Every piece of a message Slack parses as mrkdwn: the top-level text, sections, contexts."""
    texts = [message.get("text", "")]
    for block in message.get("blocks") or []:
        if block["type"] == "section" and block.get("text", {}).get("type") == "mrkdwn":
            texts.append(block["text"]["text"])
        elif block["type"] == "context":
            texts += [e["text"] for e in block["elements"] if e.get("type") == "mrkdwn"]
    return texts


def header_of(message: dict[str, Any]) -> dict[str, Any]:
    (header,) = [b for b in message["blocks"] if b["type"] == "header"]
    return header["text"]


def section_text(message: dict[str, Any]) -> str:
    return "\n".join(
        b["text"]["text"] for b in message["blocks"] if b["type"] == "section" and "text" in b
    )


def send_ok(bot: BotProcess, text: str, **kwargs: Any) -> Any:
    """Send a command whose work runs after the ack: the ack is an empty HTTP 200."""
    reply = bot.send(text, **kwargs)
    assert reply.status == 200, reply
    assert reply.body == b"", reply.body
    return reply


def open_onboarding(
    bot: BotProcess,
    slack: SlackStandIn,
    key: str,
    channel: str,
    *,
    service: str = "both",
    user_id: str = "U0ENG",
    extra: str = "",
) -> Call:
    before = len(posts_in(slack, channel))
    send_ok(
        bot, f"open {key} --service {service} {extra}".strip(), channel_id=channel, user_id=user_id
    )
    # Opening posts the plan, then starts the RFI: its message, and its first question in the
    # thread. Wait for all three, so that later posts in the channel come after them.
    plan, rfi = wait_posts(slack, channel, before + 2)[before : before + 2]
    slack.wait_for(
        lambda c: c.method == "chat.postMessage" and c.params.get("thread_ts") == rfi.response["ts"]
    )
    assert plan.answered == "ok"
    assert "Onboarding: " in plan.params["text"], plan
    assert rfi.params["text"].startswith("Request for information:"), rfi
    return plan


def counts(db: Engine) -> dict[str, int]:
    with Session(db) as session:
        return {
            model.__name__: session.exec(select(func.count()).select_from(model)).one()
            for model in (Onboarding, StepStatus, AuditEvent)
        }


def onboarding_row(db: Engine, key: str) -> Onboarding | None:
    with Session(db) as session:
        return session.exec(select(Onboarding).where(Onboarding.key == key)).first()


def step_rows(db: Engine, key: str) -> dict[str, StepStatus]:
    with Session(db) as session:
        query = (
            select(StepStatus)
            .join(Onboarding, col(Onboarding.id) == col(StepStatus.onboarding_id))
            .where(Onboarding.key == key)
        )
        return {row.step: row for row in session.exec(query)}


def events(db: Engine, key: str) -> list[AuditEvent]:
    with Session(db) as session:
        query = (
            select(AuditEvent)
            .join(Onboarding, col(Onboarding.id) == col(AuditEvent.onboarding_id))
            .where(Onboarding.key == key)
            .order_by(col(AuditEvent.id))
        )
        return list(session.exec(query))
