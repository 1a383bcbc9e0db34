"""Turn command results into Slack messages: Jinja2 templates for the text, Block Kit around it.

Each template defines up to four Jinja blocks - header, context, body, footer - that become a
header block, context blocks, section blocks and a closing context block. Their concatenation is
the message's `text` (notifications, screen readers, and the shell's plain text).
"""

from __future__ import annotations

from collections.abc import Callable
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

from bot.render import buttons as actions
from bot.render import check_report, limits, mrkdwn, progress
from commands import replies
from commands.checks.details import CheckDetails
from commands.checks.service import CheckPlan, CheckReport, DnsRecords
from commands.core.process import STEP_ACTIONS, StepState
from commands.core.roles import Role
from commands.core.views import OnboardingView
from commands.credentials import KIND_TITLES, CredentialForm, CredentialsSaved
from commands.history import History
from commands.members import Members
from commands.onboarding.card import Card
from commands.onboarding.welcome import Welcome
from commands.recipients.importer import ImportReport
from commands.recipients.sync import Synced, SyncFailed
from commands.rfi import questions
from commands.rfi.service import RfiBegin, Summary, ThreadReply
from commands.watch.conclude import Notice as WatchNotice
from commands.watch.views import WatchShown

# Slack's limits (bot/limits.py has them all, and the cutting that keeps mrkdwn whole).
SECTION_TEXT_LIMIT = limits.SECTION_TEXT
HEADER_TEXT_LIMIT = limits.HEADER_TEXT
CONTEXT_TEXT_LIMIT = limits.CONTEXT_TEXT
MAX_BLOCKS = limits.MESSAGE_BLOCKS
TEXT_LIMIT = limits.MESSAGE_TEXT

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
MAX_EVIDENCE = 20  # lines of evidence per result in the Details reply
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
    # The request was not carried out: a door without a private reply (a mention) still
    # answers the person, addressed to them.
    refusal: bool = False

    def blocks_json(self) -> list[dict[str, Any]]:
        return [block.to_dict() for block in self.blocks]


def _finalize(item: Any) -> str:
    # Autoescape for mrkdwn: whatever a template prints is escaped unless it is already Mrkdwn.
    if item is None:
        return ""
    return mrkdwn.value(item) if isinstance(item, str | int) else mrkdwn.escape(str(item))


def _rfi_progress(view: OnboardingView) -> tuple[int, int]:
    """(answered, asked) RFI questions: the view knows the answers, the RFI the questions."""
    asked = {q.id for q in questions.for_service(view.service)}
    return len(view.rfi_answers & asked), len(asked)


def _report_layout(report: CheckReport) -> check_report.Layout:
    dns = _code(f"/connect dns {report.onboarding.key}")
    return check_report.layout(report, CHECK_ICONS, dns)


def _region(code: str | None) -> str:
    return code.upper() if code else "region not set"


_env = Environment(
    loader=PackageLoader("bot.render", "templates"),
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
    literal=mrkdwn.literal,  # a line inside a ``` block
    authored=mrkdwn.authored,  # the product's own mrkdwn (question prompts), never user text
    text=mrkdwn.text,
)
_env.globals.update(
    cmd=mrkdwn.command,  # cmd("check acme"): a command to type, behind the reader's door
    icons=STATE_ICONS,
    check_icons=CHECK_ICONS,
    status_words=STATUS_WORDS,
    actions=STEP_ACTIONS,
    region=_region,
    report_layout=_report_layout,
    max_evidence=MAX_EVIDENCE,
    rfi_progress=_rfi_progress,
    StepState=StepState,
    kind_titles=KIND_TITLES,
)

_env.globals.update(progress_bar=progress.bar, card_link=progress.link)
_env.globals["m"] = _env.get_template("_macros.j2").module
_env.globals["p"] = _env.get_template("_progress.j2").module  # shared by the card and status
_env.globals["rfi"] = _env.get_template("_rfi.j2").module
_env.globals["checks"] = _env.get_template("_checks.j2").module

_TEMPLATES: dict[type, str] = {
    replies.Opened: "opened.j2",
    replies.Status: "status.j2",
    replies.StepChanged: "step_changed.j2",
    replies.Closed: "closed.j2",
    replies.Listing: "listing.j2",
    replies.Help: "help.j2",
    replies.Refusal: "refusal.j2",
    replies.Notice: "notice.j2",
    replies.Updated: "updated.j2",
    CheckPlan: "check_plan.j2",
    CheckReport: "check_report.j2",
    CheckDetails: "check_details.j2",
    DnsRecords: "dns_records.j2",
    CredentialsSaved: "credentials_saved.j2",
    CredentialForm: "credentials_form.j2",  # its button opens the form (a mention's way)
    Synced: "synced.j2",
    ImportReport: "import_report.j2",
    SyncFailed: "sync_failed.j2",
    RfiBegin: "rfi_begin.j2",
    ThreadReply: "rfi_reply.j2",
    Summary: "rfi_summary.j2",
    replies.ReminderSet: "reminder_set.j2",
    replies.ReminderList: "reminder_list.j2",
    replies.ReminderCancelled: "reminder_cancelled.j2",
    replies.ReminderDone: "reminder_done.j2",
    replies.ReminderSnoozed: "reminder_snoozed.j2",
}


Renderable = (
    replies.Result
    | RfiBegin
    | ThreadReply
    | Summary
    | CheckPlan
    | CheckReport
    | CheckDetails
    | DnsRecords
    | Synced
    | SyncFailed
    | ImportReport
    | CredentialsSaved
    | CredentialForm
    | replies.ReminderResult
    | Members
    | History
    | replies.CustomerOpened
    | Welcome
    | WatchShown
    | WatchNotice
    | Card
)

