"""HTTP mode: one WSGI app with POST /slack/events and GET /healthz.

Every POST is signature-checked here, before Bolt parses it (and again by Bolt): a bad or missing
signature, a malformed or more than 5-minute-old timestamp get 401 and reach no listener. This
check does not depend on how the Bolt app is configured, and its refusal logs no body (Bolt's
own refusal logs the whole body at INFO, which could hold what someone typed).
"""

from __future__ import annotations

import contextvars
import io
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

import waitress
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import text

from bot import logs
from store.db import Database

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
# Slack's payloads are small (a modal submission is the largest); anything far larger is refused
# before it is read into memory.
MAX_BODY = 1_000_000


def make_wsgi(app: App, db: Database, signing_secret: str) -> WSGIApplication:
    slack = SlackRequestHandler(app, path=EVENTS_PATH)
    verifier = SignatureVerifier(signing_secret)  # refuses an empty secret
    replays = ReplayGuard()

    def events(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        retry = environ.get("HTTP_X_SLACK_RETRY_NUM", "")
        # From here on every line names this request; ack_ms counts reading and checking it.
        logs.begin("http", retry=int(retry) if retry.isascii() and retry.isdigit() else None)
        body = _read_body(environ)
        if body is None:
            return _answer(start_response, "413 Content Too Large", {"error": "too large"})
        if not _signed(verifier, environ, body):
            log.warning("refused a request with a bad, missing or stale signature (401)")
            return _answer(start_response, "401 Unauthorized", {"error": "invalid request"})
        if not replays.first(environ["HTTP_X_SLACK_SIGNATURE"]):
            # The very same signed bytes again: a replay (or a retry sent within the same
            # second). Slack gets its 200 so that it stops; nothing runs twice.
            log.warning("ignored a request already received (same signature)")
            start_response("200 OK", [("Content-Length", "0")])
            return [b""]
        environ["wsgi.input"] = io.BytesIO(body)  # Bolt reads the body again
        environ["CONTENT_LENGTH"] = str(len(body))
        statuses: list[int] = []

        def recording(
            status: str, headers: list[tuple[str, str]], *rest: Any
        ) -> Callable[[bytes], object]:
            statuses.append(int(status.split(" ", 1)[0]))
            return start_response(status, headers, *rest)

        try:
            answer = slack(environ, recording)
        except Exception:  # signed, but not a payload Bolt can read (no body in the log)
            log.exception("a signed request could not be read (400)")
            logs.acked(400)
            return _answer(start_response, "400 Bad Request", {"error": "bad request"})
        logs.acked(statuses[0] if statuses else 0)
        return answer

    def wsgi(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path == EVENTS_PATH:
            if method != "POST":
                return _answer(start_response, "405 Method Not Allowed", {"error": "use POST"})
            # Each request runs in its own context, so its log fields end with it.
            return contextvars.copy_context().run(events, environ, start_response)
        if path == "/healthz" and method in ("GET", "HEAD"):
            try:
                with db.engine.connect() as connection:
                    connection.execute(text("SELECT 1"))
            except Exception:
                log.exception("health check: database unreachable")
                return _answer(start_response, "503 Service Unavailable", {"ok": False})
            return _answer(start_response, "200 OK", {"ok": True})
        return _answer(start_response, "404 Not Found", {"error": "not found"})

    return wsgi


class ReplayGuard:
    """Signatures seen within the replay window (5 minutes, as the timestamp check allows).

    A signature covers the timestamp and the whole body, so the same one twice is the same
    request twice. Per process: Events API retries are also caught in the store (by message),
    which holds across processes; slash commands and button clicks carry no event id, and Slack
    does not retry them, so a replay of their exact bytes is what is left to stop here.
    """

    WINDOW = 5 * 60 + 10
    MAX = 100_000  # beyond this the oldest are forgotten: memory stays bounded under a flood

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def first(self, signature: str) -> bool:
        now = time.monotonic()
        with self._lock:
            self._prune(now)
            if signature in self._seen:
                return False
            self._seen[signature] = now + self.WINDOW
            return True

    def _prune(self, now: float) -> None:
        # Insertion order is expiry order (the window is fixed): drop from the front.
        seen = self._seen
        while seen:
            oldest = next(iter(seen))
            if seen[oldest] >= now and len(seen) < self.MAX:
                break
            del seen[oldest]


def _read_body(environ: WSGIEnvironment) -> bytes | None:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        return None
    return environ["wsgi.input"].read(length) if length > 0 else b""


def _signed(verifier: SignatureVerifier, environ: WSGIEnvironment, body: bytes) -> bool:
    timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
    signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
    if not (timestamp.isascii() and timestamp.isdigit()) or not signature:  # int() must not fail
        return False
    return verifier.is_valid(body, timestamp, signature)  # also: within 5 minutes of now


def _answer(start_response: StartResponse, status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]


def serve(
    app: App, db: Database, *, signing_secret: str, host: str, port: int, threads: int
) -> None:
    log.info("serving Slack requests on http://%s:%d%s", host, port, EVENTS_PATH)
    wsgi = make_wsgi(app, db, signing_secret)
    waitress.serve(
        wsgi,
        host=host,
        port=port,
        threads=threads,
        ident="connect-bot",
        # Waitress takes the whole body before the app sees it, so the app's own check alone
        # would let a 300 MB request be read first. With this bound waitress answers 413 from
        # the Content-Length header, and stops reading a chunked body once it passes the bound.
        # Waitress refuses at >= the bound (counting a chunked body with its framing), hence +1:
        # exactly MAX_BODY bytes still reach the app, as _read_body allows.
        max_request_body_size=MAX_BODY + 1,
        # poll(), not select(): select() fails on any descriptor numbered 1024 or more, and a
        # busy process (checks, imports, database connections) can hold that many.
        asyncore_use_poll=True,
    )
