"""Benchmark: the DNS checks of an onboarding against NSD with 100 ms added to every answer.

    .venv/bin/python tests/bench/bench_dns.py [--delay 0.1] [--runs 5]
        [--checkdmarc-python /tmp/checkdmarc-venv/bin/python]

NSD serves three customer domains (gateway MX, an SPF record with the gateway's include and two
more includes, NS/SOA) and the gateway's zone on 127.0.0.5; a relay on 127.0.0.8:53 delays every
answer by --delay seconds. The script times `run_dns_checks` for one domain and for all three
(inbound and outbound), counts the queries each run made, and prints the time against the sum of
those queries' delays ("serial time") and the 3-domain/1-domain ratio.

With --checkdmarc-python (a separate virtualenv with checkdmarc installed: it is not a project
dependency), the same zones are checked with checkdmarc's MX (skip_tls), SPF and NS checks
through the same relay, for comparison. Only loopback addresses are contacted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from support.dns_fixtures import make_test_profile  # noqa: E402
from support.nsd import DnsProxy, NsdServer  # noqa: E402

from commands.checks.dns import DnsResolver  # noqa: E402
from commands.checks.dns.report import run_dns_checks  # noqa: E402

DOMAINS = ("alpha.bench.test", "bravo.bench.test", "charlie.bench.test")
RELAY = ("127.0.0.8", 53)  # checkdmarc asks port 53 only

CHECKDMARC_DRIVER = r"""
import json, sys, time
import checkdmarc
domains, nameserver = json.loads(sys.argv[1]), sys.argv[2]
started = time.monotonic()
for domain in domains:
    for name, check in (("mx", checkdmarc.check_mx), ("spf", checkdmarc.check_spf),
                        ("ns", checkdmarc.check_ns)):
        extra = {"skip_tls": True} if name == "mx" else {}
        try:
            check(domain, nameservers=[nameserver], timeout=5.0, **extra)
        except Exception as exc:
            print(name, domain, type(exc).__name__, exc, file=sys.stderr)
print(json.dumps({"seconds": time.monotonic() - started}))
"""


def zones() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {
        "gateway.test": [
            f"ns1 A {RELAY[0]}",
            "mx1 A 127.0.1.1",
            "mx2 A 127.0.1.2",
            'eu._spf TXT "v=spf1 ip4:192.0.2.0/25 include:r2._spf.gateway.test ~all"',
            'r2._spf TXT "v=spf1 ip4:198.51.100.16/28 ip4:198.51.100.64/27 ~all"',
        ],
        "saas.test": [
            f"ns1 A {RELAY[0]}",
            '_spf TXT "v=spf1 ip4:203.0.113.0/26 include:_spf2.saas.test ~all"',
            '_spf2 TXT "v=spf1 ip4:203.0.113.64/26 ~all"',
            'news TXT "v=spf1 ip4:203.0.113.128/27 ~all"',
        ],
    }
    for domain in DOMAINS:
        found[domain] = [
            f"ns1 A {RELAY[0]}",
            "@ 3600 MX 10 mx1.gateway.test.",
            "@ 3600 MX 20 mx2.gateway.test.",
            '@ TXT "v=spf1 include:eu._spf.gateway.test include:_spf.saas.test'
            ' include:news.saas.test -all"',
            '_dmarc TXT "v=DMARC1; p=none"',
        ]
    return found


def timed(domains: tuple[str, ...], resolver: DnsResolver, proxy: DnsProxy) -> tuple[float, int]:
    before = proxy.answered
    started = time.monotonic()
    results = run_dns_checks(list(domains), make_test_profile().region("eu"), resolver)
    elapsed = time.monotonic() - started
    bad = [r for r in results if r.status != "pass"]
    if bad:
        raise SystemExit(f"benchmark zones are not all-pass: {bad[0]}")
    return elapsed, proxy.answered - before


def checkdmarc_time(python: str, domains: tuple[str, ...]) -> float:
    done = subprocess.run(
        [python, "-c", CHECKDMARC_DRIVER, json.dumps(list(domains)), RELAY[0]],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    if done.stderr.strip():
        print(f"  checkdmarc said: {done.stderr.strip()[:300]}")
    return float(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.1, help="seconds added per answer")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--checkdmarc-python", help="python of a venv with checkdmarc installed")
    args = parser.parse_args()
    with (
        NsdServer(zones(), address="127.0.0.5") as nsd,
        DnsProxy(
            (nsd.address, nsd.port), address=RELAY[0], port=RELAY[1], delay=args.delay
        ) as proxy,
    ):
        resolver = DnsResolver([proxy.nameserver], timeout=2, lifetime=6, direct_port=RELAY[1])
        # Each zone's ns1 is the relay's address: propagation's direct questions get the same
        # added latency as the resolver's.
        one, three = [], []
        queries_one = queries_three = 0
        for _ in range(args.runs):
            elapsed, queries_one = timed(DOMAINS[:1], resolver, proxy)
            one.append(elapsed)
            elapsed, queries_three = timed(DOMAINS, resolver, proxy)
            three.append(elapsed)
        m1, m3 = statistics.median(one), statistics.median(three)
        print(f"added latency per answer: {args.delay * 1000:.0f} ms, runs: {args.runs} (median)")
        print(
            f"connect-bot, 1 domain : {m1:.3f} s for {queries_one} queries "
            f"(serial time {queries_one * args.delay:.1f} s)"
        )
        print(
            f"connect-bot, 3 domains: {m3:.3f} s for {queries_three} queries "
            f"(serial time {queries_three * args.delay:.1f} s)"
        )
        print(f"ratio 3 domains / 1 domain: {m3 / m1:.2f}")
        if args.checkdmarc_python:
            c1 = statistics.median(
                checkdmarc_time(args.checkdmarc_python, DOMAINS[:1]) for _ in range(args.runs)
            )
            c3 = statistics.median(
                checkdmarc_time(args.checkdmarc_python, DOMAINS) for _ in range(args.runs)
            )
            print(f"checkdmarc (MX without TLS, SPF, NS), 1 domain : {c1:.3f} s")
            print(f"checkdmarc (MX without TLS, SPF, NS), 3 domains: {c3:.3f} s")
            print(f"checkdmarc / connect-bot, 3 domains: {c3 / m3:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
