"""Benchmark: `/connect status <key>` against a real `connect-bot serve` with a big database.

    .venv/bin/python tests/bench/bench_status.py [--onboardings 10000] [--clients 20]
        [--requests 4000] [--rate 100 | --rate 0] [--database-url postgresql://...]

Fills a fresh database (SQLite in a temporary directory by default) with N onboardings and their
six step rows, starts the Slack stand-in (in its own process) and the bot, then sends signed
slash commands from concurrent client threads (one keep-alive connection each), by default on an
open-loop schedule of --rate requests per second. It reports the ack latency (send to HTTP 200)
percentiles, the ack rate, the bot's peak memory and CPU per request, and how many channel posts
arrived.

With a PostgreSQL --database-url, that server gets a scratch database connectbot_bench_<pid>,
dropped at the end. Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import multiprocessing
import random
import sys
import tempfile
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

import psutil  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from support.bot_process import BotProcess, start_bot_process  # noqa: E402
from support.scratch_postgres import scratch_postgres  # noqa: E402
from support.signing import sign, slash_command_body  # noqa: E402
from support.slack_standin import SlackStandIn  # noqa: E402

from commands.core.process import Service, Step, StepState, initial_state  # noqa: E402
from store.db import Database  # noqa: E402
from store.models import Onboarding, StepStatus  # noqa: E402

DEFAULT_PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--onboardings", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=20, help="concurrent client threads")
    parser.add_argument("--requests", type=int, default=4_000, help="total status requests")
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server to use (a scratch database is created and dropped on it, "
        f"e.g. {DEFAULT_PG_ADMIN}); default: SQLite in a temporary directory",
    )
    parser.add_argument("--threads", type=int, help="the bot's HTTP worker threads (serve)")
    parser.add_argument(
        "--rate",
        type=float,
        default=100.0,
        help="open loop (default 100/s): send this many requests per second in all, on a fixed "
        "schedule, as Slack does whatever our acks do, and measure each ack from its scheduled "
        "time; 0 means closed loop: each client sends again as soon as its ack is in "
        "(saturation)",
    )
    parser.add_argument(
        "--post-timeout", type=float, default=120.0, help="seconds to wait for posts"
    )
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args()


# --- database ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    keys: list[str]
    channels: dict[str, str]  # key -> the channel it is bound to


def seed(database_url: str, count: int, rng: random.Random) -> Seeded:
    """Migrate, then bulk insert ``count`` onboardings and 6 step rows each, in one transaction."""
    db = Database(database_url)
    db.upgrade()
    services = list(Service)
    regions = ["eu", "de", "us", "usb", "ca", "za", "au", None]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    onboardings, steps = [], []
    keys, channels = [], {}
    step_id = itertools.count(1)
    for i in range(1, count + 1):
        key, channel = f"cust-{i:06d}", f"CB{i:08d}"
        service = services[i % len(services)]
        opened = start + timedelta(minutes=i)
        closed = opened + timedelta(days=30) if i % 10 == 0 else None
        onboardings.append(
            {
                "id": i,
                "key": key,
                "name": f"Customer {i} Ltd",
                "service": service.value,
                "region": regions[i % len(regions)],
                "team_id": "T0TEST",
                "channel_id": channel,
                "opened_by": "U0BENCH",
                "opened_at": opened,
                "closed_by": "U0BENCH" if closed else None,
                "closed_at": closed,
            }
        )
        done_so_far = rng.randint(0, 6)
        for position, step in enumerate(Step):
            state = initial_state(service, step)
            if state is StepState.NOT_STARTED and position < done_so_far:
                state = StepState.DONE
            steps.append(
                {
                    "id": next(step_id),
                    "onboarding_id": i,
                    "step": step.value,
                    "state": state.value,
                    "changed_by": "U0BENCH",
                    "changed_at": opened,
                }
            )
        keys.append(key)
        channels[key] = channel
    with db.engine.begin() as connection:
        connection.execute(insert(Onboarding.__table__), onboardings)  # type: ignore[attr-defined]
        connection.execute(insert(StepStatus.__table__), steps)  # type: ignore[attr-defined]
        if not db.is_sqlite:  # explicit ids: move the sequences past them
            for table in ("onboarding", "step_status"):
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    db.dispose()
    return Seeded(keys, channels)


# --- load --------------------------------------------------------------------------------------


class PeakRss:
    """Samples a process's RSS every few milliseconds in a thread; keeps the highest."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with suppress(psutil.Error):
                self.peak = max(self.peak, self.process.memory_info().rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()


def vm_hwm(pid: int) -> int | None:
    """The kernel's record of the process's peak resident set (Linux), in bytes."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


@dataclass
class Outcome:
    latencies: list[float]
    failures: list[str]
    elapsed: float


def run_load(
    bot: BotProcess,
    standin: StandInProcess,
    seeded: Seeded,
    *,
    clients: int,
    requests: int,
    seed: int,
    rate: float | None,
) -> Outcome:
    counter = itertools.count()
    lock = threading.Lock()
    latencies: list[float] = []
    failures: list[str] = []
    response_url = standin.response_url("bench")
    start_gate = threading.Barrier(clients + 1)
    began = [0.0]  # set once every client is ready; read by the clients for the schedule

    def client(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        connection = http.client.HTTPConnection(bot.host, bot.port, timeout=30)
        mine: list[float] = []
        start_gate.wait()
        try:
            while (index := next(counter)) < requests:
                key = rng.choice(seeded.keys)
                body = slash_command_body(
                    f"status {key}",
                    channel_id=seeded.channels[key],
                    user_id="U0BENCH",
                    response_url=response_url,
                    # Unique per command, as Slack makes it: two statuses of one key in the
                    # same second are then two requests, not a replay the bot drops.
                    trigger_id=f"{index}.{number}.bench",
                )
                headers = sign(bot.secret, body)
                sent = time.perf_counter()
                if rate:
                    # Slack sends when people type, not when we are ready: a late request's
                    # wait counts (no coordinated omission).
                    due = began[0] + index / rate
                    if due > sent:
                        time.sleep(due - sent)
                    sent = due
                try:
                    connection.request("POST", "/slack/events", body=body, headers=headers)
                    response = connection.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException) as exc:
                    connection.close()
                    with lock:
                        failures.append(f"{type(exc).__name__}: {exc}")
                    continue
                took = time.perf_counter() - sent
                if response.status == 200:
                    mine.append(took)
                else:
                    with lock:
                        failures.append(f"HTTP {response.status}")
        finally:
            connection.close()
            with lock:
                latencies.extend(mine)

    threads = [
        threading.Thread(target=client, args=(n,), name=f"client-{n}") for n in range(clients)
    ]
    for thread in threads:
        thread.start()
    began[0] = time.perf_counter()
    start_gate.wait()
    for thread in threads:
        thread.join()
    return Outcome(latencies, failures, time.perf_counter() - began[0])


def _serve_standin(connection: Connection) -> None:
    """Child process: the stand-in, answering "count" with (posts, posts not ok) until "stop"."""
    with SlackStandIn() as standin:
        connection.send((standin.api_url, standin.response_url("bench")))
        while (command := connection.recv()) != "stop":
            assert command == "count"
            posts = standin.calls("chat.postMessage")
            connection.send((len(posts), sum(1 for c in posts if c.answered != "ok")))


class StandInProcess:
    """The Slack stand-in in its own process, so that its work and the load generator's do not
    share one interpreter lock: a client thread's measured time is then the bot's, not ours."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._connection, child = context.Pipe()
        self._process = context.Process(target=_serve_standin, args=(child,), daemon=True)

    def __enter__(self) -> StandInProcess:
        self._process.start()
        if not self._connection.poll(30):
            raise RuntimeError("the Slack stand-in did not start")
        self.api_url, self.bench_response_url = self._connection.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        self._connection.send("stop")
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()

    def response_url(self, name: str) -> str:
        return self.bench_response_url

    def posts(self) -> tuple[int, int]:
        self._connection.send("count")
        return self._connection.recv()


def wait_for_posts(standin: StandInProcess, expected: int, timeout: float) -> tuple[int, float]:
    began = time.perf_counter()
    deadline = time.monotonic() + timeout
    while True:
        seen, _ = standin.posts()
        if seen >= expected or time.monotonic() > deadline:
            return seen, time.perf_counter() - began
        time.sleep(0.05)


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, int(-(-fraction * len(sorted_values) // 1)))  # ceil
    return sorted_values[min(rank, len(sorted_values)) - 1]


def mib(value: int | None) -> str:
    return "n/a" if value is None else f"{value / 2**20:.1f} MiB"


# --- main --------------------------------------------------------------------------------------


def main() -> int:
    args = parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="connect-bench-") as tmp:
        workdir = Path(tmp)
        if args.database_url and args.database_url.startswith(("postgresql", "postgres")):
            with scratch_postgres(args.database_url) as url:
                return bench(
                    args, rng, url, workdir, label=f"PostgreSQL ({make_url(url).database})"
                )
        if args.database_url:
            raise SystemExit("--database-url takes a PostgreSQL URL; SQLite is the default")
        url = f"sqlite:///{workdir / 'bench.db'}"
        return bench(args, rng, url, workdir, label="SQLite (temporary file)")


def bench(
    args: argparse.Namespace, rng: random.Random, url: str, workdir: Path, *, label: str
) -> int:
    print(f"database: {label}")
    began = time.perf_counter()
    seeded = seed(url, args.onboardings, rng)
    print(
        f"seeded {args.onboardings:,} onboardings and {args.onboardings * 6:,} step rows "
        f"in {time.perf_counter() - began:.2f} s"
    )
    extra_args = ("--threads", str(args.threads)) if args.threads else ()
    with StandInProcess() as standin:
        bot = start_bot_process(
            api_url=standin.api_url,
            workdir=workdir / "bot",
            database_url=url,
            response_url=standin.response_url,
            extra_args=extra_args,
        )
        try:
            idle_rss = psutil.Process(bot.pid).memory_info().rss
            before = psutil.Process(bot.pid).cpu_times()
            cpu_before = before.user + before.system
            with PeakRss(bot.pid) as sampler:
                outcome = run_load(
                    bot,
                    standin,
                    seeded,
                    clients=args.clients,
                    requests=args.requests,
                    seed=args.seed,
                    rate=args.rate,
                )
                expected = len(outcome.latencies)
                posts, drain = wait_for_posts(standin, expected, args.post_timeout)
            cpu = psutil.Process(bot.pid).cpu_times()
            cpu_ms = (cpu.user + cpu.system - cpu_before) * 1000 / max(1, expected)
            hwm = vm_hwm(bot.pid)
            report(args, outcome, posts, drain, idle_rss, sampler.peak, hwm, standin)
            print(f"bot CPU: {cpu_ms:.2f} ms per request (ack, store, render, post), all threads")
            errors = bot.log_text().count("Traceback")
            if errors:
                print(f"the bot logged {errors} tracebacks; log: {bot.log_path}")
                print(bot.log_text(5_000))
        finally:
            bot.stop()
    ok = not outcome.failures and posts == len(outcome.latencies) == args.requests and not errors
    return 0 if ok else 1


def report(
    args: argparse.Namespace,
    outcome: Outcome,
    posts: int,
    drain: float,
    idle_rss: int,
    peak_rss: int,
    hwm: int | None,
    standin: StandInProcess,
) -> None:
    ms = sorted(x * 1000 for x in outcome.latencies)
    done = len(ms)
    print(
        f"load: {args.requests:,} `/connect status <key>` from {args.clients} clients, "
        + (f"open loop at {args.rate:g}/s " if args.rate else "closed loop ")
        + f"({done:,} acked 200, {len(outcome.failures)} failed)"
    )
    for failure in sorted(set(outcome.failures))[:10]:
        print(f"  failure: {failure} x{outcome.failures.count(failure)}")
    if ms:
        print(
            "ack latency (send -> HTTP 200): "
            f"p50 {percentile(ms, 0.50):.1f} ms, p95 {percentile(ms, 0.95):.1f} ms, "
            f"p99 {percentile(ms, 0.99):.1f} ms, max {ms[-1]:.1f} ms"
        )
    print(f"ack rate: {done / outcome.elapsed:,.0f} requests/s over {outcome.elapsed:.2f} s")
    _, refused = standin.posts()
    print(
        f"chat.postMessage calls seen: {posts:,} of {done:,} expected "
        f"({refused} not ok; last one {drain:.2f} s after the last ack; "
        f"end to end {posts / (outcome.elapsed + drain):,.0f} posts/s)"
    )
    print(
        f"bot memory: RSS idle {mib(idle_rss)}, sampled peak RSS {mib(peak_rss)}, "
        f"VmHWM (kernel peak) {mib(hwm)}"
    )


if __name__ == "__main__":
    sys.exit(main())
