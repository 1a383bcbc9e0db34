"""The reminder dispatcher: claims due reminders, posts them to Slack, records the messages.

One loop thread claims batches (store.reminders.claim_due: a lease, so several processes share
the work and a dead one strands nothing). Each channel with work gets one thread from a bounded
pool that posts that channel's reminders in order, at most one per `channel_interval`: a 429 and
its Retry-After wait (slack_sdk's RateLimitErrorRetryHandler, on the client) hold up only that
channel. Every post carries Slack message metadata naming the reminder and its occurrence, so a
worker that takes over an expired claim first looks in the channel for the message an earlier
claim may have posted without recording it, and records that one instead of posting again.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.render import limits
from bot.render.reminder_message import EVENT_TYPE, failed_message, metadata, reminder_message
from bot.settings import Settings
from commands.core import changes
from store import reminders
from store.db import Database
from store.models import Reminder, utcnow

log = logging.getLogger(__name__)

# Earlier claims are searched for from this long before the first one: Slack's clock and ours
# may disagree a little.
HISTORY_SKEW = timedelta(minutes=2)
HISTORY_PAGE = 200
# After Slack refused a post (an error other than a rate limit): try again this much later.
ERROR_RETRY = timedelta(minutes=10)
# After a timeout or a dropped connection (the post may have happened): sooner.
UNCERTAIN_RETRY = timedelta(minutes=1)
# Errors that trying again cannot change: the channel archived or gone, the thread deleted, the
# message refused as made. The reminder is marked failed and the engineers are told once.
PERMANENT = {
    "is_archived": "the channel is archived",
    "channel_not_found": "the channel is gone",
    "thread_not_found": "its thread was deleted",
    "message_not_found": "its thread was deleted",
    "invalid_blocks": "Slack refused the message as invalid",
    "invalid_blocks_format": "Slack refused the message as invalid",
    "msg_blocks_too_long": "Slack refused the message as too long",
}


@dataclass(frozen=True)
class DispatchConfig:
    poll_seconds: float = 2.0
    lease_seconds: int = 120
    batch: int = 100
    channel_interval: float = 1.0
    channel_threads: int = 8
    history_pages: int = 5
    # Where a reminder Slack refused for good is reported (CONNECT_ENGINEERS_CHANNEL); None: logs.
    engineers_channel: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> DispatchConfig:
        return cls(
            poll_seconds=settings.connect_reminder_poll_seconds,
            lease_seconds=settings.connect_reminder_lease_seconds,
            batch=settings.connect_reminder_batch,
            channel_interval=settings.connect_reminder_channel_interval,
            channel_threads=settings.connect_reminder_channel_threads,
            engineers_channel=settings.connect_engineers_channel,
        )

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.lease_seconds)

    @property
    def post_budget(self) -> timedelta:
        """A post is only started with this much of its lease left (it may wait on 429s)."""
        return self.lease / 2

    @property
    def channel_backlog(self) -> int:
        """Reminders held for one channel: as many as its pacing lets out within the budget."""
        if self.channel_interval <= 0:
            return self.batch
        return max(1, int(self.post_budget.total_seconds() / self.channel_interval))


def web_client(settings: Settings) -> WebClient:
    """A Web API client like the Bolt app's: same base URL, timeout and 429 handling."""
    client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=10)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    return client


