"""The App Home tab as Block Kit (slack_sdk models): the filters, one section and one row of
buttons per onboarding, and the pages. A page holds at most PAGE_SIZE onboardings
(commands/home/service.py), so a view stays well inside Slack's 100 blocks whatever their
number; `home_view` still cuts to the limit, and says so, should that ever change."""

from __future__ import annotations

import json
import re
from enum import StrEnum

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.render import limits, mrkdwn
from commands.core.golive import GoLiveStanding
from commands.core.process import Step, StepState
from commands.home.overview import HomeItem, Waiting, WaitingFor
from commands.home.service import Home, HomeNotForYou, HomeOverview, Scope

HOME_BLOCKS = 100  # Slack's limit for a Home tab view
CHANNEL_URL = "https://slack.com/app_redirect?channel={channel}"
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,30}$")


class HomeAction(StrEnum):
    SCOPE = "home_scope"  # value: "mine" | "all"
    CLOSED = "home_closed"  # value: "open" | "closed"
    PAGE = "home_page"  # value: the page number
    CHECK = "home_check"  # value: {"key": ..., "step": ...}
    CHANNEL = "home_channel"  # a url button: Slack opens the channel, the click is only acked


STATE_ICONS = {StepState.IN_PROGRESS: "🔄", StepState.NOT_STARTED: "⬜"}
CHECK_WORDS = {
    "pass": "✅ passed",
    "warn": "⚠️ warned",
    "fail": "❌ failed",
    "unknown": "❓ inconclusive",
    "skipped": "➖ skipped",  # noqa: RUF001 (the emoji, not a minus sign)
}
CONFIRM_WORDS = {
    "inbound.old_mx_retired": "the ISP's confirmation that the old MX host no longer receives mail",
    "firewall.previous_provider": "confirmation that the previous provider is cancelled",
}
NOT_FOR_YOU = (
    "This Home tab is for the Connect team. Your onboarding is in the channel you share "
    "with us: mention me there, `@connect status`, to see where it stands."
)


def home_view(home: Home) -> View:
    if isinstance(home, HomeNotForYou):
        blocks: list[Block] = [
            HeaderBlock(text=PlainTextObject(text="Connect", emoji=True)),
            SectionBlock(text=_mrkdwn(NOT_FOR_YOU)),
        ]
        return View(type="home", blocks=blocks)
    return View(type="home", blocks=overview_blocks(home))


def overview_blocks(home: HomeOverview) -> list[Block]:
    head: list[Block] = [
        HeaderBlock(text=PlainTextObject(text="Connect onboardings", emoji=True)),
        _filters(home),
        ContextBlock(elements=[_mrkdwn(_summary(home))]),
        DividerBlock(),
    ]
    tail = _pages(home)
    body: list[Block] = []
    for item in home.items:
        body.extend(item_blocks(item))
    room = HOME_BLOCKS - len(head) - len(tail)
    if len(body) > room:  # cannot happen with PAGE_SIZE; never send what Slack refuses
        body = [*body[: room - 1], ContextBlock(elements=[_mrkdwn("… more on the next page")])]
    if not home.items:
        body = [SectionBlock(text=_mrkdwn(_empty(home)))]
    return [*head, *body, *tail]


def item_blocks(item: HomeItem) -> list[Block]:
    lines = [_title(item), _progress(item)]
    waiting = [_waiting(w) for w in item.waiting]
    if waiting:
        lines.append("⏳ Waiting for " + "; ".join(waiting))
    dated = _reminders(item)
    if item.go_live is not None and item.closed_at is None:
        dated.append(go_live_line(item.go_live))
    if dated:
        lines.append(" · ".join(dated))
    text = limits.cut_mrkdwn("\n".join(lines), limits.SECTION_TEXT)
    blocks: list[Block] = [SectionBlock(text=_mrkdwn(text))]
    buttons = _buttons(item)
    if buttons:
        blocks.append(ActionsBlock(block_id=f"home_item:{item.key}", elements=buttons))
    return blocks


def go_live_line(g: GoLiveStanding) -> str:
    standing = (
        "on track"
        if g.on_track
        else f"⚠️ behind by {g.behind_days} day" + ("s" if g.behind_days != 1 else "")
    )
    return f"📅 Go-live {g.day(g.go_live)} ({g.left}): {standing}"


def progress_bar(done: int, applicable: int) -> str:
    return "▰" * done + "▱" * max(applicable - done, 0) + f" {done}/{applicable}"


def _title(item: HomeItem) -> str:
    label = mrkdwn.escape(f"{item.name} ({item.key})")
    if item.channel_id and _CHANNEL_ID.match(item.channel_id):
        label = f"<{CHANNEL_URL.format(channel=item.channel_id)}|{label}>"
    region = item.region.upper() if item.region else "region not set"
    closed = f" · closed {mrkdwn.day(item.closed_at)}" if item.closed_at else ""
    return f"*{label}* · {item.service.title} · {region}{closed}"


