"""The Slack message a reminder becomes: its text, its due time, and Done / Snooze buttons.

The reminder's text is plain text written by a person or a rule, so it is escaped here. Each
button's value is the reminder id; the click listener checks it against the store again.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.render import limits, mrkdwn
from bot.render.buttons import ReminderAction
from bot.render.renderer import Message
from store.models import Reminder

BLOCK_ID = "reminder_actions"

# Slack message metadata: how a dispatcher finds a reminder it posted but could not record.
EVENT_TYPE = "connect_reminder"


def metadata(reminder: Reminder) -> dict[str, Any]:
    """Metadata for the reminder's next post; `occurrence` numbers the sends from 1."""
    return {
        "event_type": EVENT_TYPE,
        "event_payload": {"reminder_id": reminder.id, "occurrence": reminder.occurrence + 1},
    }


def _repeat_words(seconds: int) -> str:
    if seconds % 604_800 == 0:
        weeks = seconds // 604_800
        return "weekly" if weeks == 1 else f"every {weeks} weeks"
    if seconds % 86_400 == 0:
        days = seconds // 86_400
        return "daily" if days == 1 else f"every {days} days"
    hours = max(1, seconds // 3_600)
    return "hourly" if hours == 1 else f"every {hours} hours"


def reminder_message(reminder: Reminder) -> Message:
    """Text and blocks for posting `reminder` (the buttons included)."""
    body = mrkdwn.escape(reminder.text.strip())
    due = mrkdwn.when(reminder.due_at)
    headline = f"⏰ *Reminder* · due {due}"
    # The shared cutting, as for every message: never inside an escape like &amp;.
    section = limits.cut_mrkdwn(f"{headline}\n{body}", limits.SECTION_TEXT)
    about = [f"#{reminder.id}"]
    if reminder.created_by != "bot":
        about.append(f"set by {mrkdwn.user(reminder.created_by)}")
    if reminder.repeat_seconds:
        about.append(f"repeats {_repeat_words(reminder.repeat_seconds)} until done")
    value = str(reminder.id)
    blocks: list[Block] = [
        # verbatim: the reminder's text is a person's, and a typed @here must stay text.
        SectionBlock(text=MarkdownTextObject(text=section, verbatim=True)),
        ContextBlock(elements=[MarkdownTextObject(text=" · ".join(about), verbatim=True)]),
        ActionsBlock(
            block_id=BLOCK_ID,
            elements=[
                ButtonElement(
                    text="✅ Done", action_id=ReminderAction.DONE, value=value, style="primary"
                ),
                ButtonElement(
                    text="Snooze 1 day", action_id=ReminderAction.SNOOZE_DAY, value=value
                ),
                ButtonElement(
                    text="Snooze 1 week", action_id=ReminderAction.SNOOZE_WEEK, value=value
                ),
            ],
        ),
    ]
    text = limits.cut_mrkdwn(f"⏰ Reminder: {body} (due {due})", limits.MESSAGE_TEXT, count=False)
    return Message(text=text, blocks=blocks, public=True)


def failed_message(reminder: Reminder, key: str, why: str, error: str) -> Message:
    """For the engineers' channel: a reminder Slack refused for good, said once."""
    text = (
        f"⚠️ Reminder #{reminder.id} of *{mrkdwn.escape(key)}* could not be delivered to "
        f"{_channel(reminder.channel_id)}: {why} ({mrkdwn.code(error)}). It is marked "
        f"failed and will not be tried again; {mrkdwn.code(f'/connect reminders {key}')} lists it."
    )
    section = limits.cut_mrkdwn(text, limits.SECTION_TEXT)
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=section, verbatim=True))]
    return Message(text=limits.fallback(section), blocks=blocks, public=True)


def _channel(channel_id: str) -> str:
    # A channel link only for a well-formed id; anything else is shown as escaped text.
    ok = channel_id[:1] in ("C", "G") and channel_id.isalnum() and channel_id.isupper()
    return f"<#{channel_id}>" if ok else mrkdwn.escape(channel_id)
