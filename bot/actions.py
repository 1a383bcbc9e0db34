"""Buttons on the bot's messages: which ones a result carries, and what each click carries back.

A button's value is JSON naming the onboarding and what to do; the listener that receives the
click checks it again against the store, so a forged value can only ask for what its sender may
already do by typing.
"""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.blocks import ButtonElement

from commands.recipients.importer import ImportReport
from commands.rfi.service import RfiBegin, ThreadReply

RFI_FORM = "rfi_form"
RFI_CHOICE = "rfi_choice"
RFI_NEXT = "rfi_next"
IMPORT_VALID = "recipients_import_valid"
IMPORT_DISCARD = "recipients_discard"
MAX_VALUE_CHARS = 2_000  # Slack's limit for a button's value


def buttons_for(result: Any) -> list[ButtonElement]:
    if isinstance(result, RfiBegin):
        return [_button("📝 Fill in as a form", RFI_FORM, {"key": result.onboarding.key})]
    if isinstance(result, ThreadReply) and result.ask is not None:
        ask = result.ask
        return [
            _button(
                choice.label,
                f"{RFI_CHOICE}:{index}",
                {"key": ask.key, "q": ask.question.id, "a": choice.answer},
            )
            for index, choice in enumerate(ask.question.choices)
        ]
    if isinstance(result, ThreadReply) and result.awaiting_more:
        return [_button("Next question ➡️", RFI_NEXT, {})]
    if isinstance(result, ImportReport) and result.state == "staged":
        batch = {"key": result.key, "batch": str(result.batch_id)}
        valid = [_button(f"Import the {result.valid:,} valid rows", IMPORT_VALID, batch)]
        return [*(valid if result.valid else []), _button("Discard", IMPORT_DISCARD, batch)]
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
