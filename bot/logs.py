"""Logging: plain text or JSON lines, with the Slack request each line belongs to.

Every Slack request gets a `RequestInfo` in a context variable: an id, its kind (command,
event, action, view), the command verb once parsed, and when it arrived. The HTTP handler
(bot/http.py) or the Bolt middleware below sets it; `carry` copies it into the pool work, so the
lines a command logs after its ack still name the request. `acked` and `finished` write the two
lines that sum a request up: ack time, then outcome (ok / refused / error) and total time.

What is logged at info: ids, verbs, outcomes, timings, Slack error codes. Never message text,
answers or secrets: the Slack libraries' own debug logging prints whole payloads, so their loggers
stay at INFO unless CONNECT_LOG_LEVEL=debug asks for them (then payloads, and so anything people
typed, reach the log: use it only on a test workspace).
"""

from __future__ import annotations

import atexit
import contextvars
import copy
import json
import logging
import logging.handlers
import queue
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

if TYPE_CHECKING:  # the Slack edge's types only: logging itself needs no Slack
    from slack_bolt.request import BoltRequest
    from slack_bolt.response import BoltResponse

FORMATS = ("text", "json")
LEVELS = ("debug", "info", "warning", "error")
# Loggers whose DEBUG output holds whole request and API payloads.
PAYLOAD_LOGGERS = ("slack_bolt", "slack_sdk", "urllib3", "waitress")
# Bolt logs the full body of a request whose signature fails at INFO; bot/http.py refuses those
# before Bolt sees them, and this keeps Bolt quiet should one get through.
_QUIET_LOGGERS = ("slack_bolt.RequestVerification",)
OUTCOMES = ("ok", "refused", "error")

T = TypeVar("T")

log = logging.getLogger("connect.request")


@dataclass
class RequestInfo:
    """One Slack request, as the log lines about it name it."""

    id: str
    kind: str
    started: float = field(default_factory=time.perf_counter)
    verb: str | None = None
    retry: int | None = None
    outcome: str | None = None
    deferred: bool = False  # work went to the pool; `finished` writes the outcome there

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {"request_id": self.id, "kind": self.kind}
        if self.verb:
            out["verb"] = self.verb
        if self.retry is not None:
            out["retry"] = self.retry
        return out


_current: contextvars.ContextVar[RequestInfo | None] = contextvars.ContextVar(
    "connect_request", default=None
)


def new_request_id() -> str:
    return uuid.uuid4().hex[:16]


def current() -> RequestInfo | None:
    return _current.get()


def begin(kind: str, *, retry: int | None = None, request_id: str | None = None) -> RequestInfo:
    """Start a request's context in the running context (call inside `contextvars` isolation)."""
    info = RequestInfo(id=request_id or new_request_id(), kind=kind, retry=retry)
    _current.set(info)
    return info


def bind(**values: Any) -> None:
    """Name the verb (or other known field) of the current request; no-op outside one."""
    info = _current.get()
    if info is None:
        return
    for name, value in values.items():
        setattr(info, name, value)


def carry(job: Callable[[], T]) -> Callable[[], T]:
    """`job` to run on another thread with this request's context (ids, verb) still set."""
    context = contextvars.copy_context()
    info = _current.get()
    if info is not None:
        info.deferred = True
    return lambda: context.run(job)


def elapsed_ms(info: RequestInfo) -> float:
    return round((time.perf_counter() - info.started) * 1000, 1)


def acked(status: int) -> None:
    """The HTTP answer went back to Slack: ack time, and the outcome if nothing was deferred."""
    info = _current.get()
    if info is None:
        return
    extra: dict[str, Any] = {"status": status, "ack_ms": elapsed_ms(info)}
    if not info.deferred:
        extra["outcome"] = info.outcome or ("ok" if status < 400 else "error")
        extra["total_ms"] = extra["ack_ms"]
    log.info("request acked", extra={"connect": extra})


def finished(outcome: str, **values: Any) -> None:
    """The pool work of a request is over: its outcome and the time since the request came."""
    info = _current.get()
    if info is None:
        return
    info.outcome = outcome
    log.info(
        "request done",
        extra={"connect": {"outcome": outcome, "total_ms": elapsed_ms(info), **values}},
    )


