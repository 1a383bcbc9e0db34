"""Benchmark: `/connect history` pages and a customer's scoped `list` on a big audit trail.

    .venv/bin/python tests/bench/bench_history.py [--onboardings 2000] [--events 100]
        [--members 5] [--database-url postgresql://postgres@127.0.0.1:5432/test]

Fills a fresh database (SQLite in a temporary directory by default; with a PostgreSQL URL a
scratch database connectbot_bench_<pid> on that server, dropped at the end) with N onboardings,
E audit events and M members each, then times, through the real command router, the first
history page, a deep page, and a customer contact's `list`. Prints the median and the worst of
--repeat runs of each. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

import psycopg  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from commands.core.context import Caller  # noqa: E402
from commands.core.process import Service, Step, initial_state  # noqa: E402
from commands.core.roles import Role  # noqa: E402
from commands.history import History  # noqa: E402
from commands.replies import Listing  # noqa: E402
from commands.router import Router  # noqa: E402
from commands.services import Services  # noqa: E402
from store.db import Database  # noqa: E402
from store.models import AuditEvent, Member, Onboarding, StepStatus  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--onboardings", type=int, default=2_000)
    parser.add_argument("--events", type=int, default=100, help="audit events per onboarding")
    parser.add_argument("--members", type=int, default=5, help="members per onboarding")
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--database-url", help="a PostgreSQL server (scratch database made)")
    return parser.parse_args()


@contextmanager
def database(url: str | None) -> Iterator[Database]:
    if url is None:
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
            yield db
            db.dispose()
        return
    if "127.0.0.1" not in url and "localhost" not in url:
        raise SystemExit("only a loopback PostgreSQL, please")
    name = f"connectbot_bench_{os.getpid()}"
    admin_dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    db = Database(admin_dsn.rsplit("/", 1)[0] + "/" + name)
    try:
        yield db
    finally:
        db.dispose()
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fill(db: Database, onboardings: int, events: int, members: int) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with db.engine.begin() as connection:
        connection.execute(
            insert(Onboarding),
            [
                {
                    "id": n + 1,
                    "key": f"cust-{n}",
                    "name": f"Customer {n}",
                    "service": "both",
                    "channel_id": f"C{n:08d}",
                    "opened_by": "U0ENG",
                    "opened_at": start,
                }
                for n in range(onboardings)
            ],
        )
        connection.execute(
            insert(StepStatus),
            [
                {
                    "onboarding_id": n + 1,
                    "step": s.value,
                    "state": initial_state(Service.BOTH, s).value,
                    "changed_at": start,
                }
                for n in range(onboardings)
                for s in Step
            ],
        )
        for n in range(onboardings):
            connection.execute(
                insert(AuditEvent),
                [
                    {
                        "onboarding_id": n + 1,
                        "at": start + timedelta(minutes=e),
                        "actor": "U0ENG",
                        "action": "step.changed",
                        "detail": {"step": "outbound", "from": "done", "to": "in_progress"},
                    }
                    for e in range(events)
                ],
            )
        connection.execute(
            insert(Member),
            [
                {
                    "onboarding_id": n + 1,
                    "user_id": f"U{n:06d}{m}",
                    "role": "customer",
                    "added_by": "U0ENG",
                    "added_at": start,
                }
                for n in range(onboardings)
                for m in range(members)
            ],
        )


def timed(label: str, repeat: int, run: Callable[[], object], check: type) -> None:
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        result = run()
        samples.append((time.perf_counter() - began) * 1000)
        assert isinstance(result, check), result
    print(f"  {label:<34} median {statistics.median(samples):6.2f} ms  max {max(samples):6.2f} ms")


def main() -> None:
    args = parse_args()
    with database(args.database_url) as db:
        db.upgrade()
        began = time.perf_counter()
        fill(db, args.onboardings, args.events, args.members)
        backend = "PostgreSQL" if args.database_url else "SQLite"
        total = args.onboardings * args.events
        print(
            f"{backend}: {args.onboardings:,} onboardings, {total:,} audit events, "
            f"{args.onboardings * args.members:,} members (filled in "
            f"{time.perf_counter() - began:.1f} s)"
        )
        router = Router(Services.build(db))
        middle = args.onboardings // 2
        engineer = Caller("U0ENG", "C0ELSEWHERE", role=Role.ENGINEER)
        customer = Caller(f"U{middle:06d}0", f"C{middle:08d}", role=Role.CUSTOMER)
        deep = max(1, args.events // 20)
        timed(
            "history, page 1 (engineer)",
            args.repeat,
            lambda: router.handle_text(engineer, f"history cust-{middle}"),
            History,
        )
        timed(
            f"history, page {deep} (engineer)",
            args.repeat,
            lambda: router.handle_text(engineer, f"history cust-{middle} --page {deep}"),
            History,
        )
        timed(
            "history, page 1 (customer, bound)",
            args.repeat,
            lambda: router.handle_text(customer, "history"),
            History,
        )
        timed(
            "list (customer contact)",
            args.repeat,
            lambda: router.handle_text(customer, "list"),
            Listing,
        )
        timed(
            "list (engineer, 40 of all)",
            args.repeat,
            lambda: router.handle_text(engineer, "list"),
            Listing,
        )


if __name__ == "__main__":
    main()
