"""The check report's layout: a grid first, then only what needs doing, within a line budget.

A report on several domains starts with a grid (domain by check, one icon each) that a person
reads in two seconds; below it, each result that is not a pass, worst first, with its fix. The
evidence is not in the channel: the *Details* button posts it from the stored runs. When the
list would make the message longer than LINE_BUDGET, it is made denser step by step (skipped
checks on one line, the DNS records to publish left to `/connect dns`, one line per check and
status for several domains), but a failing or inconclusive check is always named with its
subject: only how much is said about it shrinks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from bot.render import mrkdwn
from commands.checks.dns.report import CHECKS as DNS_CHECKS
from commands.checks.result import CheckResult, CheckStatus
from commands.checks.service import CheckReport

LINE_BUDGET = 39  # lines of text in the channel message, all blocks together (issue 14: < 40)
FIXED_LINES = 3  # the header, the context line (counts, time, region) and the footer
GRID_ROWS_PER_SECTION = 15  # keeps each fenced grid well under a section's 3,000 characters
DOMAIN_WIDTH = 40  # longer names are cut in the grid (they are whole in the list below it)
INDENT = "      "
SUBJECTS_PER_LINE = 20  # when several subjects share a line: so that no line is cut

# Column titles for the per-domain checks; any other check's column is its name after the dot.
SHORT_NAMES: dict[str, str] = {
    "inbound.mx_gateway": "MX",
    "inbound.mx_leftovers": "leftovers",
    "inbound.mx_propagation": "propagation",
    "outbound.spf": "SPF",
    "inbound.old_mx_retired": "old MX",
}
_DOMAIN_CHECK_IDS = frozenset(check for ids in DNS_CHECKS.values() for check in ids)
_DNS_STEPS = frozenset({"outbound", "inbound"})  # their fix is a record `/connect dns` shows
_ICON_WIDTH = 2  # an emoji takes two columns in Slack's code font


@dataclass(frozen=True)
class Layout:
    domains: int  # how many domains the report covers (its grid's rows)
    grid: str  # fenced grids, one per section, separated by a blank line ("" without a grid)
    body: str  # the list below the grid (mrkdwn)


@dataclass(frozen=True)
class _Item:
    """One line of the list (one result, or several merged), with the lines of its fix."""

    status: CheckStatus
    line: str
    fix: tuple[str, ...] = ()
    dns_fix: bool = False


def layout(report: CheckReport, icons: Mapping[str, str], dns_command: str) -> Layout:
    """The grid and the list of `report`. `dns_command` is the mrkdwn that shows the records
    to publish (said once when the list is too long to repeat every record)."""
    domains = _domains(report.results)
    room = LINE_BUDGET - FIXED_LINES
    if len(domains) < 2:  # one domain: no grid, every result on its line (passes too)
        todo = _worst_first(report.results)
        lines = _fit([_item(r, icons) for r in todo], todo, icons, dns_command, room)
        return Layout(len(domains), "", "\n".join(_lines(lines)))
    columns = _columns(report.results, domains)
    in_grid = {(r.id, r.subject) for r in report.results if r.subject in domains}
    grid = _grid(report.results, domains, columns, icons)
    room -= len(domains) + 1  # the grid's rows, and its header
    todo = [r for r in _worst_first(report.results) if r.status is not CheckStatus.PASS]
    passed = [
        r
        for r in report.results
        if r.status is CheckStatus.PASS and (r.id, r.subject) not in in_grid
    ]
    also = [_also_passed(passed)] if passed else []
    lines = _fit([_item(r, icons) for r in todo], todo, icons, dns_command, room - len(also))
    return Layout(len(domains), grid, "\n".join([*also, *_lines(lines)]))


# --- the grid ----------------------------------------------------------------------------------


def _domains(results: Sequence[CheckResult]) -> list[str]:
    """The report's domains, in the order the run gave them: the subjects of the DNS checks."""
    found = (r.subject for r in results if r.id in _DOMAIN_CHECK_IDS and r.subject)
    return list(dict.fromkeys(found))


def _columns(results: Sequence[CheckResult], domains: list[str]) -> list[str]:
    """Every check with a result for one of the domains: the known ones first, in their order."""
    ids = dict.fromkeys(r.id for r in results if r.subject in domains)
    known = [check for check in SHORT_NAMES if check in ids]
    return known + [check for check in ids if check not in SHORT_NAMES]


def _grid(
    results: Sequence[CheckResult],
    domains: list[str],
    columns: list[str],
    icons: Mapping[str, str],
) -> str:
    cells: dict[tuple[str, str], CheckStatus] = {}
    for r in results:
        if r.subject in domains:
            key = (r.subject, r.id)
            # Two results for one cell: the worse one is shown.
            if key not in cells or r.status.rank > cells[key].rank:
                cells[key] = r.status
    titles = [SHORT_NAMES.get(c, c.partition(".")[2].replace("_", " ") or c) for c in columns]
    widths = [max(len(t), _ICON_WIDTH) for t in titles]
    names = [_cut(d, DOMAIN_WIDTH) for d in domains]
    first = max(len(n) for n in names)
    header = " " * first + "".join(f"  {t:<{w}}" for t, w in zip(titles, widths, strict=True))
    rows = []
    for domain, name in zip(domains, names, strict=True):
        row = f"{name:<{first}}"
        for column, width in zip(columns, widths, strict=True):
            status = cells.get((domain, column))
            cell, shown = (icons[status], _ICON_WIDTH) if status else ("·", 1)
            row += "  " + cell + " " * (width - shown)
        rows.append(row.rstrip())
    chunks = [
        rows[i : i + GRID_ROWS_PER_SECTION] for i in range(0, len(rows), GRID_ROWS_PER_SECTION)
    ]
    fenced = [
        "```" + "\n".join(mrkdwn.literal(x) for x in [header.rstrip(), *c]) + "```" for c in chunks
    ]
    return "\n\n".join(fenced)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


