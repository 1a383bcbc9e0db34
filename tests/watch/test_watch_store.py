"""Watch SQL on SQLite and PostgreSQL: which watches exist, claims and leases, the outbox."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from commands.watch.schedule import WatchConfig
from commands.watch.service import sync_watches
from store import watches
from store.db import Database
from store.models import Onboarding, StepStatus, Watch

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


def add_onboarding(database: Database, key: str, inbound: str = "in_progress") -> int:
    with database.session(write=True) as session:
        row = Onboarding(key=key, name=key.title(), service="both", opened_by="U1", opened_at=T0)
        session.add(row)
        session.flush()
        assert row.id is not None
        session.add(StepStatus(onboarding_id=row.id, step="inbound", state=inbound))
        return row.id


def watched(database: Database, count: int) -> list[int]:
    ids = [add_onboarding(database, f"acme{n}") for n in range(count)]
    with database.session(write=True) as session:
        for onboarding_id in ids:
            assert watches.ensure(session, onboarding_id, mode="cutover", due_at=T0)
    return ids


def test_sync_makes_one_watch_per_stage_and_drops_closed_ones(database: Database) -> None:
    cut = add_onboarding(database, "cut", "in_progress")
    reg = add_onboarding(database, "reg", "done")
    add_onboarding(database, "early", "not_started")
    config = WatchConfig(interval=60)
    with database.session(write=True) as session:
        assert sync_watches(session, now=T0, config=config) == 2
        assert sync_watches(session, now=T0, config=config) == 0  # nothing left to do
    with database.session() as session:
        modes = {w.onboarding_id: (w.mode, w.due_at) for w in session.exec(select(Watch))}
    assert modes == {
        cut: ("cutover", T0 + timedelta(seconds=60)),
        reg: ("regression", T0 + timedelta(days=1)),
    }
    with database.session(write=True) as session:
        onboarding = session.get(Onboarding, cut)
        assert onboarding is not None
        onboarding.closed_at = T0
        session.add(onboarding)
    with database.session(write=True) as session:
        assert sync_watches(session, now=T0, config=config) == 1
        assert watches.for_onboarding(session, cut) is None
        assert watches.for_onboarding(session, reg) is not None


def test_two_workers_never_claim_the_same_watch(database: Database) -> None:
    watched(database, 30)
    claimed: dict[str, list[int]] = {}
    start = threading.Barrier(3)

    def worker(name: str) -> None:
        start.wait()
        mine: list[int] = []
        for _ in range(10):
            rows = watches.claim_due(database, worker=name, now=T0, limit=4, lease=LEASE)
            mine += [row.id for row in rows if row.id is not None]
        claimed[name] = mine

    threads = [threading.Thread(target=worker, args=(f"w{n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    every = [i for ids in claimed.values() for i in ids]
    assert len(every) == 30
    assert len(set(every)) == 30  # nobody claimed a watch another worker holds


def test_an_expired_lease_is_taken_over_and_the_old_holder_keeps_nothing(
    database: Database,
) -> None:
    (onboarding_id,) = watched(database, 1)
    (row,) = watches.claim_due(database, worker="a", now=T0, limit=5, lease=LEASE)
    assert row.id is not None
    # While the lease lasts, nobody else gets it.
    assert watches.claim_due(database, worker="b", now=T0 + LEASE / 2, limit=5, lease=LEASE) == []
    later = T0 + LEASE + timedelta(seconds=1)
    (taken,) = watches.claim_due(database, worker="b", now=later, limit=5, lease=LEASE)
    assert taken.id == row.id
    assert taken.claimed_by == "b"
    with database.session(write=True) as session:
        kept = watches.record_run(
            session,
            row.id,
            worker="a",
            at=later,
            seen={"x": 1},
            due_at=later,
            streak=0,
            notices=[{"kind": "switch"}],
        )
        assert kept is None  # a's run is dropped: b runs it
        assert not watches.release(session, row.id, worker="a")
        assert watches.for_onboarding(session, onboarding_id).seen is None  # type: ignore[union-attr]


def test_paused_watches_are_not_claimed_and_unposted_notices_make_a_watch_due(
    database: Database,
) -> None:
    first, second = watched(database, 2)
    with database.session(write=True) as session:
        assert watches.set_paused(session, first, by="U1", at=T0)
        assert not watches.set_paused(session, first, by="U1", at=T0)  # already paused
    (row,) = watches.claim_due(database, worker="a", now=T0, limit=5, lease=LEASE)
    assert row.onboarding_id == second
    assert row.id is not None
    later = T0 + timedelta(hours=1)
    with database.session(write=True) as session:
        kept = watches.record_run(
            session,
            row.id,
            worker="a",
            at=T0,
            seen={},
            due_at=later,
            streak=0,
            notices=[{"kind": "switch"}, {"kind": "switch"}],
        )
        assert kept is not None
        assert kept.pending == 2
        assert [n["seq"] for n in kept.outbox or []] == [0, 1]
        assert watches.mark_attempted(session, row.id, worker="a", seq=0)
        assert watches.release(session, row.id, worker="a")
    # Not due until `later`, but its notices are waiting: taken at once.
    (again,) = watches.claim_due(database, worker="b", now=T0, limit=5, lease=LEASE)
    assert again.id == row.id
    assert [n["attempted"] for n in again.outbox or []] == [True, False]
    with database.session(write=True) as session:
        assert watches.notice_done(session, row.id, worker="b", seq=0)
        assert watches.notice_done(session, row.id, worker="b", seq=1)
        assert watches.release(session, row.id, worker="b")
    assert watches.claim_due(database, worker="c", now=T0, limit=5, lease=LEASE) == []
    with database.session(write=True) as session:
        assert watches.set_paused(session, first, by=None, at=None)
    (resumed,) = watches.claim_due(database, worker="c", now=T0, limit=5, lease=LEASE)
    assert resumed.onboarding_id == first
