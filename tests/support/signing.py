"""Talk to a Slack app over HTTP exactly as Slack does: signed requests with Slack's payloads.

Signing follows https://api.slack.com/authentication/verifying-requests-from-slack:
``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{raw body}`` keyed with the signing secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import ProxyHandler, Request, build_opener

__all__ = [
    "FORM",
    "JSON",
    "event_body",
    "interaction_body",
    "mention_event",
    "post",
    "sign",
    "slash_command_body",
]

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

TEAM_ID = "T0TEST"
TEAM_DOMAIN = "testteam"
API_APP_ID = "A0CONNECT"
# Slack still sends the deprecated verification token in payloads; Bolt ignores it.
VERIFICATION_TOKEN = "verification-token-test"

# No proxies: every URL these helpers post to is on loopback, and an http_proxy variable in
# the environment must not reroute test traffic.
_OPENER = build_opener(ProxyHandler({}))


def sign(
    secret: str,
    body: bytes,
    timestamp: int | None = None,
    *,
    content_type: str = FORM,
) -> dict[str, str]:
    """Headers Slack would send with ``body``: timestamp, signature and Content-Type."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    base = f"v0:{ts}:".encode() + body  # bytes, so non-UTF-8 bodies sign exactly as sent
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": content_type,
    }


def slash_command_fields(
    text: str,
    *,
    user_id: str = "U0ENG",
    user_name: str = "eng",
    channel_id: str = "C0ACME",
    channel_name: str = "acme",
    team_id: str = TEAM_ID,
    command: str = "/connect",
    response_url: str = "",
    trigger_id: str = "13345224609.738474920.8088930838d88f008e0",
    api_app_id: str = API_APP_ID,
) -> dict[str, str]:
    """A slash command's fields, in Slack's order: the HTTP form, or a Socket Mode payload."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def slash_command_body(text: str, **fields: str) -> bytes:
    """A slash command payload, form-encoded as Slack posts it over HTTP."""
    return urlencode(slash_command_fields(text, **fields)).encode()


def button_click(
    message: Any,
    button: dict[str, Any],
    *,
    user: str,
    channel: str,
    response_url: str,
    block_id: str,
    thread_ts: str | None = None,
    action_ts: str | None = None,
    trigger_id: str | None = None,
) -> dict[str, Any]:
    """The block_actions payload Slack sends when `user` clicks `button` on `message` (a Slack
    stand-in call: its params were posted, its response is what chat.postMessage answered)."""
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message.response["ts"],
        "channel_id": channel,
    }
    if thread_ts is not None:
        container["thread_ts"] = thread_ts
    return {
        "type": "block_actions",
        "user": {"id": user, "team_id": TEAM_ID},
        "team": {"id": TEAM_ID},
        "api_app_id": API_APP_ID,
        "trigger_id": trigger_id or f"trig-{uuid.uuid4().hex[:8]}",
        "response_url": response_url,
        "channel": {"id": channel},
        "container": container,
        "message": {**message.response["message"]},
        "actions": [
            {
                "type": "button",
                "action_id": button["action_id"],
                "block_id": block_id,
                "value": button["value"],
                "action_ts": action_ts or f"{time.time():.6f}",
            }
        ],
    }


def event_body(
    event: dict[str, Any],
    *,
    team_id: str = TEAM_ID,
    event_id: str | None = None,
    api_app_id: str = API_APP_ID,
    shared: bool = False,
) -> bytes:
    """An Events API ``event_callback`` envelope around ``event`` (JSON).

    Each call gets a fresh event_id unless one is given: Slack retries reuse the id, so a
    test of de-duplication passes the same one twice. ``shared``: the channel is a Slack
    Connect channel (``is_ext_shared_channel``); the envelope's team stays the installing one,
    the team the event is delivered to, whoever wrote the message.
    """
    envelope = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": "U0BOT",
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": shared,
        "context_team_id": team_id,
        "context_enterprise_id": None,
    }
    return json.dumps(envelope).encode()


# Slack's markup in a message's text, as rich_text elements: a person, a link (its label).
_TOKEN = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>|<([a-z][a-z0-9+.-]*:[^<>|]*)(?:\|([^<>]*))?>")


def _rich_text(text: str) -> list[dict[str, Any]]:
    """The rich_text block Slack's client sends along with `text` (the bot reads `text`)."""
    elements: list[dict[str, Any]] = []
    at = 0
    for match in _TOKEN.finditer(text):
        if match.start() > at:
            elements.append({"type": "text", "text": _unescape(text[at : match.start()])})
        if match.group(1):
            elements.append({"type": "user", "user_id": match.group(1)})
        else:
            link = {"type": "link", "url": match.group(2)}
            elements.append({**link, "text": _unescape(match.group(3))} if match.group(3) else link)
        at = match.end()
    if at < len(text):
        elements.append({"type": "text", "text": _unescape(text[at:])})
    block_id = uuid.uuid4().hex[:5]
    section = {"type": "rich_text_section", "elements": elements}
    return [{"type": "rich_text", "block_id": block_id, "elements": [section]}]


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def mention_event(
    text: str,
    *,
    user: str,
    user_team: str,
    channel: str,
    ts: str,
    thread_ts: str | None = None,
    parent_user_id: str | None = None,
    kind: str = "app_mention",
) -> dict[str, Any]:
    """A person's message as Slack delivers it to an app (``kind`` "app_mention", or the
    "message" event Slack sends for the very same message to a message.channels
    subscriber), written in a Slack Connect channel by a member of `user_team` (another
    organisation's team, for a guest).

    `text` is exactly as Slack sends it: mentions as ``<@U0BOT>``, what the person typed as
    ``&`` ``<`` ``>`` escaped to ``&amp;`` ``&lt;`` ``&gt;``, and what Slack's client linked as
    ``<mailto:a@b|a@b>`` or ``<http://acme.com|acme.com>``. `team`, `user_team` and
    `source_team` all name the writer's own team: the envelope (event_body) names the
    installing team. In a thread, `thread_ts` and `parent_user_id` say whose message it hangs
    under.
    """
    event: dict[str, Any] = {
        "client_msg_id": str(uuid.uuid4()),
        "type": kind,
        "text": text,
        "user": user,
        "ts": ts,
        "blocks": _rich_text(text),
        "team": user_team,
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
        event["parent_user_id"] = parent_user_id or "U0BOT"
    event.update(user_team=user_team, source_team=user_team, channel=channel, event_ts=ts)
    if kind == "message":
        event["channel_type"] = "group" if channel.startswith("G") else "channel"
    return event


def interaction_body(payload: dict[str, Any]) -> bytes:
    """An interactivity request (block_actions, view_submission, ...): ``payload=<json>``."""
    return urlencode({"payload": json.dumps(payload)}).encode()


def post(
    url: str,
    secret: str,
    body: bytes,
    *,
    content_type: str = FORM,
    timestamp: int | None = None,
    headers: dict[str, str] | None = None,
    signature: str | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """POST a signed request; return (status, headers with lower-cased names, body).

    HTTP error statuses (401, 404, 500 ...) are returned, not raised, so tests can assert on
    them. ``signature`` replaces the computed signature (bad-signature tests); ``headers``
    are added last and win over the computed ones.
    """
    all_headers = sign(secret, body, timestamp, content_type=content_type)
    if signature is not None:
        all_headers["X-Slack-Signature"] = signature
    all_headers.update(headers or {})
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {url!r}")
    # S310: the scheme is checked just above.
    request = Request(url, data=body, headers=all_headers, method="POST")  # noqa: S310
    try:
        with _OPENER.open(request, timeout=10) as response:
            return response.status, _lower(response.headers.items()), response.read()
    except HTTPError as error:
        with error:
            return error.code, _lower(error.headers.items()), error.read()


def _lower(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in items}
