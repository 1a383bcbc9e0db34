"""Latest-wins updates: at most one per message per interval, the latest state shown last, and
a final update that never waits behind queued progress nor overtakes one in flight."""

from __future__ import annotations

import threading

from bot.coalesce import Coalescer


class Clock:
    """A clock the test moves by hand, so intervals are counted, not waited for."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_of_updates_makes_one_update_then_the_latest_after_the_interval() -> None:
    clock = Clock()
    seen: list[str] = []
    updates = Coalescer(interval=3.0, clock=clock)
    try:
        updates.submit("m", lambda: seen.append("state 0"))
        assert updates.idle()
        for n in range(1, 200):
            updates.submit("m", lambda n=n: seen.append(f"state {n}"))
        assert updates.idle()
        assert seen == ["state 0"]  # the interval has not passed: the rest wait, replaced
        clock.now += 3.0
        assert updates.idle()
        assert seen == ["state 0", "state 199"]
    finally:
        updates.close()


def test_two_hundred_progress_updates_over_a_minute_make_at_most_twenty_one() -> None:
    clock = Clock()
    seen: list[int] = []
    updates = Coalescer(interval=3.0, clock=clock)
    try:
        for n in range(200):  # one domain finishes every 0.3 s for a minute
            updates.submit("m", lambda n=n: seen.append(n))
            assert updates.idle()
            clock.now += 0.3
        clock.now += 3.0
        assert updates.idle()
        assert len(seen) <= 21
        assert seen[-1] == 199  # the latest state is the one left showing
        assert seen == sorted(seen)
    finally:
        updates.close()


def test_the_final_update_drops_waiting_progress_and_is_the_last() -> None:
    clock = Clock()
    seen: list[str] = []
    updates = Coalescer(interval=3.0, clock=clock)
    try:
        updates.submit("m", lambda: seen.append("progress 1"))
        assert updates.idle()
        updates.submit("m", lambda: seen.append("progress 2"))  # waits for the interval
        updates.final("m", lambda: seen.append("report"))
        clock.now += 10.0
        assert updates.idle()
        assert seen == ["progress 1", "report"]
    finally:
        updates.close()


def test_the_final_update_waits_for_one_in_flight() -> None:
    clock = Clock()
    seen: list[str] = []
    started, release = threading.Event(), threading.Event()

    def slow_progress() -> None:
        started.set()
        release.wait(5)
        seen.append("progress")

    updates = Coalescer(interval=3.0, clock=clock)
    try:
        updates.submit("m", slow_progress)
        assert started.wait(5)
        final = threading.Thread(target=updates.final, args=("m", lambda: seen.append("report")))
        final.start()
        final.join(0.2)
        assert final.is_alive()  # it waits for the update in flight
        release.set()
        final.join(5)
        assert seen == ["progress", "report"]
    finally:
        updates.close()


def test_messages_do_not_wait_for_each_other_and_a_failure_stops_nothing() -> None:
    clock = Clock()
    seen: list[str] = []
    updates = Coalescer(interval=3.0, clock=clock)

    def broken() -> None:
        raise RuntimeError("Slack said no")

    try:
        updates.submit("a", broken)
        updates.submit("b", lambda: seen.append("b"))
        assert updates.idle()
        updates.submit("a", lambda: seen.append("a again"))
        clock.now += 3.0
        assert updates.idle()
        assert seen == ["b", "a again"]
    finally:
        updates.close()


def test_after_close_nothing_more_is_taken() -> None:
    seen: list[str] = []
    updates = Coalescer(interval=0.0)
    updates.close()
    updates.submit("m", lambda: seen.append("late"))
    assert updates.idle()
    assert seen == []