def kind_of(body: dict[str, Any]) -> str:
    """A short name for a Slack payload: command, event:message, block_actions, view_submission."""
    if body.get("command"):
        return "command"
    if body.get("type") == "event_callback":
        return "event:" + str((body.get("event") or {}).get("type") or "?")
    return str(body.get("type") or "unknown")


def bolt_middleware(req: BoltRequest, next: Callable[[], BoltResponse]) -> BoltResponse:
    """Global Bolt middleware (Bolt passes arguments by these names): name the request's kind;
    a Socket Mode request, which has no HTTP handler before Bolt, gets its context here."""
    info = _current.get()
    body = req.body if isinstance(req.body, dict) else {}
    if info is not None and info.kind == "http":  # bot/http.py began it for this request
        info.kind = kind_of(body)
    else:
        retry = (req.headers or {}).get("x-slack-retry-num", [None])[0]
        digits = str(retry or "")
        begin(kind_of(body), retry=int(digits) if digits.isascii() and digits.isdigit() else None)
    return next()


# --- formatting ------------------------------------------------------------------------------


class _ContextFilter(logging.Filter):
    """Adds the current request's fields to every record (as `connect_context`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        info = _current.get()
        record.connect_context = info.fields() if info is not None else {}
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ts, level, logger, msg, request fields, event fields, exc."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        out.update(getattr(record, "connect_context", {}) or {})
        out.update(getattr(record, "connect", {}) or {})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:  # formatted when it was queued
            out["exc"] = record.exc_text
        return json.dumps(out, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = {
            **(getattr(record, "connect_context", {}) or {}),
            **(getattr(record, "connect", {}) or {}),
        }
        if not fields:
            return line
        head, newline, rest = line.partition("\n")  # keep a traceback below the fields
        suffix = " ".join(f"{k}={v}" for k, v in fields.items())
        return f"{head} [{suffix}]{newline}{rest}"


class _Enqueue(logging.handlers.QueueHandler):
    """Hands records to the writer thread. The request fields are read here, on the logging
    thread (they live in its context); formatting and the write happen on the writer."""

    _connect_bot: bool  # set on the one configure() installs, so that it can be replaced

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        record = copy.copy(record)
        record.msg, record.args = record.getMessage(), None  # args may change after the call
        if record.exc_info:
            record.exc_text = record.exc_text or _TRACEBACKS.formatException(record.exc_info)
            record.exc_info = None  # tracebacks hold frames; the text is what is written
        return record


_TRACEBACKS = logging.Formatter()
_writer: logging.handlers.QueueListener | None = None


def configure(fmt: str = "text", level: str = "info", *, stream: TextIO | None = None) -> None:
    """Set up the root logger once at start-up (the CLI calls this).

    Threads only enqueue their records; one writer thread formats and writes them. With a
    plain StreamHandler every request thread and pool thread queued up on its lock (three
    lines a request), which held acks back by up to seconds under load."""
    global _writer
    level_name = level.upper()
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_connect_bot", False)]:
        root.removeHandler(old)
    if _writer is not None:
        _writer.stop()  # writes what is queued
        _writer = None
    # Like logging.basicConfig: a host that set up logging already (an embedding program, the
    # test runner calling main() in-process) keeps its handlers; only the levels are set.
    if not root.handlers:
        output = logging.StreamHandler(stream or sys.stderr)
        output.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
        records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        handler = _Enqueue(records)
        handler.addFilter(_ContextFilter())
        handler._connect_bot = True
        _writer = logging.handlers.QueueListener(records, output)
        _writer.start()
        atexit.register(_stop_writer)
        root.addHandler(handler)
    root.setLevel(level_name)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # one line per migration is noise
    # Payload logging only on explicit request: it would print what people typed.
    libraries = logging.DEBUG if level_name == "DEBUG" else max(logging.INFO, root.level)
    for name in PAYLOAD_LOGGERS:
        logging.getLogger(name).setLevel(libraries)
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def _stop_writer() -> None:
    """At exit: write what is still queued."""
    global _writer
    if _writer is not None:
        _writer.stop()
        _writer = None
