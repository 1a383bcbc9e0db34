"""Watch runs: which watches exist (sync), claiming due ones, running one (DNS, then the
conclusion kept in one transaction with its audit events and the old-MX reminder), and the
outbox of notices the bot posts. The bot's watcher (bot/slack/watcher.py) drives this."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from commands.checks.dns import DnsResolver
from commands.core import audit
from commands.core.context import Refused
from commands.profiles import GatewayProfile
from commands.reminders import rules
from commands.reminders.rules import DEFAULT_DELAYS, ReminderDelays
from commands.rfi.service import rfi_domains
from commands.watch.conclude import CHANNEL, REGRESSION, SWITCH, Conclusion, Notice, Onboarded
from commands.watch.conclude import conclude as decide
from commands.watch.observe import observe
from commands.watch.schedule import (
    WATCHED_STEP,
    Mode,
    WatchConfig,
    first_due,
    mode_for,
    next_run,
)
from store import watches as store
from store.db import Database
from store.models import Onboarding, Watch, utcnow

log = logging.getLogger(__name__)
BOT = "connect-bot"  # the actor of the watch's audit events


@dataclass(frozen=True)
class RunOutcome:
    watch_id: int
    notices: tuple[Notice, ...]  # everything in the outbox, this run's and any left before
    conclusion: Conclusion | None  # None: nothing was asked (no domains, no region, lost claim)
    note: str = ""


def watch_changes(session: Session) -> tuple[dict[int, Mode], list[int]]:
    """What would make the watches match the onboardings: (onboarding -> the mode its watch
    should have, where it has none or another; onboardings whose watch should go). One per
    onboarding whose inbound step is in progress (cut-over) or done (regression), none for
    closed ones."""
    wanted: dict[int, Mode] = {}
    dropped: list[int] = []
    for c in store.candidates(session, WATCHED_STEP.value):
        mode = mode_for(c.state, c.closed)
        if mode is None:
            if c.watch_id is not None:
                dropped.append(c.onboarding_id)
        elif c.mode != mode.value:
            wanted[c.onboarding_id] = mode
    return wanted, dropped


def sync_watches(session: Session, *, now: datetime, config: WatchConfig) -> int:
    """Make the watches match the onboardings; returns the changes made."""
    wanted, dropped = watch_changes(session)
    changes = sum(
        store.ensure(session, oid, mode=mode.value, due_at=first_due(mode, now, config))
        for oid, mode in wanted.items()
    )
    return changes + store.drop(session, dropped)


class WatchService:
    def __init__(
        self,
        db: Database,
        profile: GatewayProfile,
        resolver: Callable[[], DnsResolver],
        *,
        config: WatchConfig | None = None,
        delays: ReminderDelays = DEFAULT_DELAYS,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.profile = profile
        self.resolver = resolver
        self.config = config or WatchConfig()
        self.delays = delays
        self.clock = clock

    def sync(self) -> int:
        """Make the watches match the onboardings. Read first: the write lock (SQLite's is the
        whole database) is only taken when something is to change, not at every poll."""
        with self.db.session() as session:
            wanted, dropped = watch_changes(session)
        if not (wanted or dropped):
            return 0
        with self.db.session(write=True) as session:
            return sync_watches(session, now=self.clock(), config=self.config)

    def claim(self, worker: str, limit: int) -> list[Watch]:
        return store.claim_due(
            self.db, worker=worker, now=self.clock(), limit=limit, lease=self.config.lease
        )

    def run(self, watch: Watch, worker: str) -> RunOutcome:
        """One run of a claimed watch. A watch with notices left by an earlier claim (that
        worker died before posting them) only gets them back, so none is decided twice."""
        assert watch.id is not None
        left = _notices(watch)
        if left or watch.due_at > self.clock():
            return RunOutcome(watch.id, left, None, "notices left by an earlier claim")
        with self.db.session() as session:
            onboarding = session.get(Onboarding, watch.onboarding_id)
            inputs = self._inputs(session, onboarding) if onboarding is not None else None
        mode = Mode(watch.mode)
        if onboarding is None or isinstance(inputs, str) or inputs is None:
            note = inputs if isinstance(inputs, str) else "the onboarding is gone"
            return self._skip(watch, worker, mode, note)
        domains, region_key = inputs
        region = self.profile.region(region_key)
        looks = asyncio.run(
            observe(
                domains[: self.config.max_domains],
                mode,
                region,
                self.resolver(),
                budget=self.config.run_seconds,
            )
        )
        now = self.clock()
        named = Onboarded(onboarding.key, onboarding.name, onboarding.channel_id)
        conclusion = decide(mode, looks, watch.seen, named, now=now)
        return self._keep(watch, worker, mode, conclusion, now)

    def _inputs(
        self, session: Session, onboarding: Onboarding
    ) -> tuple[tuple[str, ...], str] | str:
        """(domains, region) to watch, or why there is nothing to ask yet."""
        if onboarding.region is None or onboarding.region not in self.profile.regions:
            return f"{onboarding.key} has no region the gateway profile knows"
        try:
            domains = rfi_domains(session, onboarding)
        except Refused:
            return f"{onboarding.key} has no domains yet"
        return domains, onboarding.region

    def _skip(self, watch: Watch, worker: str, mode: Mode, note: str) -> RunOutcome:
        assert watch.id is not None
        now = self.clock()
        due, streak = next_run(mode, watch.streak, False, now, self.config)
        with self.db.session(write=True) as session:
            store.record_run(
                session,
                watch.id,
                worker=worker,
                at=now,
                seen=dict(watch.seen or {}),
                due_at=due,
                streak=streak,
                notices=(),
            )
        log.info("watch %d: nothing asked (%s)", watch.id, note)
        return RunOutcome(watch.id, (), None, note)

    def _keep(
        self, watch: Watch, worker: str, mode: Mode, conclusion: Conclusion, now: datetime
    ) -> RunOutcome:
        """The run's conclusion, its audit events and the old-MX reminder, in one transaction,
        and only while this worker still holds the claim."""
        assert watch.id is not None
        due, streak = next_run(mode, watch.streak, conclusion.changed, now, self.config)
        with self.db.session(write=True) as session:
            onboarding = session.get(Onboarding, watch.onboarding_id, with_for_update=True)
            row = store.record_run(
                session,
                watch.id,
                worker=worker,
                at=now,
                seen=conclusion.seen,
                due_at=due,
                streak=streak,
                notices=[n.to_dict() for n in conclusion.notices],
            )
            if row is None or onboarding is None:
                log.warning("watch %d: claim lost before the run was kept", watch.id)
                return RunOutcome(watch.id, (), None, "claim lost")
            for notice in conclusion.notices:
                _audit(session, onboarding, notice, now)
            if conclusion.all_switched:
                # The same rule a check run uses: keyed, so it is armed once, from now.
                rules.on_check_results(
                    session, onboarding, conclusion.gateway_results, now=now, delays=self.delays
                )
            return RunOutcome(watch.id, _notices(row), conclusion)

    # -- the outbox --------------------------------------------------------------------------

    def attempted(self, watch_id: int, worker: str, seq: int) -> bool:
        with self.db.session(write=True) as session:
            return store.mark_attempted(session, watch_id, worker=worker, seq=seq)

    def posted(self, watch_id: int, worker: str, seq: int) -> bool:
        with self.db.session(write=True) as session:
            return store.notice_done(session, watch_id, worker=worker, seq=seq)

    def release(self, watch_id: int, worker: str, retry_at: datetime | None = None) -> None:
        with self.db.session(write=True) as session:
            store.release(session, watch_id, worker=worker, retry_at=retry_at)


def _notices(watch: Watch) -> tuple[Notice, ...]:
    return tuple(Notice.from_dict(n) for n in watch.outbox or [])


def _audit(session: Session, onboarding: Onboarding, notice: Notice, now: datetime) -> None:
    if notice.audience != CHANNEL:
        return  # one event per finding, however many places hear of it
    event: audit.Event
    if notice.kind == SWITCH:
        expire = notice.caches_expire_at.isoformat() if notice.caches_expire_at else None
        event = audit.WatchSwitchSeen(notice.domain, notice.name_servers, expire)
    elif notice.kind == REGRESSION:
        event = audit.WatchRegression(notice.domain, notice.problem or "")
    else:
        return
    audit.record(session, onboarding.id, BOT, event, at=now)