def _progress(item: HomeItem) -> str:
    line = progress_bar(item.done, item.applicable)
    if item.current is None:
        return line + " · every step done"
    icon = STATE_ICONS.get(item.current_state or StepState.NOT_STARTED, "⬜")
    state = (item.current_state or StepState.NOT_STARTED).label
    line += f" · {icon} *{item.current.title}* {state}"
    if item.latest is not None:
        worst, at = item.latest
        line += f" · last check {CHECK_WORDS.get(worst, worst)} {mrkdwn.when(at)}"
    return line


def _waiting(w: Waiting) -> str:
    if w.what is WaitingFor.RFI:
        days = w.days or 0
        since = "today" if days == 0 else f"{days} day{'s' if days != 1 else ''}"
        return f"the customer's RFI answer ({since})"
    if w.what is WaitingFor.CHECK:
        return "a failing check to pass" if w.detail == "fail" else "an inconclusive check"
    return CONFIRM_WORDS.get(w.detail or "", "a person's confirmation")


def _reminders(item: HomeItem) -> list[str]:
    parts = []
    if item.reminders_overdue:
        n = item.reminders_overdue
        parts.append(f"⏰ {n} reminder{'s' if n != 1 else ''} overdue")
    if item.reminders_next is not None:
        parts.append(f"next reminder {mrkdwn.when(item.reminders_next)}")
    return parts


def _buttons(item: HomeItem) -> list[ButtonElement]:
    buttons = []
    if item.closed_at is None and item.current is not None:
        step = item.current.value if item.current is not Step.RFI else "all"
        title = item.current.title if item.current is not Step.RFI else "all"
        value = json.dumps({"key": item.key, "step": step}, separators=(",", ":"))
        buttons.append(
            ButtonElement(
                text=limits.cut_plain(f"▶ Run {title} checks", limits.BUTTON_TEXT),
                action_id=HomeAction.CHECK,
                value=value,
            )
        )
    if item.channel_id and _CHANNEL_ID.match(item.channel_id):
        buttons.append(
            ButtonElement(
                text="Open the channel",
                action_id=HomeAction.CHANNEL,
                url=CHANNEL_URL.format(channel=item.channel_id),
            )
        )
    return buttons


def _filters(home: HomeOverview) -> ActionsBlock:
    f = home.filters

    def choice(label: str, action: HomeAction, value: str, chosen: bool) -> ButtonElement:
        # Slack refuses two elements of one block with the same action id.
        return ButtonElement(
            text=("● " if chosen else "") + label,
            action_id=f"{action}:{value}",
            value=value,
            style="primary" if chosen else None,
        )

    return ActionsBlock(
        block_id="home_filters",
        elements=[
            choice("Mine", HomeAction.SCOPE, Scope.MINE, f.scope is Scope.MINE),
            choice("All", HomeAction.SCOPE, Scope.ALL, f.scope is Scope.ALL),
            choice("Open", HomeAction.CLOSED, "open", not f.closed),
            choice("Recently closed", HomeAction.CLOSED, "closed", f.closed),
        ],
    )


def _summary(home: HomeOverview) -> str:
    which = "recently closed" if home.filters.closed else "open"
    whose = "of yours" if home.filters.scope is Scope.MINE else "in all"
    parts = [f"{home.total:,} {which} onboarding{'s' if home.total != 1 else ''} {whose}"]
    if home.behind:
        parts.append(f"{home.behind} behind their go-live plan")
    if home.overdue:
        parts.append(f"{home.overdue} with overdue reminders")
    if home.pages > 1:
        parts.append(f"page {home.page + 1} of {home.pages}")
    parts.append(f"updated {mrkdwn.when(home.at, '{time}')}")
    return " · ".join(parts)


def _pages(home: HomeOverview) -> list[Block]:
    if home.pages <= 1:
        return []
    buttons = []
    if home.page > 0:
        buttons.append(
            ButtonElement(
                text="← Previous", action_id=f"{HomeAction.PAGE}:prev", value=str(home.page - 1)
            )
        )
    if home.page + 1 < home.pages:
        left = home.total - home.first - len(home.items)
        buttons.append(
            ButtonElement(
                text=f"Show more ({left:,} left) →",
                action_id=f"{HomeAction.PAGE}:next",
                value=str(home.page + 1),
            )
        )
    return [DividerBlock(), ActionsBlock(block_id="home_pages", elements=buttons)]


def _empty(home: HomeOverview) -> str:
    which = "recently closed" if home.filters.closed else "open"
    if home.filters.scope is Scope.MINE:
        return (
            f"No {which} onboardings of yours (opened by you or with you invited). "
            "*All* shows everyone's."
        )
    return f"No {which} onboardings."


def _mrkdwn(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text, verbatim=True)
