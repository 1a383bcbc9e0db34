"""Benchmark: the reminder dispatcher with 100,000 pending reminders of which 10,000 are due.

    .venv/bin/python tests/bench/bench_reminders.py [--pending 100000] [--due 10000]
        [--channels 500] [--backends sqlite,postgres] [--postgres-url postgresql://...]

For each backend: fills a fresh store (SQLite in a temporary directory; on PostgreSQL a scratch
database connectbot_bench_reminders_<pid>, dropped at the end), prints the due query's plan
(EXPLAIN QUERY PLAN / EXPLAIN ANALYZE), times the due query (the SELECT of one batch) and one
whole claim (SELECT + UPDATE ... RETURNING of a batch, rolled back), then lets one dispatcher
deliver every due reminder to the Slack stand-in (in its own process, answering at once) and
reports wall time and this process's CPU time per reminder: the dispatcher's own cost (client
HTTP, rendering, claims and records; for SQLite the database work too, for PostgreSQL not the
server's). Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from slack_sdk import WebClient  # noqa: E402
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402
from support.scratch_postgres import scratch_postgres  # noqa: E402
from support.slack_standin import SlackStandIn  # noqa: E402

from bot.slack.dispatcher import DispatchConfig, Dispatcher  # noqa: E402
from store import reminders  # noqa: E402
from store.db import Database  # noqa: E402
from store.models import Onboarding, Reminder  # noqa: E402

DEFAULT_PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
BATCH = 100


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pending", type=int, default=100_000, help="pending reminders in all")
    parser.add_argument("--due", type=int, default=10_000, help="of which due now")
    parser.add_argument("--channels", type=int, default=500, help="channels they post to")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--postgres-url", default=DEFAULT_PG_ADMIN)
    parser.add_argument("--query-runs", type=int, default=200)
    return parser.parse_args()


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="bench-reminders-") as folder:
        yield f"sqlite:///{Path(folder) / 'connect.db'}"


def seed(db: Database, pending: int, due: int, channels: int, now: datetime) -> None:
    with db.session(write=True) as session:
        onboarding = Onboarding(key="acme", name="Acme", service="both", opened_by="U1")
        session.add(onboarding)
        session.flush()
        onboarding_id = onboarding.id
    chunk: list[dict[str, object]] = []
    for index in range(pending):
        # The due ones spread over the last hour, the rest over 90 days from tomorrow (none
        # falls due while the benchmark runs).
        if index < due:
            at = now - timedelta(seconds=1 + (index * 3_600) // due)
        else:
            later = ((index - due) * 90 * 86_400) // (pending - due)
            at = now + timedelta(days=1, seconds=later)
        chunk.append(
            {
                "onboarding_id": onboarding_id,
                "kind": "manual",
                "text": f"chore number {index}: call the ISP about the old MX host",
                "due_at": at,
                "channel_id": f"C{index % channels:05d}",
                "state": "pending",
                "created_by": "bot",
                "created_at": now,
                "occurrence": 0,
                "attempts": 0,
            }
        )
        if len(chunk) == 5_000:
            with db.session(write=True) as session:
                session.execute(insert(Reminder), chunk)
            chunk = []
    if chunk:
        with db.session(write=True) as session:
            session.execute(insert(Reminder), chunk)
    with db.engine.begin() as connection:
        connection.execute(text("ANALYZE"))


def plan(db: Database, now: datetime) -> str:
    query = reminders.due_ids_query(now, BATCH)
    with db.engine.connect() as connection:
        sql = str(query.compile(connection, compile_kwargs={"literal_binds": True}))  # type: ignore[attr-defined]
        if db.is_sqlite:
            rows = connection.execute(text(f"EXPLAIN QUERY PLAN {sql}")).all()
            shown = "\n".join(f"  {row[-1]}" for row in rows)
        else:
            rows = connection.execute(text(f"EXPLAIN (ANALYZE, COSTS OFF) {sql}")).all()
            shown = "\n".join(f"  {row[0]}" for row in rows)
    return f"{sql}\n{shown}"


def median_ms(runs: int, work: Callable[[], object]) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        work()
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def time_queries(db: Database, now: datetime, runs: int) -> dict[str, tuple[float, float]]:
    query = reminders.due_ids_query(now, BATCH)

    def select_batch() -> object:
        with db.session() as session:
            ids = list(session.execute(query).scalars())  # type: ignore[call-overload]
        assert len(ids) == BATCH
        return ids

    def claim_batch() -> object:
        # A whole claim, rolled back so every run sees the same 10,000 due reminders.
        with db.session(write=True) as session:
            rows = reminders.claim_due(
                session, worker="bench", now=now, limit=BATCH, lease=timedelta(minutes=2)
            )
            assert len(rows) == BATCH
            session.rollback()
        return rows

    return {
        "due SELECT (batch of 100)": median_ms(runs, select_batch),
        "claim (SELECT + UPDATE RETURNING, 100)": median_ms(max(10, runs // 4), claim_batch),
    }


def _serve_standin(connection: Connection) -> None:
    """Child process: the stand-in; answers "count" with (posts ok, reminders, most per one)."""
    with SlackStandIn() as standin:
        connection.send(standin.api_url)
        while (command := connection.recv()) != "stop":
            assert command == "count"
            posts = [c for c in standin.calls("chat.postMessage") if c.answered == "ok"]
            ids = Counter(c.params["metadata"]["event_payload"]["reminder_id"] for c in posts)
            connection.send((len(posts), len(ids), max(ids.values(), default=0)))
            standin.clear()


class StandInProcess:
    """The stand-in in its own process, so that its CPU is not counted as the dispatcher's."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._connection, child = context.Pipe()
        self._process = context.Process(target=_serve_standin, args=(child,), daemon=True)

    def __enter__(self) -> StandInProcess:
        self._process.start()
        if not self._connection.poll(30):
            raise RuntimeError("the Slack stand-in did not start")
        self.api_url: str = self._connection.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        self._connection.send("stop")
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()

    def count_and_clear(self) -> tuple[int, int, int]:
        self._connection.send("count")
        return self._connection.recv()  # type: ignore[no-any-return]