def worker_name() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Dispatcher:
    """Delivers due reminders until stopped; `start()` runs it on its own thread."""

    def __init__(
        self,
        db: Database,
        client: WebClient,
        config: DispatchConfig | None = None,
        *,
        worker: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.client = client
        self.config = config or DispatchConfig()
        self.worker = worker or worker_name()
        self.clock = clock
        self.posted = 0  # messages posted by this dispatcher
        self.recovered = 0  # earlier posts found by their metadata and recorded instead
        self.failed = 0  # reminders Slack refused for good, marked failed
        self._cond = threading.Condition()
        self._queues: dict[str, deque[Reminder]] = {}
        self._inflight = 0
        self._last_post: dict[str, float] = {}  # channel -> monotonic time of its last post
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(self.config.channel_threads, "reminder-channel")
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Dispatcher:
        log.info("reminder dispatcher %s started", self.worker)
        self._thread = threading.Thread(target=self.run, name="reminder-dispatcher", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the posts under way, give every other claim back, and return."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        # Channel threads finish their current post, then give their queues back.
        self._pool.shutdown(wait=True)
        log.info("reminder dispatcher %s stopped (%d posted)", self.worker, self.posted)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self) -> None:
        """The claim loop: claim while there is room, sleep `poll_seconds` when nothing is due."""
        while not self._stop.is_set():
            try:
                claimed = self.tick()
            except Exception:
                log.exception("claiming due reminders failed; trying again")
                claimed = 0
            if claimed:
                # Wait for room in the batch before claiming again (keeps claims young).
                with self._cond:
                    self._cond.wait_for(
                        lambda: self._stop.is_set() or self._inflight <= self.config.batch // 2,
                        timeout=self.config.poll_seconds,
                    )
            else:
                self._stop.wait(self.config.poll_seconds)

    def run_until_idle(self, timeout: float = 60.0) -> None:
        """Claim and deliver until nothing is due and nothing is in flight (tests, benchmarks)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            claimed = self.tick()
            with self._cond:
                if not claimed and self._inflight == 0:
                    return
                self._cond.wait_for(lambda: self._inflight <= self.config.batch // 2, timeout=0.5)
        raise TimeoutError(f"reminders still in flight after {timeout} s")

    # -- claiming --------------------------------------------------------------------------

    def tick(self) -> int:
        """Claim what fits in the batch and hand it to the channel threads; returns the count."""
        if self._stop.is_set():
            return 0
        with self._cond:
            room = self.config.batch - self._inflight
        if room <= 0:
            return 0
        now = self.clock()
        rows = reminders.claim_due(
            self.db, worker=self.worker, now=now, limit=room, lease=self.config.lease
        )
        backlog = self.config.channel_backlog
        starting: list[str] = []
        over: list[tuple[Reminder, int]] = []
        with self._cond:
            for row in rows:
                queue = self._queues.get(row.channel_id)
                if queue is None:
                    queue = self._queues[row.channel_id] = deque()
                    starting.append(row.channel_id)
                if len(queue) >= backlog:
                    # This channel's pacing could not post it before the lease runs short.
                    over.append((row, len(queue)))
                    continue
                queue.append(row)
                self._inflight += 1
        for row, ahead in over:
            wait = timedelta(seconds=ahead * self.config.channel_interval / 2)
            self._give_back(row, retry_at=now + wait, maybe_posted=False)
        for channel in starting:
            self._pool.submit(self._drain_channel, channel)
        if rows:
            log.debug("claimed %d due reminders", len(rows))
        return len(rows)

    # -- one channel's thread --------------------------------------------------------------

    def _drain_channel(self, channel: str) -> None:
        while True:
            with self._cond:
                queue = self._queues[channel]
                if not queue or self._stop.is_set():
                    left = list(queue)
                    del self._queues[channel]
                    break
                row = queue.popleft()
            try:
                if self._pace(channel):
                    self._deliver(row)
                else:
                    self._give_back(row, maybe_posted=False)
            except Exception:
                # Never let one reminder end the channel's thread; its claim expires and it is
                # taken again (and looked for in the channel first).
                log.exception("reminder %s: delivery failed", row.id)
            finally:
                self._done(1)
        for row in left:
            self._give_back(row, maybe_posted=False)
        self._done(len(left))

    def _done(self, count: int) -> None:
        if count:
            with self._cond:
                self._inflight -= count
                self._cond.notify_all()

    def _pace(self, channel: str) -> bool:
        """Wait for the channel's next slot; False if the dispatcher is stopping instead."""
        interval = self.config.channel_interval
        last = self._last_post.get(channel)
        if interval > 0 and last is not None:
            wait = last + interval - time.monotonic()
            if wait > 0 and self._stop.wait(wait):
                return False
        return not self._stop.is_set()

    def _deliver(self, row: Reminder) -> None:
        assert row.id is not None
        assert row.claim_expires_at is not None
        now = self.clock()
        if row.claim_expires_at - now < self.config.post_budget:
            # Too late to post safely under this claim: another worker may take it over while
            # the post waits on Slack. Give it back untried.
            self._give_back(row, maybe_posted=False)
            return
        if row.attempts > 1:
            # An earlier claim ended without a recorded send: it may have posted.
            try:
                found = self._find_posted(row)
            except SlackApiError as exc:
                self._refused(row, exc, reading=True)
                return
            if found is not None:
                with self._cond:  # channel threads count together
                    self.recovered += 1
                log.info("reminder %d: found its earlier post in %s", row.id, row.channel_id)
                self._record(row, found)
                return
        message = reminder_message(row)
        try:
            response = self.client.chat_postMessage(
                channel=row.channel_id,
                thread_ts=row.thread_ts,
                text=limits.fallback(message.text),  # a short notification; blocks say it all
                blocks=message.blocks_json(),
                metadata=metadata(row),
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as exc:
            self._refused(row, exc, reading=False)
            return
        except Exception as exc:  # timeout, connection reset: the post may have happened
            log.warning("reminder %d: post to %s failed (%s)", row.id, row.channel_id, type(exc))
            self._give_back(row, retry_at=self.clock() + UNCERTAIN_RETRY, maybe_posted=True)
            return
        finally:
            self._last_post[row.channel_id] = time.monotonic()
        with self._cond:
            self.posted += 1
        self._record(row, str(response.get("ts") or ""))
        log.info(
            "reminder %d posted in %s (occurrence %d)", row.id, row.channel_id, row.occurrence + 1
        )

    def _refused(self, row: Reminder, exc: SlackApiError, *, reading: bool) -> None:
        """Slack answered with an error: nothing was posted. Try again later."""
        assert row.id is not None
        response = exc.response
        error = response.get("error") if response is not None else None
        what = "reading the channel" if reading else "posting"
        if response is not None and response.status_code == 429:
            retry = timedelta(seconds=_retry_after(response.headers))
            log.warning(
                "reminder %d: still rate limited %s in %s after retries; again in %s s",
                row.id,
                what,
                row.channel_id,
                int(retry.total_seconds()),
            )
            self._give_back(row, retry_at=self.clock() + retry, maybe_posted=False)
            return
        log.warning("reminder %d: Slack refused %s in %s: %s", row.id, what, row.channel_id, error)
        if isinstance(error, str) and error in PERMANENT:
            self._fail(row, error)
            return
        self._give_back(row, retry_at=self.clock() + ERROR_RETRY, maybe_posted=False)

    def _fail(self, row: Reminder, error: str) -> None:
        """Never try it again; tell the engineers once (only the call that failed it does)."""
        assert row.id is not None
        with self.db.session(write=True) as session:
            key = reminders.mark_failed(
                session, row.id, worker=self.worker, reason=error, at=self.clock()
            )
        if key is None:
            log.warning("reminder %d: claim lost before it was marked failed", row.id)
            return
        with self._cond:
            self.failed += 1
        log.warning("reminder %d of %s failed for good: %s", row.id, key, error)
        channel = self.config.engineers_channel
        if channel is None:
            return
        message = failed_message(row, key, PERMANENT[error], error)
        try:
            self.client.chat_postMessage(
                channel=channel,
                text=message.text,
                blocks=message.blocks_json(),
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as exc:
            log.warning("could not tell the engineers of reminder %d: %s", row.id, exc)

    def _find_posted(self, row: Reminder) -> str | None:
        """The ts of this occurrence's message if an earlier claim posted it, else None."""
        assert row.claimed_at is not None
        oldest = f"{(row.claimed_at - HISTORY_SKEW).timestamp():.6f}"
        occurrence = row.occurrence + 1
        cursor: str | None = None
        for _ in range(self.config.history_pages):
            args: dict[str, Any] = {
                "channel": row.channel_id,
                "oldest": oldest,
                "include_all_metadata": True,
                "limit": HISTORY_PAGE,
                "cursor": cursor,
            }
            if row.thread_ts:
                page = self.client.conversations_replies(ts=row.thread_ts, **args)
            else:
                page = self.client.conversations_history(**args)
            for message in page.get("messages") or []:
                meta = message.get("metadata") or {}
                payload = meta.get("event_payload") or {}
                if (
                    meta.get("event_type") == EVENT_TYPE
                    and _int(payload.get("reminder_id")) == row.id
                    and _int(payload.get("occurrence")) == occurrence
                ):
                    return str(message.get("ts") or "")
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return None
        log.warning(
            "reminder %d: %s has more than %d pages since the first claim; posting",
            row.id,
            row.channel_id,
            self.config.history_pages,
        )
        return None

    # -- store -----------------------------------------------------------------------------

    def _record(self, row: Reminder, message_ts: str) -> None:
        assert row.id is not None
        with self.db.session(write=True) as session:
            kept = reminders.mark_sent(
                session, row.id, worker=self.worker, message_ts=message_ts, at=self.clock()
            )
            if kept:  # a sent reminder is no longer pending: the card shows the next one
                changes.changed(session, row.onboarding_id)
        if not kept:
            log.warning("reminder %d: claim lost before the post was recorded", row.id)

    def _give_back(
        self, row: Reminder, *, retry_at: datetime | None = None, maybe_posted: bool
    ) -> None:
        assert row.id is not None
        try:
            with self.db.session(write=True) as session:
                reminders.release(
                    session,
                    row.id,
                    worker=self.worker,
                    retry_at=retry_at,
                    maybe_posted=maybe_posted,
                )
        except Exception:
            # The claim then simply expires.
            log.exception("reminder %d: could not give the claim back", row.id)


def _retry_after(headers: Mapping[str, object] | None) -> int:
    for key, value in (headers or {}).items():
        if key.lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) else value
            seconds = _int(raw)
            return max(1, seconds) if seconds is not None else 1
    return 1


def _int(value: object) -> int | None:
    """A JSON value (or a header) as an int, when int() takes it; else None."""
    if not isinstance(value, str | int | float):
        return None  # int() raises TypeError for None, lists and objects
    try:
        return int(value)
    except ValueError:
        return None
