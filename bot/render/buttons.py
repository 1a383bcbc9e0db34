"""Buttons on the bot's messages: which ones a result carries, and what each click carries back.

Every action id the bot puts on a button is here, one StrEnum per feature, so the listener
(bot/slack/features/) and the button agree by construction. A button's value is JSON naming the
onboarding and what to do; the listener that receives the
click checks it again against the store, so a forged value can only ask for what its sender may
already do by typing.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from slack_sdk.models.blocks import ButtonElement

from commands.checks.service import CheckReport
from commands.credentials import KIND_TITLES, CredentialForm
from commands.recipients.importer import ImportReport
from commands.replies import Closed
from commands.rfi.service import RfiBegin, ThreadReply


class RfiAction(StrEnum):
    FORM = "rfi_form"
    CHOICE = "rfi_choice"  # followed by ":<index>", one per choice
    NEXT = "rfi_next"


class ImportAction(StrEnum):
    VALID = "recipients_import_valid"
    DISCARD = "recipients_discard"


class CredentialsAction(StrEnum):
    FORM = "credentials_form"  # opens the login form (a mention has no trigger_id of its own)


class CloseAction(StrEnum):
    CONFIRM = "onboarding_close"  # the Close button under "close acme?"


class ReminderAction(StrEnum):
    DONE = "reminder_done"
    SNOOZE_DAY = "reminder_snooze_1d"
    SNOOZE_WEEK = "reminder_snooze_1w"


class CheckAction(StrEnum):
    DETAILS = "check_details"  # posts the report's evidence, read from the stored runs


MAX_VALUE_CHARS = 2_000  # Slack's limit for a button's value


def buttons_for(result: object) -> list[ButtonElement]:
    if isinstance(result, RfiBegin):
        return [_button("📝 Fill in as a form", RfiAction.FORM, {"key": result.onboarding.key})]
    if isinstance(result, ThreadReply) and result.ask is not None:
        ask = result.ask
        return [
            _button(
                choice.label,
                f"{RfiAction.CHOICE}:{index}",
                {"key": ask.key, "q": ask.question.id, "a": choice.answer},
            )
            for index, choice in enumerate(ask.question.choices)
        ]
    if isinstance(result, ThreadReply) and result.awaiting_more:
        return [_button("Next question ➡️", RfiAction.NEXT, {})]
    if isinstance(result, CredentialForm):
        label = f"🔐 Enter the {KIND_TITLES[result.kind]} login"
        return [_button(label, CredentialsAction.FORM, {"key": result.key, "kind": result.kind})]
    if isinstance(result, Closed) and result.asked:
        key = result.onboarding.key
        return [_button(f"🔒 Close {key}", CloseAction.CONFIRM, {"key": key})]
    if isinstance(result, ImportReport) and result.state == "staged":
        batch = {"key": result.key, "batch": str(result.batch_id)}
        valid = [_button(f"Import the {result.valid:,} valid rows", ImportAction.VALID, batch)]
        return [*(valid if result.valid else []), _button("Discard", ImportAction.DISCARD, batch)]
    if isinstance(result, CheckReport) and result.run_ids:
        runs = {"runs": ",".join(str(i) for i in result.run_ids)}
        return [_button("🔎 Details", CheckAction.DETAILS, runs)]
    return []


def _button(label: str, action_id: str, value: dict[str, str]) -> ButtonElement:
    data = json.dumps(value, separators=(",", ":"))
    assert len(data) <= MAX_VALUE_CHARS
    return ButtonElement(text=label, action_id=action_id, value=data)


def value_of(action: dict[str, Any]) -> dict[str, str]:
    """A clicked button's value, or {} when it is not ours or not valid JSON."""
    try:
        value = json.loads(action.get("value") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
