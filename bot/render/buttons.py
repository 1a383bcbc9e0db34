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

from slack_sdk.models.blocks import (
    ButtonElement,
    InteractiveElement,
    Option,
    PlainTextObject,
    StaticSelectElement,
)

from commands.checks.service import CheckReport
from commands.credentials import KIND_TITLES, CredentialForm
from commands.onboarding import next_action as labels
from commands.onboarding.card import Card
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
    # Opens the login form (a mention has no trigger_id of its own); on the card it is followed
    # by ":<kind>", as action ids within one message must differ.
    FORM = "credentials_form"


class CardAction(StrEnum):
    """The card's own controls; each carries a verb and its arguments, run as if typed."""

    CHECK = "card_check"  # the *Run checks* select: one option per step
    RUN = "card_run"  # followed by ":<verb>": *DNS records*, *Reminders*


class CloseAction(StrEnum):
    CONFIRM = "onboarding_close"  # the Close button under "close acme?"


class ReminderAction(StrEnum):
    DONE = "reminder_done"
    SNOOZE_DAY = "reminder_snooze_1d"
    SNOOZE_WEEK = "reminder_snooze_1w"


class CheckAction(StrEnum):
    DETAILS = "check_details"  # posts the report's evidence, read from the stored runs


MAX_VALUE_CHARS = 2_000  # Slack's limit for a button's value
OPTION_VALUE_CHARS = 150  # and for a select option's


def buttons_for(result: object) -> list[InteractiveElement]:
    if isinstance(result, Card):
        return card_controls(result)
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


KIND_BUTTONS = {"pop": "POP mailbox", "ldap": "directory"}


def card_controls(card: Card) -> list[InteractiveElement]:
    """*Run checks* (a step select), *DNS records*, *Answer the RFI as a form*, *Enter
    credentials* (a login a step still needs), *Reminders*, *Report* (the change board's file).
    A closed card keeps none."""
    o = card.onboarding
    if o.closed_at is not None:
        return []
    key = o.key
    controls: list[InteractiveElement] = []
    if card.check_steps:
        options = [
            Option(text=step.title, value=_option(key, step.value)) for step in card.check_steps
        ]
        every = _option(key, "all")
        controls.append(
            StaticSelectElement(
                action_id=CardAction.CHECK.value,
                placeholder=PlainTextObject(text=f"{labels.RUN_CHECKS}…"),
                options=[*options, Option(text="Every step", value=every)],
            )
        )
    controls.append(_button(labels.DNS_RECORDS, f"{CardAction.RUN}:dns", _run(key, "dns")))
    controls.append(_button(labels.RFI_FORM, RfiAction.FORM, {"key": key}))
    controls.extend(
        _button(
            f"{labels.CREDENTIALS}: {KIND_BUTTONS[kind]}",
            f"{CredentialsAction.FORM}:{kind}",
            {"key": key, "kind": kind},
        )
        for kind in card.logins
    )
    controls.append(
        _button(labels.REMINDERS, f"{CardAction.RUN}:reminders", _run(key, "reminders"))
    )
    controls.append(_button(labels.REPORT, f"{CardAction.RUN}:report", _run(key, "report")))
    return controls


def _run(key: str, verb: str, args: str = "") -> dict[str, str]:
    return {"key": key, "verb": verb, "args": args}


def _option(key: str, step: str) -> str:
    """A *Run checks* option's value. Slack takes 150 characters: a key (40 at most) fits; were
    one longer, the card's channel still names its onboarding, so the key is left out."""
    value = json.dumps({"key": key, "verb": "check", "args": step}, separators=(",", ":"))
    if len(value) > OPTION_VALUE_CHARS:
        value = json.dumps({"verb": "check", "args": step}, separators=(",", ":"))
    return value


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
