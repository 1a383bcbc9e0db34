"""A local stand-in for the Slack Web API and response_url endpoints, for end-to-end tests.

It answers the few Web API methods the bot uses the way Slack does (HTTP 200, JSON, ``ok``),
records every call so tests can assert on what the bot sent, and can be told to fail, rate
limit or slow down specific methods. It is as strict as Slack where the bot could go wrong:
too much block text, invalid Block Kit (checked with slack_sdk's models), chat.update beyond
its tier, posts to an archived channel. Standard library and slack_sdk only.

Usage::

    with SlackStandIn() as slack:
        client = WebClient(token="xoxb-test", base_url=slack.api_url)
        client.chat_postMessage(channel="C0ACME", text="hi")
        (call,) = slack.wait_for("chat.postMessage")

For Socket Mode, set ``slack.socket_url`` (e.g. a ``SocketModeServer``'s url): then
``apps.connections.open`` answers ``{"ok": true, "url": socket_url}`` to app-level (``xapp-``)
tokens and ``not_allowed_token_type`` to any other token, as Slack does.
"""

from __future__ import annotations

import itertools
import json
import math
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

__all__ = ["Call", "SlackStandIn", "SlashCommandNotOffered"]

TEAM_ID = "T0TEST"
TEAM_NAME = "Test Team"
TEAM_URL = "https://testteam.slack.com/"
BOT_USER_ID = "U0BOT"
BOT_USER_NAME = "connect"
BOT_ID = "B0BOT"

# Slack message timestamps look like "1700000000.000100"; ours count up from there so that
# every posted message gets a unique, ordered ts (tests use them as thread keys).
_TS_BASE_SECONDS = 1_700_000_000
_TS_STEP_MICROS = 100

# Slack refuses a message whose blocks hold more text than about this, all blocks together
# (undocumented; reports put the refusals from about 11,300 characters).
BLOCK_TEXT_LIMIT = 11_000
MESSAGE_BLOCKS = 50
# chat.update is a Tier 3 method: about 50 calls a minute per workspace.
UPDATE_TIER_PER_MINUTE = 50
_CHAT_WITH_BLOCKS = ("chat.postMessage", "chat.update", "chat.postEphemeral")

RESPONSE_URL_METHOD = "response_url"
FILE_DOWNLOAD_METHOD = "files.download"  # a GET of a private file URL, recorded like a call
APPS_CONNECTIONS_OPEN = "apps.connections.open"


@dataclass
class Call:
    """One request the stand-in received.

    ``headers`` has lower-cased names (urllib sends "Content-type", others "Content-Type").
    ``answered`` is how it was answered: "ok", "error" (``ok: false``) or "429".
    """

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    at: float
    name: str | None = None
    answered: str = "ok"
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def token(self) -> str | None:
        """The bearer token the caller sent, if any."""
        auth = self.headers.get("authorization", "")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "bearer":
            return None
        return value.strip() or None

    def __str__(self) -> str:
        label = self.method if self.name is None else f"{self.method}[{self.name}]"
        return f"{label} -> {self.answered} {json.dumps(self.params, default=str)[:300]}"


@dataclass
class _Injection:
    """A pending failure for the next ``remaining`` matching calls."""

    remaining: int
    channel: str | None
    error: str
    retry_after: int | None = None  # set for rate limits (HTTP 429)

    def matches(self, params: dict[str, Any]) -> bool:
        return self.channel is None or params.get("channel") == self.channel


Predicate = str | Callable[[Call], bool]


class SlashCommandNotOffered(AssertionError):
    """A test sent a slash command that Slack would never deliver: Slack offers an app's slash
    commands only to members of the organisation that installed it, so a Slack Connect guest
    from another organisation gets "/connect is not a valid command". Such a person reaches the
    bot by mentioning it (support/mentions.py), by its buttons and its threads."""