def dispatch_all(db: Database, api_url: str, due: int) -> tuple[float, float]:
    client = WebClient(token="xoxb-bench", base_url=api_url, timeout=10)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    config = DispatchConfig(poll_seconds=0.05, batch=BATCH, channel_interval=0.0)
    dispatcher = Dispatcher(db, client, config, worker="bench")
    wall, cpu = time.perf_counter(), time.process_time()
    dispatcher.run_until_idle(timeout=1_800)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    dispatcher.stop()
    if dispatcher.posted != due:
        raise SystemExit(f"posted {dispatcher.posted} of {due} due reminders")
    return wall, cpu


def bench(name: str, url: str, args: argparse.Namespace, standin: StandInProcess) -> None:
    db = Database(url)
    db.upgrade()
    now = datetime.now(UTC)
    began = time.perf_counter()
    seed(db, args.pending, args.due, args.channels, now)
    print(f"\n== {name}: {args.pending:,} pending, {args.due:,} due, {args.channels} channels")
    print(f"filled in {time.perf_counter() - began:.1f} s")
    print("due query plan:\n" + plan(db, now))
    for label, (median, p95) in time_queries(db, now, args.query_runs).items():
        print(f"{label}: median {median:.2f} ms, p95 {p95:.2f} ms")
    wall, cpu = dispatch_all(db, standin.api_url, args.due)
    posts, distinct, most = standin.count_and_clear()
    print(
        f"dispatch: {args.due:,} reminders in {wall:.1f} s ({args.due / wall:,.0f}/s); "
        f"dispatcher CPU {cpu * 1000 / args.due:.2f} ms per reminder, "
        f"wall {wall * 1000 / args.due:.2f} ms per reminder"
    )
    print(f"stand-in: {posts:,} posts, {distinct:,} reminders, at most {most} post(s) each")
    db.dispose()


def main() -> int:
    args = parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    with StandInProcess() as standin:
        for backend in backends:
            if backend == "sqlite":
                with sqlite_url() as url:
                    bench("SQLite", url, args, standin)
            elif backend == "postgres":
                with scratch_postgres(args.postgres_url, "bench_reminders") as url:
                    bench("PostgreSQL", url, args, standin)
            else:
                raise SystemExit(f"unknown backend {backend!r}: sqlite or postgres")
    return 0


if __name__ == "__main__":
    sys.exit(main())
