"""Benchmark: building and rendering the App Home overview for many open onboardings.

    .venv/bin/python tests/bench/bench_home.py [--onboardings 500] [--repeat 20]
        [--database-url postgresql://...]

Fills a fresh database (SQLite in a temporary directory by default) with N open onboardings,
their six step rows, a failing check run on every third, an overdue reminder on every fifth and
a go-live date on every seventh; then times HomeService.open (the store's overview, the urgency
order, the page) and the Block Kit rendering of the first page to the JSON views.publish sends.
It reports the statements each overview ran, and p50 / max times. With a PostgreSQL
--database-url a scratch database connectbot_home_<pid> is made there and dropped at the end.
Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from sqlalchemy import event  # noqa: E402
from support.scratch_postgres import scratch_postgres  # noqa: E402

from bot.render.home import home_view  # noqa: E402
from commands.core.context import Caller  # noqa: E402
from commands.core.process import Service, Step, initial_state  # noqa: E402
from commands.core.roles import Role  # noqa: E402
from commands.home.service import HomeFilters, HomeService, Scope  # noqa: E402
from store import onboardings as store  # noqa: E402
from store.db import Database  # noqa: E402
from store.models import CheckRun, Onboarding, Reminder  # noqa: E402


def fill(database: Database, count: int) -> None:
    now = datetime.now(UTC)
    with database.session(write=True) as session:
        for n in range(count):
            o = Onboarding(
                key=f"bench-{n:05d}",
                name=f"Customer {n}",
                service="both",
                region="eu",
                channel_id=f"C{n:08d}",
                opened_by="U0BENCH",
                opened_at=now - timedelta(days=n % 30),
                go_live=date.today() + timedelta(days=5 + n % 40) if n % 7 == 0 else None,
            )
            store.add_onboarding(
                session, o, [(s.value, initial_state(Service.BOTH, s).value) for s in Step]
            )
            assert o.id is not None
            if n % 3 == 0:
                session.add(
                    CheckRun(onboarding_id=o.id, step="rfi", run_by="U0B", run_at=now, worst="fail")
                )
            if n % 5 == 0:
                session.add(
                    Reminder(
                        onboarding_id=o.id,
                        kind="manual",
                        text="call",
                        due_at=now - timedelta(hours=1),
                        channel_id=f"C{n:08d}",
                        created_by="U0B",
                    )
                )


def run(url: str, count: int, repeat: int) -> None:
    database = Database(url)
    database.upgrade()
    fill(database, count)
    home = HomeService(database)
    engineer = Caller("U0BENCH", role=Role.ENGINEER)
    statements: list[str] = []
    event.listen(database.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    build, render = [], []
    size = blocks = 0
    for _ in range(repeat):
        statements.clear()
        started = time.perf_counter()
        shown = home.open(engineer, HomeFilters(Scope.ALL))
        built = time.perf_counter()
        view = home_view(shown).to_dict()
        payload = json.dumps(view)
        done = time.perf_counter()
        build.append((built - started) * 1000)
        render.append((done - built) * 1000)
        size, blocks = len(payload), len(view["blocks"])
    backend = "sqlite" if database.is_sqlite else "postgresql"
    print(f"{backend}: {count:,} open onboardings, {repeat} runs")
    print(f"  statements per overview: {len(statements)}")
    print(
        f"  overview (store + order + page): p50 {statistics.median(build):.1f} ms, "
        f"max {max(build):.1f} ms"
    )
    print(
        f"  render page 1 to JSON: p50 {statistics.median(render):.1f} ms, "
        f"max {max(render):.1f} ms ({blocks} blocks, {size:,} bytes)"
    )
    database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--onboardings", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database-url", help="a PostgreSQL server (a scratch database is used)")
    args = parser.parse_args()
    if args.database_url:
        with scratch_postgres(args.database_url, "home") as url:
            run(url, args.onboardings, args.repeat)
        return
    with tempfile.TemporaryDirectory() as directory:
        run(f"sqlite:///{directory}/bench.db", args.onboardings, args.repeat)


if __name__ == "__main__":
    main()
