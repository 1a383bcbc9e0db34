"""`connect-bot check DOMAIN` and `connect-bot spf DOMAIN --ip IP`: the DNS checks for engineers,
in a terminal, through the same resolver settings as the bot (CONNECT_DNS_NAMESERVERS,
CONNECT_GATEWAY_PROFILE)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, TextIO

from bot.settings import Settings

if TYPE_CHECKING:
    from commands.checks.dns import DnsResolver

ICONS = {"pass": "ok  ", "warn": "WARN", "fail": "FAIL", "unknown": "??  ", "skipped": "skip"}


def add_parsers(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the `check` and `spf` subcommands on the CLI's subparsers."""
    check = verbs.add_parser("check", help="run the DNS checks for a domain")
    check.add_argument("domain")
    check.add_argument("--region", default="eu", help="gateway region (default eu)")
    check.add_argument("--step", choices=("inbound", "outbound"), help="only this step's checks")
    check.add_argument("--json", action="store_true", help="print the results as JSON")
    spf = verbs.add_parser("spf", help="evaluate SPF (RFC 7208) for a domain and client address")
    spf.add_argument("domain")
    spf.add_argument("--ip", required=True, help="the sending client's IP address")
    spf.add_argument("--sender", help="MAIL FROM address (default postmaster@DOMAIN)")
    spf.add_argument("--helo", help="HELO/EHLO name (default DOMAIN)")


def _resolver(settings: Settings) -> DnsResolver:
    from commands.checks.dns import DnsResolver

    return DnsResolver(
        settings.connect_dns_nameservers, direct_port=settings.connect_dns_direct_port
    )


def run(args: argparse.Namespace, settings: Settings, out: TextIO | None = None) -> int:
    """Dispatch `check` or `spf`; returns the exit code (0 all pass, 1 a check did not pass,
    2 bad input)."""
    out = out or sys.stdout
    if args.verb == "check":
        return run_check(args, settings, out)
    if args.verb == "spf":
        return run_spf(args, settings, out)
    raise AssertionError(args.verb)


def run_check(args: argparse.Namespace, settings: Settings, out: TextIO | None = None) -> int:
    from commands.checks.dns.names import BadDomainName, to_a_label
    from commands.checks.dns.report import run_dns_report
    from commands.checks.result import CheckStatus, worst
    from commands.profiles import ProfileError, load_profile

    out = out or sys.stdout
    try:
        domain = to_a_label(args.domain)
        region = load_profile(settings.connect_gateway_profile).region(args.region)
    except (BadDomainName, ProfileError) as exc:
        print(f"connect-bot check: {exc}", file=sys.stderr)
        return 2
    steps = {args.step} if args.step else {"inbound", "outbound"}
    report = run_dns_report([domain], region, _resolver(settings), steps)
    if args.json:
        provider = report.previous_providers.get(domain)
        json.dump(
            {
                "domain": domain,
                "region": region.key,
                "elapsed_seconds": round(report.elapsed, 3),
                "previous_provider": provider.name if provider else None,
                "results": [r.as_dict() for r in report.results],
            },
            out,
            indent=2,
            ensure_ascii=False,
        )
        out.write("\n")
    else:
        for result in report.results:
            out.write(f"{ICONS[result.status]} {result.id} · {result.subject}: {result.summary}\n")
            for line in result.evidence:
                out.write(f"       {line}\n")
            if result.fix:
                for line in result.fix.splitlines():
                    out.write(f"       publish: {line}\n")
        provider = report.previous_providers.get(domain)
        if provider:
            out.write(f"previous provider: {provider.name} ({', '.join(provider.matched_by)})\n")
        out.write(f"{len(report.results)} checks in {report.elapsed:.1f} s\n")
    return 0 if worst(list(report.results)) is CheckStatus.PASS else 1


def run_spf(args: argparse.Namespace, settings: Settings, out: TextIO | None = None) -> int:
    import ipaddress

    from commands.checks.dns.names import BadDomainName, to_a_label
    from commands.checks.spf.evaluate import check_host_sync

    out = out or sys.stdout
    try:
        domain = to_a_label(args.domain)
        ip = str(ipaddress.ip_address(args.ip))
    except (BadDomainName, ValueError) as exc:
        print(f"connect-bot spf: {exc}", file=sys.stderr)
        return 2
    verdict = check_host_sync(
        _resolver(settings), ip, args.sender or f"postmaster@{domain}", args.helo or domain
    )
    out.write(f"{verdict.result}\n")
    return 0
