"""Benchmark: how fast `connect-bot serve` acks signed requests, and refuses unsigned ones.

    .venv/bin/python tests/bench/bench_ack.py [--requests 300] [--threads 8] [--heavy]

A real serve process (SQLite, JSON logs) behind the Slack stand-in. Three request mixes, each
sent by --threads client threads: `help` (answered in the ack), `status <key>` (acked, then run
on the pool), and forged requests (bad signature, 401). Prints the client-side latency (p50,
p95, p99, max) and the server's own `ack_ms` from its log lines. Only loopback is contacted.

--heavy: the same mixes while the same bot process works hard: a 100,000-row CSV shared in an
RFI thread (read, checked and imported) and a check of 200 domains against a real NSD, each
started again as soon as it ends, so both are in flight for the whole measurement.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from support.bot_process import BotProcess, start_bot_process  # noqa: E402
from support.dns_fixtures import TEST_PROFILE_YAML  # noqa: E402
from support.nsd import NsdServer  # noqa: E402
from support.rfi_thread import Thread  # noqa: E402
from support.signing import post, slash_command_body  # noqa: E402
from support.slack_standin import SlackStandIn  # noqa: E402
from support.uploads import CONTACTS, csv_bytes, upload  # noqa: E402

HEAVY_DOMAINS = 200
HEAVY_ROWS = 100_000
HEAVY_ROUNDS = 50  # each kind of heavy work is started again at most this often


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def heavy_zones() -> dict[str, list[str]]:
    """200 customer domains on the gateway (MX and SPF), and the gateway's own zone."""
    zones: dict[str, list[str]] = {
        "gateway.test": [
            "ns1 A 127.0.0.5",
            "mx1 A 127.0.0.20",
            "mx2 A 127.0.0.21",
            "out1 A 127.0.0.22",
            'eu._spf TXT "v=spf1 ip4:192.0.2.0/25 -all"',
        ]
    }
    for n in range(HEAVY_DOMAINS):
        zones[f"d{n}.heavy.test"] = [
            "ns1 A 127.0.0.5",
            "@ MX 10 mx1.gateway.test.",
            "@ MX 20 mx2.gateway.test.",
            '@ TXT "v=spf1 include:eu._spf.gateway.test -all"',
        ]
    return zones


class Heavy:
    """Keeps a 100,000-row import and a 200-domain check running in the bot, one of each at a
    time, each started again when the stand-in sees it end (bounded by HEAVY_ROUNDS)."""

    def __init__(self, bot: BotProcess, slack: SlackStandIn, kinds: str) -> None:
        self.bot, self.slack = bot, slack
        self.kinds = kinds
        key = "heavy"
        channel = "C0HEAVY"
        assert bot.send(f"open {key} --service both --region eu", channel_id=channel).status == 200
        self.thread = Thread(bot, slack, key, channel)
        self.thread.wait_replies(1)
        domains = ", ".join(f"d{n}.heavy.test" for n in range(HEAVY_DOMAINS))
        for text in (CONTACTS, "next", "127.0.0.40", "next", domains, "next"):
            self.thread.say(text)
        rows = [
            (f"user{n}@d{n % HEAVY_DOMAINS}.heavy.test", f"User {n}") for n in range(HEAVY_ROWS)
        ]
        self.csv = csv_bytes(rows)
        self.imports = self.checks = 0
        self.stopping = False

    def _import_done(self, n: int) -> bool:
        """The report of the n-th upload (posted, or the reading note updated into it)."""
        title = f"Recipients from recipients-{n}.csv"
        return any(
            c.params.get("text", "").startswith(title)
            for c in self.slack.calls()
            if c.method in ("chat.postMessage", "chat.update")
        )

    def _checks_done(self) -> int:
        return sum(
            1
            for c in self.slack.calls("chat.update")
            if c.params.get("channel") == "C0HEAVY" and "Checking" not in c.params.get("text", "")
        )

    def run(self) -> None:
        """Start both kinds of work, and each again when it ends, until told to stop."""
        seen_checks = 0
        import_started_at = check_started_at = 0.0
        self.import_seconds: list[float] = []
        self.check_seconds: list[float] = []
        pending_import = pending_check = False
        while not self.stopping and max(self.imports, self.checks) < HEAVY_ROUNDS:
            if not pending_import and self.kinds in ("both", "import"):
                upload(self.bot, self.thread, f"recipients-{self.imports}.csv", self.csv)
                import_started_at, pending_import = time.monotonic(), True
                self.imports += 1
            if not pending_check and self.kinds in ("both", "check"):
                assert self.bot.send("check heavy inbound", channel_id="C0HEAVY").status == 200
                check_started_at, pending_check = time.monotonic(), True
                self.checks += 1
            time.sleep(0.05)
            if pending_import and self._import_done(self.imports - 1):
                self.import_seconds.append(time.monotonic() - import_started_at)
                pending_import = False
            done = self._checks_done()
            if pending_check and done > seen_checks:
                seen_checks = done
                self.check_seconds.append(time.monotonic() - check_started_at)
                pending_check = False


