"""The DNS watcher: runs due watches (commands/watch) and posts what they decide.

A loop thread keeps the watches in step with the onboardings, claims due ones for a lease
(store.watches.claim_due, as the reminder dispatcher claims reminders, so several processes
share them and a dead one strands nothing) and runs each on a small pool. A run keeps its
conclusion and its notices in one transaction before anything is posted; each notice is then
posted with Slack message metadata naming the watch and the notice's number. A worker that finds
a notice an earlier claim had started to post looks in the channel for that metadata first, and
records the message it finds instead of posting again: a switch is said once.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.render.renderer import render
from bot.settings import Settings
from bot.slack.dispatcher import worker_name
from commands.watch.conclude import ENGINEERS, Notice
from commands.watch.schedule import WatchConfig
from commands.watch.service import WatchService
from store.models import Watch, utcnow

if TYPE_CHECKING:
    from bot.wiring import Core

log = logging.getLogger(__name__)

EVENT_TYPE = "connect_watch"
HISTORY_SKEW = timedelta(minutes=2)
HISTORY_PAGE = 200
HISTORY_PAGES = 5
ERROR_RETRY = timedelta(minutes=10)  # Slack refused a post: nothing was posted
UNCERTAIN_RETRY = timedelta(minutes=1)  # a timeout: it may have been posted


@dataclass(frozen=True)
class WatcherConfig:
    poll_seconds: float = 5.0
    threads: int = 4
    engineers_channel: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> WatcherConfig:
        # Poll often enough that a short interval (tests, labs) is kept to.
        poll = max(0.05, min(5.0, settings.connect_watch_interval / 4))
        return cls(poll_seconds=poll, engineers_channel=settings.connect_engineers_channel)


def watch_config(settings: Settings) -> WatchConfig:
    lease = settings.connect_watch_lease_seconds
    return WatchConfig(
        interval=settings.connect_watch_interval,
        regression_interval=settings.connect_watch_regression_interval,
        lease_seconds=lease,
        # A run and its posts fit well inside the lease, or another worker could take it over.
        run_seconds=min(WatchConfig.run_seconds, lease / 4),
    )


def metadata(watch_id: int, seq: int) -> dict[str, Any]:
    return {"event_type": EVENT_TYPE, "event_payload": {"watch_id": watch_id, "seq": seq}}


class Watcher:
    """Runs due watches until stopped; `start()` runs it on its own thread."""

    def __init__(
        self,
        service: WatchService,
        client: WebClient,
        config: WatcherConfig | None = None,
        *,
        worker: str | None = None,
    ) -> None:
        self.service = service
        self.client = client
        self.config = config or WatcherConfig()
        self.worker = worker or worker_name()
        self.posted = 0
        self.recovered = 0
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(self.config.threads, "watch")
        self._thread: threading.Thread | None = None

    def start(self) -> Watcher:
        log.info("DNS watcher %s started", self.worker)
        self._thread = threading.Thread(target=self.run, name="dns-watcher", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the runs under way and return; claims not started are given back."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._pool.shutdown(wait=True)
        log.info("DNS watcher %s stopped (%d posted)", self.worker, self.posted)

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("the DNS watch failed; trying again")
            self._stop.wait(self.config.poll_seconds)

    def tick(self) -> int:
        """Bring the watches in step, claim the due ones, run them; returns how many ran."""
        if self._stop.is_set():
            return 0
        self.service.sync()
        claimed = self.service.claim(self.worker, self.config.threads)
        futures = [self._pool.submit(self._one, watch) for watch in claimed]
        # A run is bounded by its DNS budget; the lease bounds the wait for it here.
        wait(futures, timeout=self.service.config.lease_seconds)
        return len(claimed)

    def run_until_idle(self, rounds: int = 20) -> int:
        """Tick until a tick finds nothing due (tests); returns the runs made."""
        total = 0
        for _ in range(rounds):
            ran = self.tick()
            total += ran
            if not ran:
                return total
        return total

    # -- one watch ----------------------------------------------------------------------------

    def _one(self, watch: Watch) -> None:
        assert watch.id is not None
        if self._stop.is_set():
            self.service.release(watch.id, self.worker)
            return
        retry_at: datetime | None = None
        try:
            outcome = self.service.run(watch, self.worker)
            for notice in outcome.notices:
                retry_at = self._deliver(watch, notice)
                if retry_at is not None:
                    break
        except Exception:
            # Its claim expires and another run (or worker) takes it again.
            log.exception("watch %d: the run failed", watch.id)
            return
        self.service.release(watch.id, self.worker, retry_at)

    def _deliver(self, watch: Watch, notice: Notice) -> datetime | None:
        """Post one notice and take it out of the outbox; the time to try again on failure."""
        assert watch.id is not None
        channel = self._channel_of(notice)
        if channel is None:
            # Always a log line (ids only), as tell_engineers does, so nothing is lost unsaid.
            log.warning(
                "watch %d: %s for %s (%s) not posted: %s",
                watch.id,
                notice.kind,
                notice.key,
                notice.domain,
                "CONNECT_ENGINEERS_CHANNEL is not set"
                if notice.audience == ENGINEERS
                else "the onboarding has no channel",
            )
            self.service.posted(watch.id, self.worker, notice.seq)
            return None
        try:
            if notice.attempted and self._find_posted(watch, channel, notice) is not None:
                self.recovered += 1
                log.info("watch %d: found notice %d posted earlier", watch.id, notice.seq)
                self.service.posted(watch.id, self.worker, notice.seq)
                return None
        except SlackApiError as exc:
            log.warning("watch %d: reading %s failed: %s", watch.id, channel, _error(exc))
            return utcnow() + ERROR_RETRY
        if not self.service.attempted(watch.id, self.worker, notice.seq):
            return None  # the claim was lost: its new holder posts it
        message = render(notice)
        try:
            self.client.chat_postMessage(
                channel=channel,
                text=message.text,
                blocks=message.blocks_json(),
                metadata=metadata(watch.id, notice.seq),
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as exc:
            log.warning(
                "watch %d: Slack refused the post in %s: %s", watch.id, channel, _error(exc)
            )
            return utcnow() + ERROR_RETRY
        except Exception as exc:  # a timeout: it may have been posted, and is looked for
            log.warning("watch %d: post to %s failed (%s)", watch.id, channel, type(exc))
            return utcnow() + UNCERTAIN_RETRY
        self.posted += 1
        self.service.posted(watch.id, self.worker, notice.seq)
        log.info("watch %d: posted its %s notice for %s", watch.id, notice.kind, notice.domain)
        return None

    def _channel_of(self, notice: Notice) -> str | None:
        if notice.audience == ENGINEERS:
            return self.config.engineers_channel
        return notice.channel_id

    def _find_posted(self, watch: Watch, channel: str, notice: Notice) -> str | None:
        """The ts of the notice's message if an earlier claim posted it, else None."""
        assert watch.id is not None
        since = watch.last_run_at or utcnow()
        oldest = f"{(since - HISTORY_SKEW).timestamp():.6f}"
        cursor: str | None = None
        for _ in range(HISTORY_PAGES):
            page = self.client.conversations_history(
                channel=channel,
                oldest=oldest,
                include_all_metadata=True,
                limit=HISTORY_PAGE,
                cursor=cursor,
            )
            for message in page.get("messages") or []:
                meta = message.get("metadata") or {}
                payload = meta.get("event_payload") or {}
                if (
                    meta.get("event_type") == EVENT_TYPE
                    and payload.get("watch_id") == watch.id
                    and payload.get("seq") == notice.seq
                ):
                    return str(message.get("ts") or "")
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return None
        return None


def _error(exc: SlackApiError) -> object:
    return exc.response.get("error") if exc.response is not None else None


def build_watcher(settings: Settings, core: Core, client: WebClient) -> Watcher | None:
    """The watcher that runs inside `run` and `serve`, unless CONNECT_WATCH is off."""
    if not settings.connect_watch:
        return None
    checks = core.services.checks
    service = WatchService(
        core.db,
        checks.profile,
        checks.resolver,
        config=watch_config(settings),
        delays=checks.delays,
    )
    return Watcher(service, client, WatcherConfig.from_settings(settings))
