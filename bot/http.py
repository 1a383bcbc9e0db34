"""HTTP mode: one WSGI app with POST /slack/events (signature-checked by Bolt) and GET /healthz."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

import waitress
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import text

from store.db import Database

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
StartResponse = Callable[..., Any]


def make_wsgi(app: App, db: Database) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    slack = SlackRequestHandler(app, path=EVENTS_PATH)

    def wsgi(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path == EVENTS_PATH:
            if method != "POST":
                return _answer(start_response, "405 Method Not Allowed", {"error": "use POST"})
            return slack(environ, start_response)
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


def _answer(start_response: StartResponse, status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]


def serve(app: App, db: Database, *, host: str, port: int, threads: int) -> None:
    log.info("serving Slack requests on http://%s:%d%s", host, port, EVENTS_PATH)
    waitress.serve(make_wsgi(app, db), host=host, port=port, threads=threads, ident="connect-bot")
