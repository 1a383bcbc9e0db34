"""Who has the Home tab open, on SQLite and PostgreSQL: the publish bound is one claim in the
database, so two processes (two HomeService on one database) never both publish a person's Home
inside the interval; a committed change is noticed once, with its onboarding, and a rolled-back
one not at all."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from commands.core import audit, changes
from commands.core.context import Caller
from commands.core.roles import Role
from commands.home.service import HomeService
from commands.router import Router
from commands.services import Services
from store.db import Database
from store.models import Onboarding, utcnow

ENGINEER = Caller("U0ENG", "C0ACME", "T0TEST", role=Role.ENGINEER)


def test_the_publish_bound_holds_across_processes(database: Database) -> None:
    one, two = HomeService(database), HomeService(database)
    one.open(ENGINEER)
    assert one.claim("U0ENG") is None  # the first publish may go
    later = two.claim("U0ENG")  # another process, a moment later: not yet
    assert later is not None
    assert timedelta(0) < later - utcnow() <= one.every
    assert one.claim("U0ENG") is not None
    # Nobody else: no claim for someone who never opened Home.
    assert two.claim("U0NOBODY") is not None


def change_then_fail(database: Database, onboarding_id: int | None) -> None:
    with database.session(write=True) as session:
        row = session.get(Onboarding, onboarding_id)
        assert row is not None
        row.name = "Renamed"
        audit.record(session, onboarding_id, "U0ENG", audit.OnboardingClosed())
        raise RuntimeError("rolled back")


def test_a_committed_change_is_noticed_once_and_a_rollback_not(database: Database) -> None:
    router = Router(Services.build(database))
    seen: list[int] = []
    stop = changes.subscribe(seen.append)
    try:
        router.handle_text(ENGINEER, "open acme --service both --region eu")
        with database.session() as session:
            acme = session.exec(select(Onboarding)).one()
        assert seen == [acme.id]
        router.handle_text(ENGINEER, "done acme outbound")
        assert seen == [acme.id, acme.id]
        # A change that fails (a refusal) commits nothing and is not noticed.
        router.handle_text(ENGINEER, "done acme outbound")
        assert len(seen) == 2
        with pytest.raises(RuntimeError, match="rolled back"):
            change_then_fail(database, acme.id)
        assert len(seen) == 2
    finally:
        stop()
    router.handle_text(ENGINEER, "reopen acme outbound")
    assert len(seen) == 2  # stopped
