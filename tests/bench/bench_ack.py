"""Benchmark: how fast `connect-bot serve` acks signed requests, and refuses unsigned ones.

    .venv/bin/python tests/bench/bench_ack.py [--requests 300] [--threads 8]

A real serve process (SQLite, JSON logs) behind the Slack stand-in. Three request mixes, each
sent by --threads client threads: `help` (answered in the ack), `status <key>` (acked, then run
on the pool), and forged requests (bad signature, 401). Prints the client-side latency (p50,
p95, max) and the server's own `ack_ms` from its log lines. Only loopback is contacted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from support.bot_process import start_bot_process  # noqa: E402
from support.signing import post, slash_command_body  # noqa: E402
from support.slack_standin import SlackStandIn  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    with SlackStandIn() as slack, tempfile.TemporaryDirectory() as workdir:
        bot = start_bot_process(
            api_url=slack.api_url,
            workdir=Path(workdir),
            response_url=slack.response_url,
            env={"CONNECT_LOG_FORMAT": "json"},
        )
        try:
            assert bot.send("open bench --service both", channel_id="C0BENCH").status == 200
            slack.wait_for("chat.postMessage", 1, 10)
            mixes = {
                "help (answered in the ack)": lambda: bot.send("help").status,
                "status (acked, then the pool)": lambda: (
                    bot.send("status bench", channel_id="C0BENCH").status
                ),
                "forged (401)": lambda: post(
                    bot.events_url,
                    "not-the-secret",
                    slash_command_body("status bench"),
                )[0],
            }
            print(f"{args.requests} requests a mix, {args.threads} client threads")
            print("| mix | client p50 | p95 | max | server ack_ms p50 | p95 |")
            print("|---|---|---|---|---|---|")
            for name, send in mixes.items():
                before = len(bot.log_text().splitlines())

                def timed(_: int, send=send) -> tuple[int, float]:  # type: ignore[no-untyped-def]
                    start = time.perf_counter()
                    status = send()
                    return status, (time.perf_counter() - start) * 1000

                with ThreadPoolExecutor(args.threads) as pool:
                    results = list(pool.map(timed, range(args.requests)))
                statuses = {s for s, _ in results}
                times = [t for _, t in results]
                time.sleep(1.0)  # let the pool finish its work before the log is read
                acks = [
                    r["ack_ms"]
                    for r in map(json.loads, bot.log_text().splitlines()[before:])
                    if r.get("msg") == "request acked"
                ]
                server = (
                    f"{statistics.median(acks):.1f} | {percentile(acks, 0.95):.1f}"
                    if acks
                    else "- | -"
                )
                print(
                    f"| {name} {sorted(statuses)} | {statistics.median(times):.1f} ms "
                    f"| {percentile(times, 0.95):.1f} ms | {max(times):.1f} ms | {server} |"
                )
        finally:
            bot.stop()


if __name__ == "__main__":
    main()
