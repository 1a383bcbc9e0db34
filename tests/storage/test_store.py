"""The store on SQLite and PostgreSQL: migrations, time zones, constraints, concurrency."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, select

from commands.core.context import Caller
from commands.core.roles import Role
from commands.replies import Opened, Refusal
from commands.router import Router
from commands.services import Services
from store import onboardings
from store.db import MIGRATIONS, Database, normalise_url
from store.models import Onboarding, StepStatus


def test_migrations_create_exactly_the_models(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []
        tables = set(inspect(connection).get_table_names())
    assert {"onboarding", "step_status", "audit_event", "alembic_version"} <= tables


def test_upgrade_twice_is_harmless_and_reaches_the_newest_migration(database: Database) -> None:
    database.upgrade()
    scripts = ScriptDirectory(str(MIGRATIONS))
    with database.engine.connect() as connection:
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert version == scripts.get_current_head()
    assert len(list(scripts.walk_revisions())) >= 2


def test_datetimes_come_back_aware_and_in_utc(database: Database) -> None:
    local = datetime(2026, 11, 28, 11, 42, tzinfo=timezone(timedelta(hours=1)))
    with database.session(write=True) as session:
        session.add(
            Onboarding(key="acme", name="Acme", service="both", opened_by="U1", opened_at=local)
        )
    with database.session() as session:
        stored = session.exec(select(Onboarding)).one().opened_at
    assert stored == local
    assert stored.utcoffset() == timedelta(0)


def add(database: Database, row: object) -> None:
    with database.session(write=True) as session:
        session.add(row)
        session.flush()


def test_naive_datetimes_are_refused(database: Database) -> None:
    naive = Onboarding(
        key="acme", name="A", service="both", opened_by="U1", opened_at=datetime(2026, 1, 1)
    )
    with pytest.raises(Exception, match="naive datetime"):
        add(database, naive)


def test_key_is_unique_in_the_database(database: Database) -> None:
    now = datetime.now(UTC)
    with database.session(write=True) as session:
        session.add(Onboarding(key="acme", name="A", service="both", opened_by="U1", opened_at=now))
    with pytest.raises(onboardings.DuplicateKey), database.session(write=True) as session:
        onboardings.add_onboarding(
            session,
            Onboarding(key="acme", name="B", service="both", opened_by="U2", opened_at=now),
            [],
        )


def test_one_state_row_per_step_and_foreign_keys_enforced(database: Database) -> None:
    now = datetime.now(UTC)
    with database.session(write=True) as session:
        onboarding = onboardings.add_onboarding(
            session,
            Onboarding(key="acme", name="A", service="both", opened_by="U1", opened_at=now),
            [("rfi", "not_started")],
        )
        onboarding_id = onboarding.id
    with pytest.raises(IntegrityError):
        add(
            database,
            StepStatus(onboarding_id=onboarding_id, step="rfi", state="done", changed_at=now),
        )
    with pytest.raises(IntegrityError):
        add(database, StepStatus(onboarding_id=999_999, step="rfi", state="done", changed_at=now))


def test_concurrent_opens_of_one_key_store_it_once(database: Database) -> None:
    router = Router(Services.build(database))
    barrier = threading.Barrier(6)
    outcomes: list[object] = []

    def open_it(n: int) -> None:
        barrier.wait(timeout=10)
        outcomes.append(
            router.handle_text(
                Caller(f"U{n}", f"C{n}", role=Role.ENGINEER), "open acme --service both"
            )
        )

    threads = [threading.Thread(target=open_it, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sum(isinstance(o, Opened) for o in outcomes) == 1
    assert sum(isinstance(o, Refusal) for o in outcomes) == 5
    with database.session() as session:
        assert len(session.exec(select(StepStatus)).all()) == 6


def test_postgres_urls_get_the_psycopg3_driver() -> None:
    assert normalise_url("postgresql://u@h/db").startswith("postgresql+psycopg://")
    assert normalise_url("postgres://u@h/db").startswith("postgresql+psycopg://")
    assert normalise_url("sqlite:///connect.db") == "sqlite:///connect.db"
