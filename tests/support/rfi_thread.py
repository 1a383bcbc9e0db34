"""The RFI thread end to end, for tests that drive a real `connect-bot serve`: open an
onboarding over a signed slash command, reply in its RFI thread as Slack delivers Events API
message events, click its buttons, and read back what the bot posted and stored."""

from __future__ import annotations

import itertools
import time
import uuid
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from store.models import Onboarding, RfiAnswer, StepStatus
from support.bot_process import BotProcess
from support.signing import JSON, button_click, event_body, interaction_body, post
from support.slack_standin import Call, SlackStandIn

WAIT = 10.0  # seconds: bound for any single reply to arrive
BOT_USER = "U0BOT"  # the stand-in's auth.test user: the bot itself
_ts = itertools.count(1)


def ts() -> str:
    return f"{int(time.time())}.{next(_ts):06d}"


def new_key() -> str:
    return f"rfi-{uuid.uuid4().hex[:8]}"


def new_channel() -> str:
    return "C" + uuid.uuid4().hex[:10].upper()


class Thread:
    """An onboarding's RFI thread as a customer sees it."""

    def __init__(self, bot: BotProcess, slack: SlackStandIn, key: str, channel: str) -> None:
        self.bot, self.slack, self.key, self.channel = bot, slack, key, channel
        root = slack.wait_for(self._is_root, 1, WAIT)[0]
        self.ts = str(root.response["ts"])
        self.root = root

    def _is_root(self, call: Call) -> bool:
        return (
            call.method == "chat.postMessage"
            and call.params.get("channel") == self.channel
            and not call.params.get("thread_ts")
            and call.params.get("text", "").startswith("Request for information:")
        )

    def replies(self) -> list[Call]:
        return [
            c
            for c in self.slack.calls("chat.postMessage")
            if c.params.get("channel") == self.channel and c.params.get("thread_ts") == self.ts
        ]

    def wait_replies(self, count: int) -> list[Call]:
        def in_thread(c: Call) -> bool:
            return (
                c.method == "chat.postMessage"
                and c.params.get("channel") == self.channel
                and c.params.get("thread_ts") == self.ts
            )

        return self.slack.wait_for(in_thread, count, WAIT)

    def say(
        self,
        text: str,
        *,
        user: str = "U0CUST",
        event_id: str | None = None,
        message_ts: str | None = None,
        retry: int | None = None,
    ) -> str:
        """Reply in the thread (as Slack delivers it) and wait for the bot's answer."""
        before = len(self.replies())
        message_ts = message_ts or ts()
        status = send_event(
            self.bot,
            {
                "type": "message",
                "channel": self.channel,
                "channel_type": "channel",
                "user": user,
                "text": text,
                "ts": message_ts,
                "thread_ts": self.ts,
                "event_ts": message_ts,
            },
            event_id=event_id,
            retry=retry,
        )
        assert status == 200
        self.wait_replies(before + 1)
        return message_ts

    def last(self) -> str:
        return self.replies()[-1].params["text"]


def send_event(
    bot: BotProcess, event: dict[str, Any], *, event_id: str | None = None, retry: int | None = None
) -> int:
    headers = (
        {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        if (retry)
        else None
    )
    status, _, _ = post(
        bot.events_url,
        bot.secret,
        event_body(event, event_id=event_id),
        content_type=JSON,
        headers=headers,
    )
    return status


def open_rfi(bot: BotProcess, slack: SlackStandIn, service: str = "both") -> Thread:
    key, channel = new_key(), new_channel()
    reply = bot.send(f"open {key} --service {service}", channel_id=channel, user_id="U0ENG")
    assert reply.status == 200
    thread = Thread(bot, slack, key, channel)
    thread.wait_replies(1)  # the first question
    return thread


def answers(db: Engine, key: str) -> dict[str, list[Any]]:
    with Session(db) as session:
        query = (
            select(RfiAnswer)
            .join(Onboarding, col(Onboarding.id) == col(RfiAnswer.onboarding_id))
            .where(Onboarding.key == key)
            .order_by(col(RfiAnswer.id))
        )
        found: dict[str, list[Any]] = {}
        for row in session.exec(query):
            found.setdefault(row.question, []).extend(row.values)
        return found


def answer_rows(db: Engine, key: str) -> list[RfiAnswer]:
    with Session(db) as session:
        query = (
            select(RfiAnswer)
            .join(Onboarding, col(Onboarding.id) == col(RfiAnswer.onboarding_id))
            .where(Onboarding.key == key)
            .order_by(col(RfiAnswer.id))
        )
        return list(session.exec(query))


def rfi_state(db: Engine, key: str) -> str:
    with Session(db) as session:
        query = (
            select(StepStatus.state)
            .join(Onboarding, col(Onboarding.id) == col(StepStatus.onboarding_id))
            .where(Onboarding.key == key, StepStatus.step == "rfi")
        )
        return session.exec(query).one()


def mrkdwn_of(call: Call) -> list[str]:
    texts = [call.params.get("text", "")]
    for block in call.params.get("blocks") or []:
        if block.get("type") == "section":
            texts.append(block["text"]["text"])
        if block.get("type") == "context":
            texts += [e["text"] for e in block["elements"]]
    return texts


def buttons(call: Call) -> list[dict[str, Any]]:
    return [
        element
        for block in call.params.get("blocks") or []
        if block.get("type") == "actions"
        for element in block["elements"]
    ]


def click(
    bot: BotProcess, thread: Thread, message: Call, button: dict[str, Any], *, user: str = "U0CUST"
) -> tuple[int, bytes]:
    payload = button_click(
        message,
        button,
        user=user,
        channel=thread.channel,
        response_url=thread.slack.response_url(f"click-{uuid.uuid4().hex[:8]}"),
        block_id="connect_actions",
        thread_ts=message.params.get("thread_ts"),
        action_ts=ts(),
    )
    status, _, body = post(bot.events_url, bot.secret, interaction_body(payload))
    return status, body


FULL = [
    (
        "Jane Smith, jane@acme.example, primary, +44 20 7946 0000\n"
        "Raj Patel, raj@acme.example, technical",
        "contacts",
    ),
    ("next", None),
    ("127.0.0.10, ::1", "outbound_ips"),
    ("next", None),
    ("acme.example, bücher.example", "domains"),
    ("next", None),
    ("127.0.0.11:2525", "forwarding"),
    ("next", None),
    ("Exchange 2019", "platform"),
    ("Proofpoint", "previous_provider"),
    ("SMTP", "journaling"),
    ("Active Directory", "directory"),
]
