"""`connect-bot report acme [--format md|html] [--output FILE]`: the onboarding report on the
server, from the database of DATABASE_URL, the same report `/connect report` shares in Slack.

Exit codes: 0 written, 2 refused (no such onboarding, a file that cannot be written).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from bot.settings import Settings, SettingsError


def add_parsers(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser(
        "report",
        help="write an onboarding's report (Markdown or self-contained HTML)",
        description="The report for the customer's change board: steps, check results with "
        "their evidence, records, RFI answers, reminders, confirmations and the audit trail. "
        "Passwords are never in it.",
    )
    parser.add_argument("key", help="the onboarding's customer key, e.g. acme")
    parser.add_argument("--format", choices=("md", "html"), default="md", dest="fmt")
    parser.add_argument(
        "--output", type=Path, metavar="FILE", help="write to FILE (default: standard output)"
    )
    parser.add_argument("--user", default="connect-bot CLI", help="who the report is made for")


def run(args: argparse.Namespace, settings: Settings, out: TextIO | None = None) -> int:
    from bot.render.report import render_report
    from bot.render.report.plain import plain
    from commands.core.context import Caller, Refused
    from commands.core.roles import Role
    from commands.profiles import ProfileError, load_profile
    from commands.report.service import ReportService
    from store.db import Database

    try:
        profile = load_profile(settings.connect_gateway_profile)
    except ProfileError as exc:
        raise SettingsError(f"CONNECT_GATEWAY_PROFILE: {exc}") from None
    db = Database(settings.database_url)
    try:
        db.upgrade()
        # No channel: the key names the onboarding; whoever runs the CLI has the database.
        caller = Caller(user_id=args.user, role=Role.ENGINEER)
        try:
            report = ReportService(db, profile).report(caller, args.key)
        except Refused as exc:
            print(f"connect-bot report: {plain(exc.text)}", file=sys.stderr)
            return 2
    finally:
        db.dispose()
    document = render_report(report, args.fmt)
    if args.output is None:
        (out or sys.stdout).write(document)
        return 0
    try:
        args.output.write_text(document, encoding="utf-8")
    except OSError as exc:
        print(f"connect-bot report: cannot write {args.output}: {exc.strerror}", file=sys.stderr)
        return 2
    return 0