def settled(bot: BotProcess, quiet: float = 0.5, limit: float = 60.0) -> None:
    """Wait (at most `limit` s) until the bot's log has not grown for `quiet` s: the work the
    last mix left on the pool is finished, so it does not slow the next mix down."""
    deadline = time.monotonic() + limit
    size, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now = len(bot.log_text())
        if now != size:
            size, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.1)


_SEND: Callable[[], int] | None = None  # the mix a client process sends (set before forking)


def _timed(_: int) -> tuple[int, float]:
    assert _SEND is not None
    start = time.perf_counter()
    status = _SEND()
    return status, (time.perf_counter() - start) * 1000


def measure(
    bot: BotProcess,
    mixes: dict[str, Callable[[], int]],
    requests: int,
    threads: int,
    *,
    processes: bool = False,
) -> None:
    """`processes`: each client is its own forked process, so the clients' timing does not
    wait on this process's interpreter lock, which the stand-in's server threads share."""
    global _SEND
    kind = "client processes" if processes else "client threads"
    print(f"{requests} requests a mix, {threads} {kind}")
    print("| mix | client p50 | p95 | p99 | max | server ack_ms p50 | p99 |")
    print("|---|---|---|---|---|---|---|")
    for name, send in mixes.items():
        before = len(bot.log_text().splitlines())

        def timed(_: int, send: Callable[[], int] = send) -> tuple[int, float]:
            start = time.perf_counter()
            status = send()
            return status, (time.perf_counter() - start) * 1000

        if processes:
            _SEND = send
            with multiprocessing.get_context("fork").Pool(threads) as clients:
                results = clients.map(_timed, range(requests), chunksize=1)
        else:
            with ThreadPoolExecutor(threads) as pool:
                results = list(pool.map(timed, range(requests)))
        statuses = {s for s, _ in results}
        times = [t for _, t in results]
        settled(bot)  # the pool's work for this mix is done before the next mix starts
        acks = [
            r["ack_ms"]
            for r in map(json.loads, bot.log_text().splitlines()[before:])
            if r.get("msg") == "request acked"
        ]
        server = (
            f"{statistics.median(acks):.1f} | {percentile(acks, 0.99):.1f}" if acks else "- | -"
        )
        print(
            f"| {name} {sorted(statuses)} | {statistics.median(times):.1f} ms "
            f"| {percentile(times, 0.95):.1f} ms | {percentile(times, 0.99):.1f} ms "
            f"| {max(times):.1f} ms | {server} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument(
        "--client-processes", action="store_true", help="one process per client, not a thread"
    )
    parser.add_argument(
        "--heavy",
        nargs="?",
        const="both",
        choices=("both", "import", "check"),
        help="with an import and a check (or only one of them) running in the bot meanwhile",
    )
    args = parser.parse_args()
    with ExitStack() as stack:
        slack = stack.enter_context(SlackStandIn())
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        env = {"CONNECT_LOG_FORMAT": "json"}
        if args.heavy:
            nsd = stack.enter_context(NsdServer(heavy_zones(), address="127.0.0.5"))
            profile = workdir / "profile.yml"
            profile.write_text(TEST_PROFILE_YAML)
            env |= {
                "CONNECT_ALLOW_PRIVATE_TARGETS": "true",
                "CONNECT_GATEWAY_PROFILE": str(profile),
                "CONNECT_DNS_NAMESERVERS": nsd.nameserver,
                "CONNECT_DNS_DIRECT_PORT": str(nsd.port),
            }
        bot = start_bot_process(
            api_url=slack.api_url, workdir=workdir, response_url=slack.response_url, env=env
        )
        stack.callback(bot.stop)
        assert bot.send("open bench --service both", channel_id="C0BENCH").status == 200
        slack.wait_for("chat.postMessage", 1, 10)
        mixes: dict[str, Callable[[], int]] = {
            "help (answered in the ack)": lambda: bot.send("help").status,
            "status (acked, then the pool)": lambda: (
                bot.send("status bench", channel_id="C0BENCH").status
            ),
            "forged (401)": lambda: post(
                bot.events_url, "not-the-secret", slash_command_body("status bench")
            )[0],
        }
        if not args.heavy:
            measure(bot, mixes, args.requests, args.threads, processes=args.client_processes)
            return
        heavy = Heavy(bot, slack, args.heavy)
        worker = threading.Thread(target=heavy.run, daemon=True)
        worker.start()
        time.sleep(2.0)  # both kinds of work under way before the first request
        try:
            measure(bot, mixes, args.requests, args.threads, processes=args.client_processes)
        except OSError:
            print(bot.log_text(6_000), file=sys.stderr)  # why the bot stopped answering
            raise
        finally:
            heavy.stopping = True
            worker.join(120)
        print(
            f"in flight meanwhile: {heavy.imports} imports of {HEAVY_ROWS:,} rows "
            f"(finished ones took {', '.join(f'{s:.1f}' for s in heavy.import_seconds)} s), "
            f"{heavy.checks} checks of {HEAVY_DOMAINS} domains "
            f"(finished ones took {', '.join(f'{s:.1f}' for s in heavy.check_seconds)} s)"
        )


if __name__ == "__main__":
    main()