# --- the list ----------------------------------------------------------------------------------


def _worst_first(results: Sequence[CheckResult]) -> list[CheckResult]:
    return sorted(results, key=lambda r: r.status.rank, reverse=True)


def _item(r: CheckResult, icons: Mapping[str, str]) -> _Item:
    subject = f" · *{mrkdwn.escape(r.subject)}*" if r.subject else ""
    line = f"{icons[r.status]} {mrkdwn.code(r.id)}{subject}: {mrkdwn.escape(r.summary)}"
    fix: list[str] = []
    dns_fix = bool(r.fix) and r.step in _DNS_STEPS
    if r.fix and dns_fix:
        first, *more = mrkdwn.code(r.fix).split("\n")
        fix += [f"{INDENT}Publish: {first}", *(f"{INDENT}{x}" for x in more if x)]
    elif r.fix:
        fix.append(f"{INDENT}Fix: {mrkdwn.escape(r.fix)}")
    if r.until is not None:
        fix.append(f"{INDENT}· caches expire by {mrkdwn.when(r.until)}")
    return _Item(r.status, line, tuple(fix), dns_fix)


def _lines(items: Sequence[_Item]) -> list[str]:
    return [line for item in items for line in (item.line, *item.fix)]


def _fit(
    items: list[_Item],
    results: list[CheckResult],
    icons: Mapping[str, str],
    dns_command: str,
    room: int,
) -> list[_Item]:
    """The densest-needed form of the list: each step says less, none leaves a problem out."""
    steps: list[Callable[[list[_Item]], list[_Item]]] = [
        lambda xs: _skipped_on_one_line(xs, results),
        lambda xs: _records_left_to_dns(xs, dns_command),
        lambda xs: _merged(xs, results, icons, dns_command),
    ]
    for step in steps:
        if len(_lines(items)) <= room:
            return items
        items = step(items)
    return items


def _skipped_on_one_line(items: list[_Item], results: list[CheckResult]) -> list[_Item]:
    skipped = [r for r in results if r.status is CheckStatus.SKIPPED]
    if len(skipped) < 2:
        return items
    counts: dict[str, int] = {}
    for r in skipped:
        counts[r.id] = counts.get(r.id, 0) + 1
    named = ", ".join(
        str(mrkdwn.code(check)) + (f" ({n} domains)" if n > 1 else "")
        for check, n in counts.items()
    )
    line = f"➖ Not checked yet: {named}. *Details* says what each one needs."  # noqa: RUF001
    return [x for x in items if x.status is not CheckStatus.SKIPPED] + [
        _Item(CheckStatus.SKIPPED, line)
    ]


def _records_left_to_dns(items: list[_Item], dns_command: str) -> list[_Item]:
    if not any(x.dns_fix for x in items):
        return items
    kept = [_Item(x.status, x.line) if x.dns_fix else x for x in items]
    note = f"📋 The records to publish for each domain: {dns_command} (or *Details*)."
    last = max(i for i, x in enumerate(items) if x.dns_fix)
    return [*kept[: last + 1], _Item(CheckStatus.FAIL, note), *kept[last + 1 :]]


def _merged(
    items: list[_Item], results: list[CheckResult], icons: Mapping[str, str], dns_command: str
) -> list[_Item]:
    """One line per check and status, naming every subject; the first one's summary as the
    example. Fixes are left to `/connect dns` and *Details*."""
    groups: dict[tuple[str, CheckStatus], list[CheckResult]] = {}
    for r in results:
        if r.status is not CheckStatus.SKIPPED:
            groups.setdefault((r.id, r.status), []).append(r)
    merged = []
    for (check, status), members in groups.items():
        if len(members) == 1:
            merged.append(_Item(status, _item(members[0], icons).line))
            continue
        subjects = [f"*{mrkdwn.escape(m.subject)}*" for m in members if m.subject]
        # Every subject is named; a long list goes on on further lines rather than being cut.
        step = SUBJECTS_PER_LINE
        named = [", ".join(subjects[i : i + step]) for i in range(0, len(subjects), step)] or [""]
        lines = [f"{icons[status]} {mrkdwn.code(check)} · {named[0]}"]
        lines += [f"{INDENT}and {x}" for x in named[1:]]
        lines[-1] += f" — e.g. {mrkdwn.escape(members[0].summary)}"
        merged.append(_Item(status, lines[0], tuple(lines[1:])))
    fixes = any(r.fix for r in results)
    note = f"📋 The fixes: {dns_command} shows the records to publish; *Details* has every fix."
    tail = [x for x in items if x.status is CheckStatus.SKIPPED]
    return [*merged, *([_Item(CheckStatus.FAIL, note)] if fixes else []), *tail]


def _also_passed(passed: list[CheckResult]) -> str:
    named = ", ".join(dict.fromkeys(str(mrkdwn.code(r.id)) for r in passed))
    return f"✅ Also passed: {named}."
