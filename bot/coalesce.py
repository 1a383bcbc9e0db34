"""Latest-wins delivery of updates to one message: at most one update per message per interval.

Slack rate-limits `chat.update` (Tier 3, and about one per second per message in practice), and a
check over 200 domains or a busy onboarding card produce changes far faster than that. A newer
update replaces one still waiting, so a message gets at most one update per `interval` and always
ends showing the latest state. A final update (the report, the closed card) does not queue behind
waiting ones: it drops them and runs as soon as an update already in flight has finished, so it
is always the last one the message gets.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

log = logging.getLogger(__name__)

Update = Callable[[], None]

DEFAULT_INTERVAL = 3.0  # seconds between two updates of one message


@dataclass
class _Slot:
    pending: Update | None = None
    last_at: float | None = None  # when the last update to this message started
    in_flight: bool = False


class Coalescer:
    """Runs updates keyed by message on one background thread; `submit` never blocks."""

    def __init__(
        self,
        *,
        interval: float = DEFAULT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        name: str = "updates",
    ) -> None:
        self.interval = interval
        self._clock = clock
        self._lock = threading.Condition()
        self._slots: dict[Hashable, _Slot] = {}
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, key: Hashable, update: Update) -> None:
        """Deliver `update` to the message `key` when its interval allows, unless a newer one
        replaces it first."""
        with self._lock:
            if self._closed:
                return
            self._slots.setdefault(key, _Slot()).pending = update
            self._lock.notify_all()

    def final(self, key: Hashable, update: Update) -> None:
        """Drop what waits for `key`, wait for an update in flight, then run `update` here (the
        caller's thread, so its errors are the caller's) and forget the message."""
        with self._lock:
            slot = self._slots.get(key)
            if slot is not None:
                slot.pending = None
                while slot.in_flight:
                    self._lock.wait()
                self._slots.pop(key, None)
        update()

    def idle(self, timeout: float = 10.0) -> bool:
        """Wait until nothing waits or runs that is due now (tests and shutdown)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._busy_now():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._lock.wait(min(remaining, 0.05))
        return True

    def close(self) -> None:
        """Stop taking updates; what waits is dropped (a final update is never waiting)."""
        with self._lock:
            self._closed = True
            self._slots.clear()
            self._lock.notify_all()
        self._thread.join(timeout=5)

    # --- the background thread -----------------------------------------------------------------

    def _busy_now(self) -> bool:
        now = self._clock()
        return any(
            slot.in_flight or (slot.pending is not None and self._due_at(slot) <= now)
            for slot in self._slots.values()
        )

    def _due_at(self, slot: _Slot) -> float:
        return float("-inf") if slot.last_at is None else slot.last_at + self.interval

    def _next(self) -> tuple[Hashable, _Slot, Update] | float | None:
        """The update to run now, else how long until one is due (None: nothing waits)."""
        now = self._clock()
        soonest: float | None = None
        for key, slot in self._slots.items():
            if slot.pending is None or slot.in_flight:
                continue
            due = self._due_at(slot)
            if due <= now:
                update, slot.pending = slot.pending, None
                slot.in_flight, slot.last_at = True, now
                return key, slot, update
            soonest = due - now if soonest is None else min(soonest, due - now)
        return soonest

    def _run(self) -> None:
        while True:
            with self._lock:
                while True:
                    if self._closed:
                        return
                    found = self._next()
                    if isinstance(found, tuple):
                        break
                    # A fake clock in tests does not move by itself: poll it now and then.
                    self._lock.wait(0.25 if found is None else min(found, 0.25))
            key, slot, update = found
            try:
                update()
            except Exception:  # one message's failure must not stop every other's updates
                log.exception("an update of %r failed", key)
            finally:
                with self._lock:
                    slot.in_flight = False
                    self._lock.notify_all()
