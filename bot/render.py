"""Turn command results into Slack messages: Jinja2 templates for the text, Block Kit around it.

Each template defines up to four Jinja blocks - header, context, body, footer - that become a
header block, context blocks, section blocks and a closing context block. Their concatenation is
the message's `text` (notifications, screen readers, and the shell's plain text).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot import actions, mrkdwn
from commands import results
from commands.checking import CheckPlan, CheckReport, DnsRecords
from commands.credentials import KIND_TITLES, CredentialsSaved
from commands.recipients.importer import ImportReport
from commands.recipients.sync import Synced, SyncFailed
from commands.rfi.service import RfiBegin, Summary, ThreadReply
from commands.steps import STEP_ACTIONS, StepState

# Slack's limits: https://docs.slack.dev/reference/block-kit/blocks
SECTION_TEXT_LIMIT = 3_000
HEADER_TEXT_LIMIT = 150
CONTEXT_TEXT_LIMIT = 2_000
MAX_BLOCKS = 50
TEXT_LIMIT = 39_000  # a message's text: Slack truncates past 40,000 characters

STATE_ICONS: dict[StepState, str] = {
    StepState.DONE: "✅",
    StepState.IN_PROGRESS: "🔄",
    StepState.NOT_STARTED: "⬜",
    StepState.NOT_APPLICABLE: "➖",  # noqa: RUF001 (the emoji, not a minus sign)
}


CHECK_ICONS: dict[str, str] = {
    "pass": "✅",
    "warn": "⚠️",
    "fail": "❌",
    "unknown": "❓",
    "skipped": "➖",  # noqa: RUF001 (the emoji, not a minus sign)
}
STATUS_WORDS = {
    "pass": "passed",
    "warn": "warned",
    "fail": "failed",
    "unknown": "inconclusive",
    "skipped": "skipped",
}


@dataclass(frozen=True)
class Message:
    text: str
    blocks: list[Block]
    public: bool

    def blocks_json(self) -> list[dict[str, Any]]:
        return [block.to_dict() for block in self.blocks]


def _finalize(item: Any) -> str:
    # Autoescape for mrkdwn: whatever a template prints is escaped unless it is already Mrkdwn.
    if item is None:
        return ""
    return mrkdwn.value(item) if isinstance(item, str | int) else mrkdwn.escape(str(item))


def _region(code: str | None) -> str:
    return code.upper() if code else "region not set"


_env = Environment(
    loader=PackageLoader("bot", "templates"),
    finalize=_finalize,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=False,
    # HTML autoescaping would write &#39; that Slack shows literally; _finalize escapes for mrkdwn.
    autoescape=False,  # noqa: S701
)
_env.filters.update(
    raw=mrkdwn.Mrkdwn,  # for macro output, which is mrkdwn already
    user=mrkdwn.user,
    when=mrkdwn.when,
    day=mrkdwn.day,
    code=mrkdwn.code,
    text=mrkdwn.text,
)
_env.globals.update(
    icons=STATE_ICONS,
    check_icons=CHECK_ICONS,
    status_words=STATUS_WORDS,
    actions=STEP_ACTIONS,
    region=_region,
    StepState=StepState,
    kind_titles=KIND_TITLES,
)

_env.globals["m"] = _env.get_template("_macros.j2").module
_env.globals["rfi"] = _env.get_template("_rfi.j2").module
_env.globals["checks"] = _env.get_template("_checks.j2").module

_TEMPLATES: dict[type, str] = {
    results.Opened: "opened.j2",
    results.Status: "status.j2",
    results.StepChanged: "step_changed.j2",
    results.Closed: "closed.j2",
    results.Listing: "listing.j2",
    results.Help: "help.j2",
    results.Refusal: "refusal.j2",
    results.Updated: "updated.j2",
    CheckPlan: "check_plan.j2",
    CheckReport: "check_report.j2",
    DnsRecords: "dns_records.j2",
    CredentialsSaved: "credentials_saved.j2",
    Synced: "synced.j2",
    ImportReport: "import_report.j2",
    SyncFailed: "sync_failed.j2",
    RfiBegin: "rfi_begin.j2",
    ThreadReply: "rfi_reply.j2",
    Summary: "rfi_summary.j2",
    results.ReminderSet: "reminder_set.j2",
    results.ReminderList: "reminder_list.j2",
    results.ReminderCancelled: "reminder_cancelled.j2",
    results.ReminderDone: "reminder_done.j2",
    results.ReminderSnoozed: "reminder_snoozed.j2",
}


Renderable = (
    results.Result
    | RfiBegin
    | ThreadReply
    | Summary
    | CheckPlan
    | CheckReport
    | DnsRecords
    | Synced
    | SyncFailed
    | ImportReport
    | results.ReminderResult
)


def render(result: Renderable) -> Message:
    template = _env.get_template(_TEMPLATES[type(result)])
    # Blocks are rendered one by one, so everything they use comes in through the context.
    context = template.new_context({"r": result, "o": getattr(result, "onboarding", None)})
    parts = {
        name: "".join(template.blocks[name](context)).strip()
        for name in ("header", "context", "body", "footer")
        if name in template.blocks
    }
    blocks: list[Block] = []
    if parts.get("header"):
        # Header blocks are plain text: Slack shows it literally, so undo the mrkdwn escaping.
        title = _cut(mrkdwn.unescape(parts["header"]), HEADER_TEXT_LIMIT)
        blocks.append(HeaderBlock(text=PlainTextObject(text=title, emoji=True)))
    if parts.get("context"):
        blocks.append(_context(parts["context"]))
    for chunk in _chunks(parts.get("body", ""), SECTION_TEXT_LIMIT):
        blocks.append(SectionBlock(text=MarkdownTextObject(text=chunk)))
    if parts.get("footer"):
        blocks.append(_context(parts["footer"]))
    buttons = actions.buttons_for(result)
    if buttons:
        blocks.append(ActionsBlock(block_id="connect_actions", elements=buttons))
    text = "\n".join(p for p in parts.values() if p)
    if len(blocks) > MAX_BLOCKS:
        cut = len(blocks) - MAX_BLOCKS + 1
        blocks = [*blocks[: MAX_BLOCKS - 1], _context(f"… {cut} more blocks cut (Slack shows 50).")]
    return Message(text=_cut(text, TEXT_LIMIT), blocks=blocks, public=result.public)


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=_cut(text, CONTEXT_TEXT_LIMIT))])


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _chunks(text: str, limit: int) -> Sequence[str]:
    """Split at line ends so no section exceeds Slack's limit and no line is cut in two."""
    chunks: list[str] = []
    current = ""
    for line in text.splitlines():
        line = _cut(line, limit)
        if current and len(current) + 1 + len(line) > limit:
            chunks.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current.strip():
        chunks.append(current)
    return chunks