# Roles, members and the audit trail (issue 8).
_TEMPLATES.update(
    {
        Members: "members.j2",
        History: "history.j2",
        replies.CustomerOpened: "customer_opened.j2",
        Welcome: "welcome.j2",
        Card: "card.j2",
    }
)
# The DNS watch (issue 15, section 3).
_TEMPLATES.update({WatchShown: "watch_status.j2", WatchNotice: "watch_notice.j2"})
_env.filters["channel"] = mrkdwn.channel
_env.globals["Role"] = Role  # help marks the verbs for engineers only


def render(result: Renderable, *, door: str | None = None) -> Message:
    """`door`: how the reader types a command ("/connect" or "@connect"); None keeps the one
    in force (the slash command's, unless a caller set another)."""
    with mrkdwn.door(door):
        return _render(result)


def _render(result: Renderable) -> Message:
    template = _env.get_template(_TEMPLATES[type(result)])
    # Blocks are rendered one by one, so everything they use comes in through the context.
    context = template.new_context({"r": result, "o": getattr(result, "onboarding", None)})
    parts = {
        name: "".join(template.blocks[name](context)).strip()
        for name in ("header", "context", "grid", "body", "footer")
        if name in template.blocks
    }
    fixed: list[Block] = []  # header and context first; footer, note and buttons after
    if parts.get("header"):
        # Header blocks are plain text: Slack shows it literally, so undo the mrkdwn escaping.
        title = limits.cut_plain(mrkdwn.as_typed(parts["header"]), HEADER_TEXT_LIMIT)
        fixed.append(HeaderBlock(text=PlainTextObject(text=title, emoji=True)))
    if parts.get("context"):
        fixed.append(_context(parts["context"]))
    # A grid (the check report's) comes whole, one section per fenced part, before the body.
    for grid in parts.get("grid", "").split("\n\n"):
        if grid.strip() and len(fixed) < MAX_BLOCKS // 2:
            fixed.append(SectionBlock(text=_mrkdwn(limits.cut_mrkdwn(grid, SECTION_TEXT_LIMIT))))
    closing: list[Block] = []
    if parts.get("footer"):
        closing.append(_context(parts["footer"]))
    buttons = actions.buttons_for(result)[: limits.ACTIONS_ELEMENTS]
    if buttons:
        closing.append(ActionsBlock(block_id="connect_actions", elements=buttons))
    room = MAX_BLOCKS - len(fixed) - len(closing)
    body, left_out = limits.sections(parts.get("body", ""), max_sections=room - 1)
    if not left_out and len(body) > room:  # cannot happen: sections() keeps one place free
        body, left_out = body[:room], 1
    middle: list[Block] = [SectionBlock(text=_mrkdwn(chunk)) for chunk in body]
    if left_out:
        middle.append(_context(limits.more_lines(left_out, more_hint(result))))
    blocks = [*fixed, *middle, *closing]
    text = "\n".join(p for p in parts.values() if p)
    return Message(
        text=limits.cut_mrkdwn(text, TEXT_LIMIT),
        blocks=blocks,
        public=result.public,
        refusal=isinstance(result, replies.Refusal),
    )


def _mrkdwn(text: str) -> MarkdownTextObject:
    # verbatim: Slack still reads our own <@U…>, <#C…> and <!date…> tokens but does not turn a
    # typed @here, #channel or bare URL into a mention or a link.
    return MarkdownTextObject(text=text, verbatim=True)


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[_mrkdwn(limits.cut_mrkdwn(text, CONTEXT_TEXT_LIMIT))])


def _key_of(result: object) -> str | None:
    onboarding = getattr(result, "onboarding", None)
    return getattr(onboarding, "key", None) if onboarding is not None else None


def _code(text: str) -> str:
    return str(mrkdwn.code(text))


# Where to see what a cut message left out, per result type: result -> mrkdwn. Other modules
# may add their result types here (e.g. a paged history names its next page).
MORE_HINTS: dict[type, Callable[[Any], str]] = {
    Summary: lambda r: (
        f"{_code(f'/connect rfi {_key_of(r)} show')} or the RFI form (the "
        "button on the RFI message) shows every answer in full"
    ),
    ThreadReply: lambda r: (
        f"{_code('show')} in this thread, or the RFI form (the button on "
        "the RFI message), shows every answer in full"
    ),
    CheckReport: lambda r: (
        "run one step at a time, e.g. " + _code(f"/connect check {_key_of(r)} outbound")
    ),
    CheckDetails: lambda r: (
        "run one step at a time, e.g. "
        + _code(f"/connect check {_key_of(r)} outbound")
        + ", then *Details* on its report"
    ),
    CheckPlan: lambda r: (
        "run one step at a time, e.g. " + _code(f"/connect check {_key_of(r)} outbound")
    ),
    DnsRecords: lambda r: (
        f"{_code(f'/connect check {_key_of(r)} outbound')} names each "
        "domain still missing its records"
    ),
    replies.Listing: lambda r: f"name one with {_code('/connect status <customer>')}",
    replies.Help: lambda r: _code(f"{r.door} help <verb>") + " explains one verb",
}


def more_hint(result: object) -> str:
    """mrkdwn telling where to see the rest of a message that had to be cut."""
    hint = MORE_HINTS.get(type(result))
    if hint is not None:
        return hint(result)
    key = _key_of(result)
    if key:
        return _code(f"/connect status {key}") + " shows the onboarding at a glance"
    return _code("/connect help") + " lists what you can ask for"
