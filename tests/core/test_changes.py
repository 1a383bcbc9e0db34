"""The change hook (commands/core/changes.py) on SQLite and PostgreSQL: a subscriber hears an
onboarding's id after the commit that changed it, once per transaction, and never for a change
that was rolled back; a failing subscriber neither fails the change nor silences the others."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from commands.core import changes
from commands.core.context import Caller
from commands.core.roles import Role
from commands.replies import Opened
from commands.router import Router
from commands.services import Services
from store import onboardings
from store.db import Database

ENGINEER = Caller(user_id="U0ENG", channel_id="C0ACME", team_id="T0TEST", role=Role.ENGINEER)


@pytest.fixture
def heard() -> Iterator[list[int]]:
    ids: list[int] = []
    unsubscribe = changes.subscribe(ids.append)
    try:
        yield ids
    finally:
        unsubscribe()


def opened(database: Database) -> tuple[Router, int]:
    router = Router(Services.build(database))
    result = router.handle_text(ENGINEER, "open acme --service both")
    assert isinstance(result, Opened)
    with database.session() as session:
        row = onboardings.get_by_key(session, "acme")
        assert row is not None
        assert row.id is not None
        return router, row.id


def test_a_committed_change_is_heard_once_after_the_commit(
    database: Database, heard: list[int]
) -> None:
    router, onboarding_id = opened(database)
    assert heard == [onboarding_id]  # the opening: several audit events, one notice

    seen_in_transaction: list[bool] = []

    def reads_committed(got: int) -> None:
        with database.session() as session:  # a new session sees the committed step
            rows = {r.step: r.state for r in onboardings.step_rows(session, got)}
            seen_in_transaction.append(rows["rfi"] == "done")

    unsubscribe = changes.subscribe(reads_committed)
    try:
        router.handle_text(ENGINEER, "done acme rfi")
    finally:
        unsubscribe()
    assert heard == [onboarding_id, onboarding_id]
    assert seen_in_transaction == [True]


class Boom(Exception):
    pass


def test_a_rolled_back_change_is_not_heard(database: Database, heard: list[int]) -> None:
    _, onboarding_id = opened(database)
    heard.clear()

    def change_then_fail() -> None:
        with database.session(write=True) as session:
            changes.changed(session, onboarding_id)
            raise Boom

    with pytest.raises(Boom):
        change_then_fail()
    assert heard == []


def test_a_failing_subscriber_fails_neither_the_change_nor_the_others(
    database: Database, heard: list[int]
) -> None:
    def broken(_: int) -> None:
        raise RuntimeError("boom")

    unsubscribe = changes.subscribe(broken)
    try:
        _, onboarding_id = opened(database)
    finally:
        unsubscribe()
    assert heard == [onboarding_id]


def test_unsubscribed_hears_nothing(database: Database) -> None:
    ids: list[int] = []
    changes.subscribe(ids.append)()
    opened(database)
    assert ids == []
