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


# `connect-bot spf`: one exit status per RFC 7208 result, so that scripts can branch on it. 1 is
# left to Python (an unexpected error) and 2 to bad input (argparse uses it for usage errors).
SPF_EXIT_CODES: dict[str, int] = {
    "pass": 0,
    "fail": 3,
    "softfail": 4,
    "neutral": 5,
    "none": 6,
    "permerror": 7,
    "temperror": 8,
}
BAD_INPUT = 2


def add_parsers(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the `check` and `spf` subcommands on the CLI's subparsers."""
    check = verbs.add_parser(
        "check",
        help="run the DNS checks for a domain",
        description="Run the DNS checks (MX, propagation, SPF) for one mail domain.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="DOMAIN is read as the RFI reads a mail domain: acme.com, bücher.de, and\n"
        "jane@acme.com or https://acme.com/ read as acme.com. Anything else (com, a@b,\n"
        "http://x, two names) is refused with the reason, before any DNS query.\n\n"
        "exit status: 0 every check passes, 1 one does not, 2 bad input",
    )
    check.add_argument("domain", metavar="DOMAIN", help="the mail domain to check")
    check.add_argument("--region", default="eu", help="gateway region (default eu)")
    check.add_argument("--step", choices=("inbound", "outbound"), help="only this step's checks")
    check.add_argument("--json", action="store_true", help="print the results as JSON")
    codes = ", ".join(f"{code} {result}" for result, code in SPF_EXIT_CODES.items())
    spf = verbs.add_parser(
        "spf",
        help="evaluate SPF (RFC 7208) for a domain and client address",
        description="Print the RFC 7208 check_host() result for a client address sending\n"
        "as DOMAIN (or as --sender).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="exit status, one per result (for scripts):\n"
        f"  {codes}\n"
        f"  {BAD_INPUT} bad input (an --ip that is not an IP address)\n"
        "A malformed DOMAIN (a label over 63 octets, an empty label) is not bad input:\n"
        "RFC 7208 4.3 makes its result none.",
    )
    spf.add_argument("domain", metavar="DOMAIN", help="the domain whose SPF record is evaluated")
    spf.add_argument("--ip", required=True, help="the sending client's IP address")
    spf.add_argument(
        "--sender",
        help="MAIL FROM address (default postmaster@DOMAIN; '' or '<>' for the null sender, "
        "which checks the HELO name)",
    )
    spf.add_argument("--helo", help="HELO/EHLO name (default DOMAIN)")


def _resolver(settings: Settings) -> DnsResolver:
    from commands.checks.dns import DnsResolver

    return DnsResolver(
        settings.connect_dns_nameservers, direct_port=settings.connect_dns_direct_port
    )


def run(args: argparse.Namespace, settings: Settings, out: TextIO | None = None) -> int:
    """Dispatch `check` or `spf`; returns the exit code (check: 0 all pass, 1 a check did not
    pass, 2 bad input; spf: SPF_EXIT_CODES, 2 bad input)."""
    out = out or sys.stdout
    if args.verb == "check":
        return run_check(args, settings, out)
    if args.verb == "spf":
        return run_spf(args, settings, out)
    raise AssertionError(args.verb)


def run_check(args: argparse.Namespace, settings: Settings, out: TextIO | None = None) -> int:
    from commands.checks.dns.report import run_dns_report
    from commands.checks.result import CheckStatus, worst
    from commands.profiles import ProfileError, load_profile
    from commands.rfi.validators import Invalid

    out = out or sys.stdout
    try:
        domain = _mail_domain(args.domain)  # before anything asks DNS
        region = load_profile(settings.connect_gateway_profile).region(args.region)
    except (Invalid, ProfileError) as exc:
        print(f"connect-bot check: {exc}", file=sys.stderr)
        return BAD_INPUT
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


def _mail_domain(text: str) -> str:
    """The A-label of one mail domain, read as the RFI reads the domains answer (the same
    validator); raises Invalid with the reason. Notes on how it was read go to stderr."""
    from commands.rfi.validators import Invalid, domains, split_values
    from commands.rfi.validators.common import quote

    names = [word for item in split_values(text) for word in item.split()]
    if not names:
        raise Invalid("the domain is empty; give one, such as acme.com.", "acme.com")
    if len(names) > 1:
        shown = ", ".join(quote(name) for name in names[:3])
        raise Invalid(
            f"{quote(text)} is not one domain name: it holds {len(names)} ({shown}); check "
            "one domain at a time.",
            "acme.com",
        )
    parsed = domains(text)
    for note in parsed.notes:
        print(f"connect-bot check: {note}", file=sys.stderr)
    return parsed.values[0].ascii


def run_spf(args: argparse.Namespace, settings: Settings, out: TextIO | None = None) -> int:
    import ipaddress

    from commands.checks.dns.names import BadDomainName, to_a_label
    from commands.checks.spf.evaluate import check_host_sync

    out = out or sys.stdout
    try:
        ip = str(ipaddress.ip_address(args.ip))
    except ValueError as exc:
        print(f"connect-bot spf: {exc}", file=sys.stderr)
        return BAD_INPUT
    try:
        domain = to_a_label(args.domain)
    except BadDomainName:
        # RFC 7208 4.3: a malformed domain is not an error of the caller; check_host() itself
        # answers none for it, so it goes to the evaluation as typed.
        domain = args.domain.strip()
    if args.sender is None:
        sender = f"postmaster@{domain}"
    else:  # '' or '<>': the null reverse-path, for which RFC 7208 2.4 checks the HELO name
        sender = "" if args.sender.strip() in ("", "<>") else args.sender
    helo = domain if args.helo is None else args.helo
    verdict = check_host_sync(_resolver(settings), ip, sender, helo)
    out.write(f"{verdict.result}\n")
    return SPF_EXIT_CODES.get(verdict.result, SPF_EXIT_CODES["temperror"])
