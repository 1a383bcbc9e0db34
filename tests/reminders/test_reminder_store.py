"""Reminder SQL on SQLite and PostgreSQL: keys, states, claims, leases, repeats, the index."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from store import reminders
from store.db import Database
from store.models import Onboarding, Reminder

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


@pytest.fixture
def onboarding_id(database: Database) -> int:
    with database.session(write=True) as session:
        row = Onboarding(key="acme", name="Acme", service="both", opened_by="U1", opened_at=T0)
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def try_add(database: Database, onboarding_id: int, **values: object) -> Reminder | None:
    fields: dict[str, object] = {
        "onboarding_id": onboarding_id,
        "kind": "manual",
        "text": "call the ISP",
        "due_at": T0,
        "channel_id": "C1",
        "created_by": "U1",
        **values,
    }
    with database.session(write=True) as session:
        return reminders.add(session, **fields)  # type: ignore[arg-type]


def add(database: Database, onboarding_id: int, **values: object) -> Reminder:
    row = try_add(database, onboarding_id, **values)
    return row


def fetch(database: Database, reminder_id: int | None) -> Reminder:
    assert reminder_id is not None
    with database.session() as session:
        row = reminders.get(session, reminder_id)
    assert row is not None
    return row


def claim(database: Database, worker: str, now: datetime, limit: int = 100) -> list[Reminder]:
    return reminders.claim_due(database, worker=worker, now=now, limit=limit, lease=LEASE)


def test_a_key_makes_an_automatic_reminder_once(database: Database, onboarding_id: int) -> None:
    key = "acme:rfi.nudge:q1"
    first = add(database, onboarding_id, kind="rfi.nudge", key=key, created_by="bot")
    again = try_add(database, onboarding_id, kind="rfi.nudge", key=key, text="other")
    assert (first.state, first.occurrence, first.attempts) == ("pending", 0, 0)
    assert again is None
    # Reminders without a key never collide.
    assert add(database, onboarding_id) is not None
    assert add(database, onboarding_id) is not None
    with database.session() as session:
        assert reminders.get(session, first.id).text == "call the ISP"  # type: ignore[union-attr]
        assert len(reminders.pending_for(session, onboarding_id)) == 3


def test_pending_for_lists_open_reminders_soonest_first(
    database: Database, onboarding_id: int
) -> None:
    late = add(database, onboarding_id, due_at=T0 + timedelta(days=2))
    soon = add(database, onboarding_id, due_at=T0 + timedelta(days=1))
    done = add(database, onboarding_id)
    gone = add(database, onboarding_id)
    snoozed = add(database, onboarding_id)
    with database.session(write=True) as session:
        assert reminders.complete(session, done.id, by="U2", at=T0)
        assert reminders.cancel(session, gone.id)
        until = T0 + timedelta(days=3)
        assert reminders.snooze(session, snoozed.id, until=until, by="U2")
    with database.session() as session:
        listed = reminders.pending_for(session, onboarding_id)
    assert [r.id for r in listed] == [soon.id, late.id, snoozed.id]
    assert listed[2].state == "snoozed"
    assert listed[2].due_at == T0 + timedelta(days=3)


def test_done_and_cancelled_are_final(database: Database, onboarding_id: int) -> None:
    row = add(database, onboarding_id, confirms="inbound.old_mx_retired")
    with database.session(write=True) as session:
        done = reminders.complete(session, row.id, by="U2", at=T0)
        assert done is not None
        assert (done.state, done.done_by, done.done_at) == ("done", "U2", T0)
        assert done.confirms == "inbound.old_mx_retired"
        assert reminders.complete(session, row.id, by="U3", at=T0) is None
        assert reminders.snooze(session, row.id, until=T0, by="U3") is None
        assert reminders.cancel(session, row.id) is None
        assert reminders.get(session, 999_999) is None
        assert reminders.complete(session, 999_999, by="U3", at=T0) is None


def test_cancel_kind_cancels_only_that_kind_of_that_onboarding(
    database: Database, onboarding_id: int
) -> None:
    add(database, onboarding_id, kind="inbound.old_mx_confirm")
    add(database, onboarding_id, kind="inbound.old_mx_confirm")
    c = add(database, onboarding_id, kind="manual")
    with database.session(write=True) as session:
        assert reminders.cancel_kind(session, onboarding_id, "inbound.old_mx_confirm") == 2
        assert reminders.cancel_kind(session, onboarding_id, "inbound.old_mx_confirm") == 0
        assert [r.id for r in reminders.pending_for(session, onboarding_id)] == [c.id]


def test_claims_take_only_due_unclaimed_reminders_oldest_first(
    database: Database, onboarding_id: int
) -> None:
    later = add(database, onboarding_id, due_at=T0 + timedelta(seconds=40))
    second = add(database, onboarding_id, due_at=T0 - timedelta(minutes=1))
    first = add(database, onboarding_id, due_at=T0 - timedelta(minutes=2))
    done = add(database, onboarding_id, due_at=T0 - timedelta(minutes=3))
    with database.session(write=True) as session:
        reminders.complete(session, done.id, by="U1", at=T0)

    got = claim(database, "w1", T0)
    assert [r.id for r in got] == [first.id, second.id]
    assert all(r.claimed_by == "w1" and r.attempts == 1 for r in got)
    assert all(r.claim_expires_at == T0 + LEASE and r.claimed_at == T0 for r in got)
    # Held by a live claim: nobody else gets them; the later one is not due yet.
    assert claim(database, "w2", T0 + timedelta(seconds=30)) == []
    assert [r.id for r in claim(database, "w2", T0 + timedelta(seconds=50))] == [later.id]


def test_an_expired_claim_is_taken_over_and_remembers_the_first_claim(
    database: Database, onboarding_id: int
) -> None:
    row = add(database, onboarding_id, due_at=T0)
    assert claim(database, "dead", T0)
    later = T0 + LEASE + timedelta(seconds=1)
    (taken,) = claim(database, "w2", later)
    # attempts > 1 tells w2 that "dead" may have posted it; claimed_at says since when.
    assert (taken.claimed_by, taken.attempts, taken.claimed_at) == ("w2", 2, T0)
    with database.session(write=True) as session:
        # The dead worker's late record is refused: the claim is w2's now.
        late = reminders.mark_sent(session, row.id, worker="dead", message_ts="1.1", at=later)
        assert late is False
        assert reminders.mark_sent(session, row.id, worker="w2", message_ts="2.2", at=later)
    sent = fetch(database, row.id)
    assert (sent.state, sent.message_ts, sent.occurrence, sent.attempts) == ("sent", "2.2", 1, 0)
    assert (sent.claimed_by, sent.claim_expires_at, sent.sent_at) == (None, None, later)
    assert claim(database, "w3", later + timedelta(days=1)) == []


def test_a_repeating_reminder_comes_back_until_done(database: Database, onboarding_id: int) -> None:
    row = add(database, onboarding_id, due_at=T0, repeat_seconds=86_400)
    claim(database, "w1", T0)
    with database.session(write=True) as session:
        assert reminders.mark_sent(session, row.id, worker="w1", message_ts="1.1", at=T0)
    sent = fetch(database, row.id)
    assert (sent.state, sent.due_at, sent.occurrence) == ("pending", T0 + timedelta(days=1), 1)
    # A worker that fell three days behind sends it once and moves it past now.
    (again,) = claim(database, "w1", T0 + timedelta(days=3, hours=1))
    assert again.attempts == 1
    with database.session(write=True) as session:
        at = T0 + timedelta(days=3, hours=1)
        assert reminders.mark_sent(session, row.id, worker="w1", message_ts="1.2", at=at)
        sent = reminders.get(session, row.id)
        assert sent is not None
        assert (sent.due_at, sent.occurrence) == (T0 + timedelta(days=4), 2)
        reminders.complete(session, row.id, by="U1", at=at)
    assert claim(database, "w1", T0 + timedelta(days=30)) == []


def test_done_while_being_posted_stays_done(database: Database, onboarding_id: int) -> None:
    row = add(database, onboarding_id, due_at=T0, repeat_seconds=86_400)
    claim(database, "w1", T0)
    with database.session(write=True) as session:
        reminders.complete(session, row.id, by="U1", at=T0)
        assert reminders.mark_sent(session, row.id, worker="w1", message_ts="1.1", at=T0)
        # The session that saw the Done sees the record too (no stale copy).
        sent = reminders.get(session, row.id)
        assert sent is not None
        assert (sent.state, sent.message_ts) == ("done", "1.1")
    assert fetch(database, row.id).state == "done"


def test_release_makes_it_due_again_and_counts_attempts_only_when_unsure(
    database: Database, onboarding_id: int
) -> None:
    row = add(database, onboarding_id, due_at=T0)
    claim(database, "w1", T0)
    with database.session(write=True) as session:
        assert reminders.release(session, row.id, worker="w2") is None  # not w2's claim
        back = reminders.release(session, row.id, worker="w1", maybe_posted=False)
    assert back is not None
    assert (back.claimed_by, back.attempts, back.due_at) == (None, 0, T0)
    (again,) = claim(database, "w1", T0 + timedelta(seconds=1))
    assert again.attempts == 1
    retry = T0 + timedelta(minutes=1)
    with database.session(write=True) as session:
        reminders.release(session, row.id, worker="w1", retry_at=retry, maybe_posted=True)
    # Held back until retry_at; the due time people see has not moved.
    assert claim(database, "w2", retry - timedelta(seconds=1)) == []
    (third,) = claim(database, "w2", retry)
    assert (third.attempts, third.due_at, third.claimed_at) == (2, T0, T0 + timedelta(seconds=1))


def test_concurrent_claims_never_share_a_reminder(database: Database, onboarding_id: int) -> None:
    with database.session(write=True) as session:
        for index in range(300):
            reminders.add(
                session,
                onboarding_id=onboarding_id,
                kind="manual",
                text=f"r{index}",
                due_at=T0 - timedelta(seconds=index),
                channel_id=f"C{index % 7}",
                created_by="bot",
            )
    taken: dict[str, list[int]] = {}
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            barrier.wait(timeout=10)
            mine = taken.setdefault(name, [])
            for _ in range(50):
                got = claim(database, name, T0, limit=7)
                if not got:
                    break
                mine.extend(r.id for r in got if r.id is not None)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    every = [i for ids in taken.values() for i in ids]
    assert len(every) == len(set(every)) == 300


def test_the_due_query_uses_its_index(database: Database, onboarding_id: int) -> None:
    query = reminders.due_ids_query(T0, 100)
    with database.engine.connect() as connection:
        compiled = query.compile(connection, compile_kwargs={"literal_binds": True})  # type: ignore[attr-defined]
        if database.is_sqlite:
            plan = connection.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
            shown = " ".join(str(row[-1]) for row in plan)
            assert "USING INDEX ix_reminder_due" in shown, shown
            assert "TEMP B-TREE" not in shown, shown  # read in due order: no sort
        else:
            # A tiny table is cheaper to scan; forbid that to see which index the planner can use.
            connection.execute(text("SET enable_seqscan = off"))
            plan = connection.execute(text(f"EXPLAIN {compiled}")).all()
            shown = " ".join(str(row[0]) for row in plan)
            assert "ix_reminder_due" in shown, shown
            assert "Sort" not in shown, shown


@pytest.mark.parametrize("repeat", [None, 86_400])
def test_snoozed_while_being_posted_stays_snoozed(
    database: Database, onboarding_id: int, repeat: int | None
) -> None:
    row = add(database, onboarding_id, due_at=T0, repeat_seconds=repeat)
    claim(database, "w1", T0)
    until = T0 + timedelta(weeks=1)
    with database.session(write=True) as session:
        reminders.snooze(session, row.id, until=until, by="U1")
    with database.session(write=True) as session:
        assert reminders.mark_sent(session, row.id, worker="w1", message_ts="1.1", at=T0)
    sent = fetch(database, row.id)
    assert (sent.state, sent.due_at, sent.message_ts) == ("snoozed", until, "1.1")
    assert sent.claimed_by is None
    assert claim(database, "w2", until - timedelta(seconds=1)) == []
    assert [r.id for r in claim(database, "w2", until)] == [row.id]


def test_a_due_snoozed_reminder_is_sent_like_any_other(
    database: Database, onboarding_id: int
) -> None:
    row = add(database, onboarding_id, due_at=T0)
    with database.session(write=True) as session:
        reminders.snooze(session, row.id, until=T0 + timedelta(days=1), by="U1")
    later = T0 + timedelta(days=1, minutes=1)
    claim(database, "w1", later)
    with database.session(write=True) as session:
        assert reminders.mark_sent(session, row.id, worker="w1", message_ts="2.2", at=later)
    assert fetch(database, row.id).state == "sent"
