"""What the card and a status share: the progress bar and the link to the card. The step lines
are the `_progress.j2` macros; both templates use this one module and those macros, so the card
and a status always read alike."""

from __future__ import annotations

import re

from bot.render import mrkdwn
from commands.core.views import OnboardingView

DONE, TO_DO = "▰", "▱"
# What chat.getPermalink gives: an https URL with nothing that could end a mrkdwn link early.
_PERMALINK = re.compile(r"^https://[^\s|<>]+$")


def bar(view: OnboardingView) -> str:
    """`▰▰▰▱▱▱ 3/6`: one mark per applicable step, the done ones filled."""
    done, applicable = view.done, view.applicable
    return f"{DONE * done}{TO_DO * (applicable - done)} {done}/{applicable}"


def link(url: str | None, label: str) -> mrkdwn.Mrkdwn:
    """A mrkdwn link to `url` (a Slack permalink); just the label when it is not one."""
    if url and _PERMALINK.match(url):
        return mrkdwn.Mrkdwn(f"<{url}|{mrkdwn.escape(label)}>")
    return mrkdwn.Mrkdwn(mrkdwn.escape(label))
