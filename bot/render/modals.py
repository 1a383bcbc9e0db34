"""The RFI as a modal: every question a field, pre-filled; errors go back field by field."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from slack_sdk.models.blocks import (
    CheckboxesElement,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.render import limits, mrkdwn
from commands.credentials import (
    DIRECTORY_TYPE_LABELS,
    HIDDEN,
    KIND_TITLES,
    KINDS,
    PLAIN_ACK,
    CredentialErrors,
    CredentialForm,
)
from commands.rfi.service import Form, FormErrors, FormField

RFI_FORM_CALLBACK = "rfi_form"
VALUE = "value"
# Slack's limits for a modal: title 24 characters, a text input's value 3,000.
TITLE_LIMIT = 24
INPUT_LIMIT = 3_000
ERROR_LIMIT = 150


# Turns a form's callback id and own values into its sealed private_metadata
# (bot/view_seal.py), bound to the person and channel it is opened for.
Sealer = Callable[[str, dict[str, object]], str]


def rfi_view(form: Form, seal: Sealer) -> View:
    intro = (
        f"*{mrkdwn.escape(form.name)}* ({mrkdwn.escape(form.key)}): one value per line "
        "where a question takes several. Nothing is saved until every answer is valid."
    )
    blocks: list[Any] = [
        SectionBlock(text=_verbatim(limits.cut_mrkdwn(intro, limits.SECTION_TEXT)))
    ]
    # A modal holds 100 blocks: should the questionnaire ever outgrow it, the rest are asked in
    # the thread (the form saves what it shows; the thread asks what is still open).
    room = limits.MODAL_BLOCKS - len(blocks) - 1
    fields = form.fields[:room]
    kept: list[str] = []
    for field in fields:
        question = field.question
        if len(field.text) > INPUT_LIMIT:
            # More than a text field holds: shown cut, it would be saved cut. The answer stays
            # as it is (the submission says so) and is changed in the thread instead.
            kept.append(question.id)
            blocks.append(_too_long(field))
            continue
        blocks.append(
            InputBlock(
                block_id=question.id,
                label=limits.cut_plain(question.title, limits.INPUT_LABEL),
                optional=not question.required,
                hint=_cut(f"{question.prompt} For example: {question.example}", limits.INPUT_HINT),
                element=PlainTextInputElement(
                    action_id=VALUE,
                    multiline=question.multi,
                    initial_value=field.text or None,
                    max_length=INPUT_LIMIT,
                ),
            )
        )
    if len(form.fields) > len(fields):
        kept += [field.question.id for field in form.fields[len(fields) :]]  # not shown: kept
        more = len(form.fields) - len(fields)
        blocks.append(
            ContextBlock(
                elements=[_verbatim(f"… and {more} more questions: answer them in the RFI thread.")]
            )
        )
    return View(
        type="modal",
        callback_id=RFI_FORM_CALLBACK,
        title=_cut("Request for information", TITLE_LIMIT),
        submit="Save",
        close="Cancel",
        private_metadata=seal(RFI_FORM_CALLBACK, {"key": form.key, "keep": kept}),
        blocks=blocks,
    )


def _too_long(field: FormField) -> SectionBlock:
    values = len([line for line in field.text.splitlines() if line.strip()])
    text = (
        f"*{mrkdwn.escape(field.question.title)}*: {values:,} values, more than a form field "
        f"holds. They stay as they are; change them in the RFI thread with "
        f"{mrkdwn.code('change ' + field.question.id.replace('_', '-'))}."
    )
    text = limits.cut_mrkdwn(text, limits.SECTION_TEXT)
    return SectionBlock(block_id=field.question.id, text=_verbatim(text))


def _verbatim(text: str) -> MarkdownTextObject:
    # verbatim: a typed @here or #general (a customer's name) stays text (DESIGN.md).
    return MarkdownTextObject(text=text, verbatim=True)


def kept(meta: Mapping[str, object]) -> tuple[str, ...]:
    """Question ids the form left out (their answers stay); junk in the metadata keeps nothing."""
    keep = meta.get("keep")
    return tuple(k for k in keep if isinstance(k, str)) if isinstance(keep, list) else ()


def answers(view: dict[str, Any]) -> dict[str, str]:
    """Question id -> the text typed in its field."""
    values = view.get("state", {}).get("values", {})
    return {
        block_id: str((fields.get(VALUE) or {}).get("value") or "")
        for block_id, fields in values.items()
    }


def errors(outcome: FormErrors | CredentialErrors) -> dict[str, str]:
    # Plain text: Slack shows an error under its field as typed, without mrkdwn.
    return {question: _cut(text, ERROR_LIMIT) for question, text in outcome.errors.items()}


def first_block(view: dict[str, Any]) -> str:
    inputs = [b.get("block_id") for b in view.get("blocks", []) if b.get("type") == "input"]
    return str(inputs[0]) if inputs else "contacts"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


CREDENTIALS_CALLBACK = "credentials"


def credentials_view(form: CredentialForm, seal: Sealer) -> View:
    """Host, port, TLS mode, user and password (and for a directory its base DN, type and CA).
    Slack has no masked input, so the form says where the password goes: into this form only,
    stored encrypted, never shown back."""
    modes = KINDS[form.kind]
    ldap = form.kind == "ldap"
    options = [Option(value=mode.key, label=mode.label) for mode in modes.values()]
    initial = next((o for o in options if o.value == form.security), None)
    password_hint = (
        "Leave empty to keep the stored password."
        if form.has_secret
        else "Stored encrypted; never shown again, never posted in a channel."
    )
    blocks: list[Any] = [
        SectionBlock(
            text=_verbatim(
                limits.cut_mrkdwn(
                    f"*{mrkdwn.escape(KIND_TITLES[form.kind])}* for "
                    f"*{mrkdwn.escape(form.name)}* ({mrkdwn.escape(form.key)})",
                    limits.SECTION_TEXT,
                )
            )
        ),
        _text_input("host", "Host", form.host, hint="The mailbox server's name or address."),
        InputBlock(
            block_id="security",
            label="Connection",
            element=StaticSelectElement(action_id=VALUE, options=options, initial_option=initial),
        ),
        _text_input(
            "port",
            "Port",
            str(form.port or ""),
            optional=True,
            hint="Empty: the usual port for the connection "
            + ("(636 for LDAPS, 389 otherwise)." if ldap else "(995 or 110)."),
        ),
    ]
    if ldap:
        blocks += _ldap_inputs(form)
    else:
        blocks.append(_text_input("username", "User name", form.username))
    blocks.append(_text_input(HIDDEN, "Password", "", optional=form.has_secret, hint=password_hint))
    return View(
        type="modal",
        callback_id=CREDENTIALS_CALLBACK,
        title=_cut("Login details", TITLE_LIMIT),
        submit="Save",
        close="Cancel",
        private_metadata=seal(CREDENTIALS_CALLBACK, {"key": form.key, "kind": form.kind}),
        blocks=blocks,
    )


def _ldap_inputs(form: CredentialForm) -> list[Any]:
    types = [Option(value=k, label=v) for k, v in DIRECTORY_TYPE_LABELS.items()]
    chosen_type = form.options.get("directory_type")
    acknowledge = Option(
        value="yes",
        label="Accept that plain LDAP sends the bind password in clear",
    )
    return [
        _text_input(
            "username",
            "Bind DN",
            form.username,
            hint="The account the gateway reads the directory as, e.g. "
            "cn=mimecast,ou=Service,dc=acme,dc=com (or svc-mimecast@acme.com in AD).",
        ),
        _text_input(
            "base_dn",
            "Base DN",
            str(form.options.get("base_dn") or ""),
            hint="Where the users and groups are, e.g. dc=acme,dc=com.",
        ),
        InputBlock(
            block_id="directory_type",
            label="Directory type",
            element=StaticSelectElement(
                action_id=VALUE,
                options=types,
                initial_option=next((o for o in types if o.value == chosen_type), types[0]),
            ),
        ),
        InputBlock(
            block_id="ca_pem",
            label="CA certificate (PEM)",
            optional=True,
            hint="Only if the directory's certificate is from your own CA: paste it here.",
            element=PlainTextInputElement(
                action_id=VALUE,
                multiline=True,
                initial_value=str(form.options.get("ca_pem") or "")[:INPUT_LIMIT] or None,
                max_length=INPUT_LIMIT,
            ),
        ),
        InputBlock(
            block_id=PLAIN_ACK,
            label="Plain LDAP",
            optional=True,
            hint="Needed only for plain LDAP on 389: the password then crosses the network "
            "unencrypted. LDAPS or StartTLS avoid that.",
            element=CheckboxesElement(
                action_id=VALUE,
                options=[acknowledge],
                initial_options=[acknowledge] if form.options.get(PLAIN_ACK) else None,
            ),
        ),
    ]


def credential_fields(view: dict[str, Any]) -> dict[str, str]:
    """Field -> typed text (or the chosen option's value; a ticked box gives its value)."""
    fields: dict[str, str] = {}
    for block_id, state in view.get("state", {}).get("values", {}).items():
        element = state.get(VALUE) or {}
        chosen = element.get("selected_option") or {}
        ticked = element.get("selected_options") or []
        first = ticked[0].get("value") if ticked and isinstance(ticked[0], dict) else None
        fields[block_id] = str(chosen.get("value") or first or element.get("value") or "")
    return fields


def _text_input(
    block_id: str, label: str, value: str, *, optional: bool = False, hint: str | None = None
) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=label,
        optional=optional,
        hint=hint,
        element=PlainTextInputElement(
            action_id=VALUE, initial_value=value or None, max_length=1024
        ),
    )
