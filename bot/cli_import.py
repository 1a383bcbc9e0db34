"""`connect-bot import acme FILE... [--valid-only]`: a recipient spreadsheet from the command line,
through the same importer as a Slack upload, into the database of DATABASE_URL. Several files are
one recipient list, as when they are shared in one Slack message.

Exit codes: 0 imported, 1 staged with problems (nothing imported), 2 refused.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.settings import Settings

if TYPE_CHECKING:
    from commands.recipients.importer import ImportReport

PROBLEMS_SHOWN = 20  # the terminal shows the first ones; the report keeps up to 200
# The command line is where lists too big for a Slack upload go: more time than an upload's 60 s.
TIME_LIMIT = 600.0


def add_parsers(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser(
        "import",
        help="import a recipient spreadsheet (CSV, XLSX, XLS) for an onboarding",
        description="Import a spreadsheet of recipients: a header `email` in A1 to M99 with "
        "`name` directly to its right. A clean file is imported; a file with problems is "
        "staged and reported (exit code 1) unless --valid-only is given.",
    )
    parser.add_argument("key", help="the onboarding's customer key, e.g. acme")
    parser.add_argument(
        "files",
        type=Path,
        nargs="+",
        metavar="FILE",
        help="the CSV, XLSX or XLS file (several: imported together as one recipient list)",
    )
    parser.add_argument(
        "--valid-only",
        action="store_true",
        help="import the valid rows (the first row of each address) even if others have problems",
    )
    parser.add_argument("--user", default="U0CLI", help="the user id recorded as importer")
    parser.add_argument(
        "--time-limit",
        type=float,
        default=TIME_LIMIT,
        metavar="SECONDS",
        help="stop an import that takes longer, importing nothing (default: %(default)g)",
    )


def run(args: argparse.Namespace, settings: Settings, out: TextIO | None = None) -> int:
    from bot.render.mrkdwn import text, to_plain
    from commands.core.context import Caller, Refused
    from commands.core.roles import Role
    from commands.recipients.importer import RecipientImporter
    from store.db import Database

    out = out or sys.stdout
    db = Database(settings.database_url)
    try:
        db.upgrade()
        importer = RecipientImporter(db, seconds=args.time_limit)
        # No channel: the key names the onboarding; whoever runs the CLI has the database.
        caller = Caller(user_id=args.user, role=Role.ENGINEER)
        try:
            report = importer.import_paths(caller, args.key, args.files, valid_only=args.valid_only)
        except Refused as exc:
            print(f"connect-bot import: {to_plain(text(exc.text))}", file=sys.stderr)
            return 2
    finally:
        db.dispose()
    write_report(report, out, paths=args.files)
    return 0 if report.state == "imported" else 1


def write_report(report: ImportReport, out: TextIO, *, paths: Sequence[Path] = ()) -> None:
    """Plain text: the verdict, the counts, the first problems by row, and what to do next."""
    if report.state == "imported":
        out.write(
            f"imported {report.imported:,} recipients for {report.key} from {report.filename}"
            f" (replacing {report.previous:,})\n"
        )
    else:
        out.write(
            f"NOT imported: {report.filename} has {report.errors:,} problem rows; "
            f"nothing changed for {report.key} (staged as batch {report.batch_id})\n"
        )
    out.write(
        f"rows {report.rows:,} · valid addresses {report.valid:,} · problems {report.errors:,}"
        f" (duplicates {report.duplicates:,}) · header at {report.header}\n"
    )
    if report.outside_domains or report.outside_other:
        named = ", ".join(f"{d} ({n:,})" for d, n in sorted(report.outside_domains.items()))
        other = (
            f", and {report.outside_other:,} rows in other domains" if report.outside_other else ""
        )
        out.write(f"domains not in the RFI: {named}{other}\n")
    for f in report.files:
        out.write(
            f"  {f.name}: rows {f.rows:,} · valid {f.valid:,} · problems {f.errors:,}"
            f" · header at {f.header}\n"
        )
    for problem in report.problems[:PROBLEMS_SHOWN]:
        where = f"{problem.file} row" if problem.file else "row"
        out.write(f"  {where} {problem.row}: {problem.text}\n")
    hidden = report.errors - min(len(report.problems), PROBLEMS_SHOWN)
    if hidden > 0:
        out.write(f"  ... and {hidden:,} more\n")
    if report.state == "staged":
        out.write(
            "fix the file and import it again, or import only the valid rows with:\n"
            f"  connect-bot import {report.key} {' '.join(map(str, paths)) or 'FILE'}"
            " --valid-only\n"
        )
