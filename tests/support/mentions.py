"""`@connect` mentions to a real `connect-bot serve`, as Slack delivers them for a person of
another organisation in a Slack Connect channel: the app_mention event (and, when asked, the
`message` event Slack sends for the same message to a message.channels subscriber), signed, and
what the bot answered in the mention's thread (chat.postMessage there), to the person alone
(chat.postEphemeral) or anywhere else in the channel.

Slack offers an app's slash commands only to members of the installing organisation, so this
is how the tests speak for a customer contact of another team (BotProcess.send refuses them).
"""

from __future__ import annotations

import itertools
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from support.bot_process import BotProcess
from support.signing import JSON, TEAM_ID, event_body, interaction_body, mention_event, post
from support.slack_standin import BOT_USER_ID, Call, SlackStandIn

WAIT = 10.0  # seconds: bound for any single answer to arrive
AT = f"<@{BOT_USER_ID}>"  # the bot's mention as Slack writes it in a message's text
_ts = itertools.count(1)


def new_ts() -> str:
    return f"{int(time.time())}.{900_000 + next(_ts) % 100_000:06d}"


def guest(slack: SlackStandIn, company: str = "acme") -> tuple[str, str]:
    """A new Slack Connect guest of `company` (users.info: their own team, a stranger):
    (user id, team id)."""
    user_id = "U0" + uuid.uuid4().hex[:8].upper()
    team_id = f"T0{company.upper()[:8]}"
    slack.set_user(user_id, team_id=team_id, is_stranger=True)
    return user_id, team_id


@dataclass(frozen=True)
class Mentioned:
    """One mention that was delivered: where the bot should answer it."""

    channel: str
    ts: str
    thread_ts: str  # the thread it was written in, or its own ts (a thread under it)
    user: str

    def in_thread(self, call: Call) -> bool:
        """A message the bot posted in the mention's thread."""
        return (
            call.method == "chat.postMessage"
            and call.params.get("channel") == self.channel
            and call.params.get("thread_ts") == self.thread_ts
        )

    def whispered(self, call: Call) -> bool:
        """An ephemeral message to the person, in the mention's thread."""
        return (
            call.method == "chat.postEphemeral"
            and call.params.get("channel") == self.channel
            and call.params.get("user") == self.user
            and call.params.get("thread_ts") == self.thread_ts
        )


def mention(
    bot: BotProcess,
    text: str,
    *,
    user: str,
    team: str,
    channel: str,
    thread_ts: str | None = None,
    ts: str | None = None,
    event_id: str | None = None,
    retry: int | None = None,
    also_message: bool = False,
) -> Mentioned:
    """Deliver `text` (exactly as Slack sends it, e.g. f"{AT} status") written by `user` of
    `team` in `channel` (in the thread `thread_ts`, if given). `also_message`: deliver the
    message event Slack sends for the same message too (first, as it may well arrive)."""
    ts = ts or new_ts()
    if also_message:
        same = mention_event(
            text,
            user=user,
            user_team=team,
            channel=channel,
            ts=ts,
            thread_ts=thread_ts,
            kind="message",
        )
        assert deliver(bot, same) == 200
    event = mention_event(
        text, user=user, user_team=team, channel=channel, ts=ts, thread_ts=thread_ts
    )
    assert deliver(bot, event, event_id=event_id, retry=retry) == 200
    return Mentioned(channel, ts, thread_ts or ts, user)


def deliver(
    bot: BotProcess, event: dict[str, Any], *, event_id: str | None = None, retry: int | None = None
) -> int:
    """POST one signed event from a Slack Connect channel; the HTTP status."""
    headers = (
        {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else None
    )
    body = event_body(event, event_id=event_id, shared=True, team_id=TEAM_ID)
    status, _, _ = post(bot.events_url, bot.secret, body, content_type=JSON, headers=headers)
    return status


def thread_reply(
    bot: BotProcess, text: str, *, user: str, team: str, channel: str, thread_ts: str
) -> str:
    """A plain reply in a thread (no mention), from a Slack Connect guest; its ts."""
    ts = new_ts()
    event = mention_event(
        text, user=user, user_team=team, channel=channel, ts=ts, thread_ts=thread_ts, kind="message"
    )
    assert deliver(bot, event) == 200
    return ts


def wait(slack: SlackStandIn, match: Callable[[Call], bool], count: int = 1) -> list[Call]:
    return slack.wait_for(match, count, WAIT)


def channel_wide(slack: SlackStandIn, channel: str) -> list[Call]:
    """Messages the bot posted in the channel itself, outside any thread."""
    return [
        c
        for c in slack.calls("chat.postMessage")
        if c.params.get("channel") == channel and not c.params.get("thread_ts")
    ]


def buttons_of(call: Call) -> list[dict[str, Any]]:
    return [
        element
        for block in call.params.get("blocks") or []
        if block.get("type") == "actions"
        for element in block["elements"]
    ]


def click_ephemeral(
    bot: BotProcess,
    slack: SlackStandIn,
    message: Call,
    button: dict[str, Any],
    *,
    user: str,
    team: str,
    trigger_id: str,
) -> str:
    """Click `button` on an ephemeral message (a chat.postEphemeral the stand-in recorded) as
    Slack sends it: the container says is_ephemeral and Slack sends no copy of the message.
    Returns the name of the click's response_url."""
    name = f"click-{uuid.uuid4().hex[:8]}"
    channel = message.params["channel"]
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message.response["message_ts"],
        "channel_id": channel,
        "is_ephemeral": True,
    }
    if message.params.get("thread_ts"):
        container["thread_ts"] = message.params["thread_ts"]
    payload = {
        "type": "block_actions",
        "user": {"id": user, "team_id": team},
        "team": {"id": TEAM_ID},
        "api_app_id": "A0CONNECT",
        "trigger_id": trigger_id,
        "response_url": slack.response_url(name),
        "channel": {"id": channel},
        "container": container,
        "actions": [
            {
                "type": "button",
                "action_id": button["action_id"],
                "block_id": "connect_actions",
                "value": button["value"],
                "action_ts": new_ts(),
            }
        ],
    }
    status, _, body = post(bot.events_url, bot.secret, interaction_body(payload))
    assert (status, body) == (200, b""), body
    return name


def idle(bot: BotProcess) -> None:
    """Wait until the bot has done the work of every request it acked (its log says so, and
    holds still a moment): whatever those requests were going to post is posted by then."""
    deadline = time.monotonic() + WAIT
    last: tuple[int, bool] = (-1, False)
    while time.monotonic() < deadline:
        now = _log_state(bot)
        if now == last and now[1]:
            return
        last = now
        time.sleep(0.2)
    raise AssertionError(f"the bot never went quiet in {WAIT} s:\n{bot.log_text(20_000)}")


def _log_state(bot: BotProcess) -> tuple[int, bool]:
    lines = bot.log_text().splitlines()
    acked = [line for line in lines if "request acked" in line]
    deferred = {m.group(1) for line in acked if "outcome=" not in line for m in _ids(line)}
    done = {m.group(1) for line in lines if "request done" in line for m in _ids(line)}
    return len(acked), deferred <= done


def _ids(line: str) -> list[re.Match[str]]:
    found = _REQUEST_ID.search(line)
    return [found] if found else []


_REQUEST_ID = re.compile(r"request_id=(\w+)")