class SlackStandIn:
    """Serves a Slack-like Web API on 127.0.0.1 (ephemeral port) from a daemon thread."""

    def __init__(self, *, real_time_ts: bool = False) -> None:
        self._calls: list[Call] = []
        # Message ts from the wall clock (still unique and ordered), for tests of code that
        # reads history with `oldest` set from real times (the reminder dispatcher).
        self._real_time_ts = real_time_ts
        self._last_ts_micros = 0
        # Every message posted, in order: conversations.history and .replies read these.
        self._messages: list[dict[str, Any]] = []
        # One condition guards all mutable state; wait_for sleeps on it instead of polling.
        self._cond = threading.Condition()
        self._ts_counter = itertools.count(1)
        self._rate_limits: dict[str, list[_Injection]] = {}
        self._failures: dict[str, list[_Injection]] = {}
        self._delays: dict[str, float] = {}
        self._users: dict[str, dict[str, Any]] = {}
        self._files: dict[str, tuple[dict[str, Any], bytes]] = {}  # id -> (info, content)
        self._cut_after: dict[str, int] = {}  # file id -> bytes sent before the connection drops
        # The installing organisation's Enterprise Grid id, if any: auth.test reports it.
        self.enterprise_id: str | None = None
        # Where apps.connections.open sends Socket Mode clients; None: the method is unknown.
        self.socket_url: str | None = None
        # As strict as Slack: block text beyond this is msg_blocks_too_long; chat.update calls
        # beyond `update_tier` in `update_window` seconds get a 429 (None: no tier); archived
        # channels refuse posts with is_archived.
        self.block_text_limit = BLOCK_TEXT_LIMIT
        self.update_tier: int | None = UPDATE_TIER_PER_MINUTE
        self.update_window = 60.0
        self._update_times: list[float] = []
        self._archived: set[str] = set()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> SlackStandIn:
        if self._server is not None:
            return self
        self._stopping.clear()
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.standin = self  # type: ignore[attr-defined]  # the handler finds us through this
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"slack-standin-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()  # cut short any injected delay so shutdown is quick
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("SlackStandIn is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """Base URL for ``WebClient(base_url=...)`` / ``SLACK_API_URL`` (ends with a slash)."""
        return f"{self.url}/api/"

    def response_url(self, name: str) -> str:
        """A response_url whose posts are recorded as method "response_url" with this name."""
        return f"{self.url}/response/{name}"

    # -- recorded calls --------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        with self._cond:
            return [c for c in self._calls if method is None or c.method == method]

    def clear(self) -> None:
        """Forget recorded calls (injected failures and delays stay)."""
        with self._cond:
            self._calls.clear()

    def reset(self) -> None:
        """Forget recorded calls, injected failures, delays and configured users.

        ``socket_url`` stays: like the API URL, it is where the stand-in lives, not a knob.
        """
        with self._cond:
            self._calls.clear()
            self._rate_limits.clear()
            self._failures.clear()
            self._delays.clear()
            self._users.clear()
            self._files.clear()
            self._cut_after.clear()
            self._messages.clear()
            self._archived.clear()
            self._update_times.clear()

    def wait_for(self, predicate: Predicate, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until at least ``count`` calls match; return all matching calls.

        ``predicate`` is a method name ("chat.postMessage", "response_url") or a callable.
        Raises AssertionError listing every call seen if the timeout passes first.
        """
        match: Callable[[Call], bool] = (
            (lambda c: c.method == predicate) if isinstance(predicate, str) else predicate
        )
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [c for c in self._calls if match(c)]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = "\n".join(f"  {c}" for c in self._calls) or "  (none)"
                    what = predicate if isinstance(predicate, str) else repr(predicate)
                    raise AssertionError(
                        f"timed out after {timeout}s waiting for {count} call(s) matching "
                        f"{what}; {len(found)} matched. Calls seen:\n{seen}"
                    )
                self._cond.wait(remaining)

    # -- behaviour knobs -------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        error: str = "not_in_channel",
        count: int = 1,
        channel: str | None = None,
    ) -> None:
        """Answer the next ``count`` calls of ``method`` with ``{"ok": false, "error": error}``."""
        with self._cond:
            self._failures.setdefault(method, []).append(_Injection(count, channel, error))

    def rate_limit_next(
        self,
        method: str,
        retry_after: int = 1,
        count: int = 1,
        channel: str | None = None,
    ) -> None:
        """Answer the next ``count`` calls of ``method`` (for ``channel`` only, if given) with
        HTTP 429, ``Retry-After: retry_after`` and ``{"ok": false, "error": "ratelimited"}``."""
        with self._cond:
            self._rate_limits.setdefault(method, []).append(
                _Injection(count, channel, "ratelimited", retry_after)
            )

    def delay(self, method: str, seconds: float) -> None:
        """Wait ``seconds`` before answering every later call of ``method`` (0 removes it)."""
        with self._cond:
            if seconds > 0:
                self._delays[method] = seconds
            else:
                self._delays.pop(method, None)

    def set_update_tier(self, per_window: int | None, window: float = 60.0) -> None:
        """At most `per_window` chat.update calls per `window` seconds, then 429 with the
        Retry-After that lets the next one through (None: no limit)."""
        with self._cond:
            self.update_tier, self.update_window = per_window, window
            self._update_times.clear()

    def archive(self, channel: str, archived: bool = True) -> None:
        """Archive (or unarchive) a channel: posts and updates there get is_archived."""
        with self._cond:
            if archived:
                self._archived.add(channel)
            else:
                self._archived.discard(channel)

    def add_file(
        self, file_id: str, name: str, content: bytes, *, cut_after: int | None = None, **info: Any
    ) -> None:
        """A file files.info describes and whose private URL serves `content` to a caller
        with a bot token (like Slack, an HTML sign-in page to anyone else).

        ``cut_after=n``: the download announces the whole length but sends only the first n
        bytes and closes the connection, like a network failing mid-way."""
        with self._cond:
            if cut_after is None:
                self._cut_after.pop(file_id, None)
            else:
                self._cut_after[file_id] = cut_after
            self._files[file_id] = (
                {
                    "id": file_id,
                    "name": name,
                    "title": name,
                    "size": len(content),
                    "url_private": f"{self.url}/files-pri/{file_id}/{quote(name)}",
                    "url_private_download": f"{self.url}/files-pri/{file_id}/download/"
                    f"{quote(name)}",
                    **info,
                },
                content,
            )

    def set_user(self, user_id: str, **fields: Any) -> None:
        """Override fields users.info returns for ``user_id`` (name, tz, tz_offset, ...).

        A Slack Connect guest: ``set_user("U0EXT", team_id="T0OTHER", is_stranger=True)``; a
        Grid colleague: ``team_id="T0SISTER", enterprise_user={"enterprise_id": "E0ORG"}``."""
        with self._cond:
            self._users.setdefault(user_id, {}).update(fields)

    def check_slash_command(
        self, user_id: str, team_id: str, enterprise_id: str | None = None
    ) -> None:
        """Raise SlashCommandNotOffered unless Slack would deliver a slash command typed by
        `user_id` in the workspace `team_id`: the command must come from the installing team
        (or, on Enterprise Grid, its organisation), typed by someone this stand-in does not know
        as another organisation's (set_user with another team, or is_stranger)."""
        home = {TEAM_ID}
        with self._cond:
            user = dict(self._users.get(user_id, {}))
            grid = self.enterprise_id

        def ours(team: object, enterprise: object) -> bool:
            return team in home or (grid is not None and enterprise == grid)

        user_enterprise = (user.get("enterprise_user") or {}).get("enterprise_id")
        why = None
        if not ours(team_id, enterprise_id):
            why = f"it was typed in the workspace {team_id}, not in the installing team {TEAM_ID}"
        elif not ours(user.get("team_id", TEAM_ID), user_enterprise):
            why = f"users.info places {user_id} in another organisation ({user['team_id']})"
        elif user.get("is_stranger"):
            why = f"users.info says {user_id} is a stranger (a Slack Connect guest)"
        if why is not None:
            raise SlashCommandNotOffered(
                f"Slack would not deliver this slash command: {why}. Slack offers an app's "
                "slash commands only to members of the organisation that installed it; "
                "send a mention instead (support/mentions.py)."
            )

    # -- request handling (called from server threads) -------------------------------------

    def _next_ts(self) -> str:
        if self._real_time_ts:
            micros = max(self._last_ts_micros + 1, int(time.time() * 1_000_000))
            self._last_ts_micros = micros
            return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"
        micros = next(self._ts_counter) * _TS_STEP_MICROS
        return f"{_TS_BASE_SECONDS + micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _take(
        self, table: dict[str, list[_Injection]], method: str, params: dict[str, Any]
    ) -> _Injection | None:
        """Consume one matching injection, if any (caller holds the lock)."""
        for injection in table.get(method, []):
            if injection.matches(params):
                injection.remaining -= 1
                if injection.remaining <= 0:
                    table[method].remove(injection)
                return injection
        return None

    def _handle(
        self, method: str, name: str | None, params: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        """Decide the answer, wait any delay, record the call; return (status, headers, body)."""
        call = Call(method=method, params=params, headers=headers, at=time.monotonic(), name=name)
        with self._cond:
            delay = self._delays.get(method, 0.0)
            status, extra_headers, body = self._answer(call)
        if delay:
            self._stopping.wait(delay)
        call.status, call.response = status, body
        if status == HTTPStatus.TOO_MANY_REQUESTS:
            call.answered = "429"
        else:
            call.answered = "ok" if body.get("ok") else "error"
        # Recorded just before answering, so wait_for never returns before the delay is over.
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()
        return status, extra_headers, body

    def _answer(self, call: Call) -> tuple[int, dict[str, str], dict[str, Any]]:
        method, params = call.method, call.params
        is_webhook = method == RESPONSE_URL_METHOD
        # Slack answers a missing token with HTTP 200 and not_authed; response_urls need none.
        if not is_webhook and not call.token:
            return 200, {}, {"ok": False, "error": "not_authed"}
        limit = self._take(self._rate_limits, method, params)
        if limit is not None:
            retry = {"Retry-After": str(limit.retry_after)}
            return 429, retry, {"ok": False, "error": "ratelimited"}
        failure = self._take(self._failures, method, params)
        if failure is not None:
            # response_url errors come back as HTTP errors (e.g. expired_url is a 404).
            status = (404 if failure.error == "expired_url" else 400) if is_webhook else 200
            return status, {}, {"ok": False, "error": failure.error}
        if is_webhook:
            return 200, {}, {"ok": True}
        if method == APPS_CONNECTIONS_OPEN and self.socket_url is not None:
            return 200, {}, self._apps_connections_open(call)
        builder = _METHODS.get(method)
        if builder is None:
            return 200, {}, {"ok": False, "error": "unknown_method"}
        refused = self._strict(call)
        if refused is not None:
            return refused
        return 200, {}, builder(self, params)

    def _strict(self, call: Call) -> tuple[int, dict[str, str], dict[str, Any]] | None:
        """What Slack refuses that the methods below would accept (caller holds the lock)."""
        method, params = call.method, call.params
        if method == "chat.update" and self.update_tier is not None:
            now = time.monotonic()
            self._update_times = [t for t in self._update_times if t > now - self.update_window]
            if len(self._update_times) >= self.update_tier:
                wait = self._update_times[0] + self.update_window - now
                retry = {"Retry-After": str(max(1, math.ceil(wait)))}
                return 429, retry, {"ok": False, "error": "ratelimited"}
            self._update_times.append(now)
        if method in _CHAT_WITH_BLOCKS and params.get("channel") in self._archived:
            return 200, {}, {"ok": False, "error": "is_archived"}
        blocks = params.get("blocks")
        view = params.get("view")
        if isinstance(view, str):
            view = _maybe_json(view)
        if isinstance(view, dict):
            blocks = view.get("blocks")
        if blocks is not None and not blocks_valid(blocks, max_blocks=100 if view else 50):
            return 200, {}, {"ok": False, "error": "invalid_blocks"}
        if method in _CHAT_WITH_BLOCKS and block_text_length(blocks) > self.block_text_limit:
            return 200, {}, {"ok": False, "error": "msg_blocks_too_long"}
        return None

    # -- Web API methods (caller holds the lock) -------------------------------------------

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        grid = {"enterprise_id": self.enterprise_id} if self.enterprise_id else {}
        return {
            **grid,
            "ok": True,
            "url": TEAM_URL,
            "team": TEAM_NAME,
            "team_id": TEAM_ID,
            "user": BOT_USER_NAME,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _message(self, params: dict[str, Any], ts: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "text": params.get("text", ""),
            "blocks": params.get("blocks", []),
            "ts": ts,
            "bot_id": BOT_ID,
            "user": BOT_USER_ID,
            "team": TEAM_ID,
        }
        for key in ("thread_ts", "metadata"):
            if params.get(key):
                message[key] = params[key]
        return message

    def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        ts = self._next_ts()
        message = self._message(params, ts)
        self._messages.append({**message, "channel": params.get("channel", "")})
        return {"ok": True, "channel": params.get("channel", ""), "ts": ts, "message": message}

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Messages posted (with their metadata and channel), oldest first."""
        with self._cond:
            return [m for m in self._messages if channel is None or m["channel"] == channel]

    def _read_messages(
        self, params: dict[str, Any], found: list[dict[str, Any]], *, newest_first: bool
    ) -> dict[str, Any]:
        # Like Slack: `oldest`/`latest` are exclusive ts bounds, pages of `limit` with a cursor,
        # metadata only when include_all_metadata is asked for.
        oldest = float(params.get("oldest") or 0)
        latest = float(params.get("latest") or "inf")
        found = [m for m in found if oldest < float(m["ts"]) < latest]
        if newest_first:
            found.reverse()
        limit = max(1, min(int(params.get("limit") or 100), 1000))
        start = int(params.get("cursor") or 0)
        page = found[start : start + limit]
        with_metadata = str(params.get("include_all_metadata", "")).lower() in ("1", "true")
        shown = [
            {k: v for k, v in m.items() if k != "channel" and (with_metadata or k != "metadata")}
            for m in page
        ]
        more = start + limit < len(found)
        return {
            "ok": True,
            "messages": shown,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        # History holds a channel's top-level messages; thread replies are read with .replies.
        found = [
            m
            for m in self._messages
            if m["channel"] == channel and m.get("thread_ts", m["ts"]) == m["ts"]
        ]
        return self._read_messages(params, found, newest_first=True)

    def _conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = params.get("channel"), str(params.get("ts", ""))
        found = [
            m
            for m in self._messages
            if m["channel"] == channel and (m["ts"] == ts or m.get("thread_ts") == ts)
        ]
        if not found:
            return {"ok": False, "error": "thread_not_found"}
        return self._read_messages(params, found, newest_first=False)

    def _chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": self._next_ts()}

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        ts = str(params.get("ts", ""))
        return {
            "ok": True,
            "channel": params.get("channel", ""),
            "ts": ts,
            "text": params.get("text", ""),
            "message": self._message(params, ts),
        }

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        # Slack answers with the view as it stores it: an id and the hash updates must quote.
        view = params.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        if not params.get("trigger_id") or not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        if self._trigger_expired(str(params["trigger_id"])):
            return {"ok": False, "error": "expired_trigger_id"}
        view_id = f"V{self._next_ts().replace('.', '')}"
        self._views_opened().add(view_id)
        return {"ok": True, "view": {**view, "id": view_id}}

    # -- trigger ids, views.update, pins and permalinks (the onboarding card, issue 13) -----
    # A trigger_id lives 3 seconds: one made by `issue_trigger` is refused with
    # expired_trigger_id once older than that (ids a test makes up itself never expire).

    TRIGGER_LIFETIME = 3.0

    def issue_trigger(self, *, age: float = 0.0) -> str:
        """A trigger_id as Slack puts in a click, issued `age` seconds ago."""
        trigger = f"{next(self._ts_counter)}.{int(time.time())}.{uuid.uuid4().hex[:12]}"
        with self._cond:
            self.__dict__.setdefault("_triggers", {})[trigger] = time.monotonic() - age
        return trigger

    def _trigger_expired(self, trigger: str) -> bool:
        issued = self.__dict__.get("_triggers", {}).get(trigger)
        return issued is not None and time.monotonic() - issued > self.TRIGGER_LIFETIME

    def _views_opened(self) -> set[str]:
        views: set[str] = self.__dict__.setdefault("_open_views", set())
        return views

    def _views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        view = params.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        view_id = str(params.get("view_id") or "")
        if not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        if view_id not in self._views_opened():
            return {"ok": False, "error": "not_found"}
        return {"ok": True, "view": {**view, "id": view_id}}

    def _pins_add(self, params: dict[str, Any]) -> dict[str, Any]:
        found = any(
            m["channel"] == params.get("channel") and m["ts"] == params.get("timestamp")
            for m in self._messages
        )
        return {"ok": True} if found else {"ok": False, "error": "message_not_found"}

    def _chat_get_permalink(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(params.get("channel", "")), str(params.get("message_ts", ""))
        link = f"{TEAM_URL}archives/{channel}/p{ts.replace('.', '')}"
        return {"ok": True, "channel": channel, "permalink": link}

    def _apps_connections_open(self, call: Call) -> dict[str, Any]:
        # Only app-level tokens open Socket Mode connections; Slack refuses bot and user tokens.
        if not (call.token or "").startswith("xapp-"):
            return {"ok": False, "error": "not_allowed_token_type"}
        return {"ok": True, "url": self.socket_url}

    def _files_info(self, params: dict[str, Any]) -> dict[str, Any]:
        found = self._files.get(str(params.get("file", "")))
        if found is None:
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "file": found[0]}

    def file_content(
        self, file_id: str, headers: dict[str, str]
    ) -> tuple[int, str, bytes, int | None]:
        """The private download: the bytes for a bot token, Slack's sign-in page otherwise;
        and how many of them to send before dropping the connection (None: all)."""
        with self._cond:
            found = self._files.get(file_id)
            cut_after = self._cut_after.get(file_id)
            self._calls.append(
                Call(
                    method=FILE_DOWNLOAD_METHOD,
                    params={"file": file_id},
                    headers=headers,
                    at=time.monotonic(),
                )
            )
            self._cond.notify_all()
        if found is None:
            return 404, "text/plain", b"not found", None
        if not headers.get("authorization", "").startswith("Bearer xoxb-"):
            page = b"<html><body>Sign in to Slack</body></html>"
            return 200, "text/html; charset=utf-8", page, None
        return 200, "application/octet-stream", found[1], cut_after

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = str(params.get("user", ""))
        user: dict[str, Any] = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": user_id.lower(),
            "real_name": user_id,
            "tz": "Europe/London",
            "tz_label": "Greenwich Mean Time",
            "tz_offset": 0,
            "is_bot": False,
            "deleted": False,
        }
        user.update(self._users.get(user_id, {}))
        return {"ok": True, "user": user}


_METHODS: dict[str, Callable[[SlackStandIn, dict[str, Any]], dict[str, Any]]] = {
    "auth.test": SlackStandIn._auth_test,
    "chat.postMessage": SlackStandIn._chat_post_message,
    "chat.postEphemeral": SlackStandIn._chat_post_ephemeral,
    "chat.update": SlackStandIn._chat_update,
    "files.info": SlackStandIn._files_info,
    "conversations.history": SlackStandIn._conversations_history,
    "conversations.replies": SlackStandIn._conversations_replies,
    "users.info": SlackStandIn._users_info,
    "views.open": SlackStandIn._views_open,
    "views.update": SlackStandIn._views_update,
    "pins.add": SlackStandIn._pins_add,
    "chat.getPermalink": SlackStandIn._chat_get_permalink,
}


def block_text_length(blocks: object) -> int:
    """Characters of text in every text field of `blocks`, nested ones included: what Slack's
    cumulative limit counts."""
    if isinstance(blocks, list):
        return sum(block_text_length(item) for item in blocks)
    if isinstance(blocks, dict):
        total = 0
        for key, value in blocks.items():
            if key == "text" and isinstance(value, str):
                total += len(value)
            else:
                total += block_text_length(value)
        return total
    return 0


def blocks_valid(blocks: object, *, max_blocks: int = MESSAGE_BLOCKS) -> bool:
    """Whether Slack would take `blocks`: a list of at most `max_blocks` blocks that slack_sdk's
    models parse as a known type and validate (text lengths, element counts, ...)."""
    if not isinstance(blocks, list) or len(blocks) > max_blocks:
        return False
    for raw in blocks:
        if not isinstance(raw, dict):
            return False
        block = Block.parse(raw)
        if block is None:
            return False
        try:
            block.validate_json()
        except SlackObjectFormationError:
            return False
    return True


def _maybe_json(value: str) -> Any:
    """Form posts carry blocks/metadata as JSON text; decode those so tests see objects."""
    stripped = value.strip()
    if stripped[:1] in ("[", "{"):
        try:
            decoded = json.loads(stripped)
        except ValueError:
            return value
        if isinstance(decoded, list | dict):
            return decoded
    return value


def _parse_form(text: str) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, values in parse_qs(text, keep_blank_values=True).items():
        decoded = [_maybe_json(v) for v in values]
        params[key] = decoded[0] if len(decoded) == 1 else decoded
    return params


class _Handler(BaseHTTPRequestHandler):
    server_version = "SlackStandIn/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def do_POST(self) -> None:
        self._dispatch()

    def do_GET(self) -> None:
        # Slack accepts GET with query parameters too; WebClient always POSTs.
        self._dispatch()

    def _dispatch(self) -> None:
        standin: SlackStandIn = self.server.standin  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        if parts.path.startswith("/files-pri/"):
            headers = {k.lower(): v for k, v in self.headers.items()}
            file_id = unquote(parts.path[len("/files-pri/") :]).split("/")[0]
            status, content_type, content, cut_after = standin.file_content(file_id, headers)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            if cut_after is None:
                self.wfile.write(content)
                return
            # The promised length never arrives: send part of it and hang up.
            self.wfile.write(content[:cut_after])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if parts.path.startswith(UPLOAD_PATH):
            self._upload(standin, unquote(parts.path[len(UPLOAD_PATH) :]))
            return
        if parts.path.startswith("/api/"):
            method, name = unquote(parts.path[len("/api/") :]), None
        elif parts.path.startswith("/response/"):
            method, name = RESPONSE_URL_METHOD, unquote(parts.path[len("/response/") :])
        else:
            self._send(404, {}, {"ok": False, "error": "not_found"})
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            params = _parse_form(parts.query)
            params.update(self._read_body(headers.get("content-type", "")))
        except ValueError as exc:
            self._send(400, {}, {"ok": False, "error": f"invalid_request: {exc}"})
            return
        status, extra_headers, body = standin._handle(method, name, params, headers)
        self._send(status, extra_headers, body)

    def _read_body(self, content_type: str) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        if not raw:
            return {}
        text = raw.decode("utf-8")
        if content_type.split(";")[0].strip().lower() == "application/json":
            decoded = json.loads(text)
            return decoded if isinstance(decoded, dict) else {"_body": decoded}
        return _parse_form(text)

    def _send(self, status: int, extra_headers: dict[str, str], body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in extra_headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    # -- files.uploadV2's second step: the bytes, posted to the URL the first step gave --------

    def _upload(self, standin: SlackStandIn, file_id: str) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        length = int(self.headers.get("Content-Length") or 0)
        content = self.rfile.read(length) if length > 0 else b""
        status, text = _receive_upload(standin, file_id, content, headers)
        payload = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


# --- files.uploadV2 (files.getUploadURLExternal, the upload, files.completeUploadExternal) ------

UPLOAD_PATH = "/upload/v1/"
FILE_UPLOAD_METHOD = "files.upload"  # the POST of the bytes to the upload URL, recorded like a call


@dataclass
class Upload:
    """A file announced by files.getUploadURLExternal; `content` once it is uploaded, `shared`
    (the files.completeUploadExternal parameters) once it is completed."""

    file_id: str
    filename: str
    length: int
    content: bytes | None = None
    shared: dict[str, Any] | None = None


def _uploads(standin: SlackStandIn) -> dict[str, Upload]:
    """The stand-in's uploads, kept on it (caller holds the lock)."""
    found: dict[str, Upload] | None = getattr(standin, "_uploads", None)
    if found is None:
        found = {}
        standin._uploads = found  # type: ignore[attr-defined]
    return found


def _get_upload_url_external(standin: SlackStandIn, params: dict[str, Any]) -> dict[str, Any]:
    # Like Slack: a file name and a whole positive length are required.
    filename = str(params.get("filename") or "")
    length = str(params.get("length") or "")
    if not filename or not length.isdigit() or int(length) <= 0:
        return {"ok": False, "error": "invalid_arguments"}
    file_id = "F" + standin._next_ts().replace(".", "")
    _uploads(standin)[file_id] = Upload(file_id, filename, int(length))
    return {"ok": True, "file_id": file_id, "upload_url": f"{standin.url}{UPLOAD_PATH}{file_id}"}


def _receive_upload(
    standin: SlackStandIn, file_id: str, content: bytes, headers: dict[str, str]
) -> tuple[int, str]:
    """The upload URL: the bytes must be as long as files.getUploadURLExternal was told."""
    with standin._cond:
        upload = _uploads(standin).get(file_id)
        standin._calls.append(
            Call(
                method=FILE_UPLOAD_METHOD,
                params={"file": file_id, "length": len(content)},
                headers=headers,
                at=time.monotonic(),
            )
        )
        standin._cond.notify_all()
        if upload is None:
            return 404, "not found"
        if len(content) != upload.length:
            return 400, f"length mismatch: announced {upload.length}, sent {len(content)}"
        upload.content = content
    return 200, f"OK - {len(content)}"


def _complete_upload_external(standin: SlackStandIn, params: dict[str, Any]) -> dict[str, Any]:
    files = params.get("files")
    files = json.loads(files) if isinstance(files, str) else files
    if not isinstance(files, list) or not files:
        return {"ok": False, "error": "invalid_arguments"}
    channel = params.get("channel_id") or params.get("channels")
    if channel is not None and not str(channel).startswith(("C", "G", "D")):
        return {"ok": False, "error": "invalid_channel"}
    shared = []
    for item in files:
        upload = _uploads(standin).get(str((item or {}).get("id")))
        if upload is None or upload.content is None:  # never announced, or never uploaded
            return {"ok": False, "error": "file_not_found"}
        shared.append((upload, item))
    out = []
    for upload, item in shared:
        upload.shared = dict(params)
        out.append(
            {
                "id": upload.file_id,
                "name": upload.filename,
                "title": item.get("title") or upload.filename,
                "size": upload.length,
            }
        )
    return {"ok": True, "files": out}


def uploaded(standin: SlackStandIn, file_id: str) -> Upload:
    """An upload the bot made (announced, sent and perhaps completed)."""
    with standin._cond:
        return _uploads(standin)[file_id]


_METHODS["files.getUploadURLExternal"] = _get_upload_url_external
_METHODS["files.completeUploadExternal"] = _complete_upload_external


# --- views.publish (the App Home tab) ------------------------------------------------------------

HOME_VIEW_BLOCKS = 100  # Slack refuses a Home view of more blocks


def _views_publish(standin: SlackStandIn, params: dict[str, Any]) -> dict[str, Any]:
    """Slack's checks that matter here: a user, a view of type "home", at most 100 blocks,
    a section's text at most 3,000 characters, no duplicate block or action ids."""
    view = params.get("view")
    if isinstance(view, str):
        view = json.loads(view)
    if not params.get("user_id") or not isinstance(view, dict) or view.get("type") != "home":
        return {"ok": False, "error": "invalid_arguments"}
    blocks = view.get("blocks") or []
    if len(blocks) > HOME_VIEW_BLOCKS:
        return {"ok": False, "error": "invalid_blocks"}
    block_ids: list[str] = [b["block_id"] for b in blocks if "block_id" in b]
    for block in blocks:
        text = (block.get("text") or {}).get("text", "")
        if len(text) > 3_000:
            return {"ok": False, "error": "invalid_blocks"}
        action_ids = [e.get("action_id") for e in block.get("elements", []) if e.get("action_id")]
        if len(action_ids) != len(set(action_ids)):
            return {"ok": False, "error": "invalid_blocks"}
    if len(block_ids) != len(set(block_ids)):
        return {"ok": False, "error": "duplicate_block_id"}
    return {"ok": True, "view": {**view, "id": f"V{standin._next_ts().replace('.', '')}"}}


_METHODS["views.publish"] = _views_publish
