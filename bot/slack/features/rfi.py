"""The RFI in Slack: replies in its thread (and their edits and deletions), the choice and
Next buttons, and the form: its button (on the RFI message and on the card) opens a loading
modal at once and fills it (bot/slack/modal_first.py); its submission saves every answer or
none."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.models.views import View

from bot import logs
from bot.flows import deliver_reply, thread_message
from bot.render import modals
from bot.render.buttons import RfiAction, value_of
from bot.slack.delivery import SlackSurface
from bot.slack.modal_first import ModalOpener
from bot.slack.payloads import clicked, edited_reply, thread_reply
from bot.slack.runner import Runner
from bot.slack.submissions import Submissions
from commands.core.context import Caller
from commands.rfi.service import FormErrors, RfiService


def on_message(
    rfi: RfiService, runner: Runner, event: dict[str, Any], client: WebClient, bot_user: str | None
) -> bool:
    """A reply in an RFI thread, or its edit or deletion: handled (True) or not the RFI's."""
    surface = SlackSurface(client)
    subtype = event.get("subtype")
    incoming = thread_reply(event, bot_user)
    if incoming is not None:
        runner.later("thread reply", None, lambda: thread_message(rfi, surface, incoming))
        return True
    if subtype == "message_changed":
        edited = edited_reply(event, bot_user)
        if edited is not None:
            message, edited_ts = edited
            runner.later(
                "edited reply",
                None,
                lambda: deliver_reply(surface, rfi.edited(message, edited_ts)),
            )
        return True
    if subtype == "message_deleted":
        previous = event.get("previous_message") or {}
        thread_ts, ts = previous.get("thread_ts"), event.get("deleted_ts")
        if thread_ts and ts and thread_ts != ts:
            runner.later(
                "deleted reply",
                None,
                lambda: deliver_reply(surface, rfi.deleted(event["channel"], thread_ts, ts)),
            )
        return True
    return False


RFI_TITLE = "Request for information"


def register(
    app: App, rfi: RfiService, runner: Runner, forms: Submissions, opener: ModalOpener
) -> None:
    @app.action(RfiAction.FORM.value)
    def on_form_button(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        key = value_of(body["actions"][0]).get("key", "")

        def make(caller: Caller) -> View:
            # The button's key is only a wish: the clicker is checked as if they had typed it.
            return modals.rfi_view(
                rfi.form(caller, key), forms.sealer(caller.user_id, caller.channel_id)
            )

        opener.open("RFI form button", body, client, respond, RFI_TITLE, make)

    @app.view(modals.RFI_FORM_CALLBACK)
    def on_form_submit(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        texts = modals.answers(view)
        outcome = forms.submit(
            ack,
            modals.RFI_FORM_CALLBACK,
            body,
            view,
            error_block=modals.first_block(view),
            save=lambda caller, meta: rfi.submit_form(
                caller, str(meta.get("key", "")), texts, keep=modals.kept(meta)
            ),
        )
        if outcome is None:
            return
        if isinstance(outcome, FormErrors):
            ack(response_action="errors", errors=modals.errors(outcome))
            logs.bind(outcome="refused")
            return
        ack()
        surface = SlackSurface(client)
        runner.later("RFI form", None, lambda: deliver_reply(surface, outcome))

    @app.action(re.compile(f"^{RfiAction.CHOICE}:"))
    def on_choice(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        value = value_of(body["actions"][0])
        message = clicked(body, value.get("a", ""))
        if message is None or not value.get("q"):
            return
        surface = SlackSurface(client, respond)
        runner.later(
            "RFI choice",
            respond,
            lambda: deliver_reply(surface, rfi.choose(message, value["q"])),
        )

    @app.action(RfiAction.NEXT.value)
    def on_next(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        message = clicked(body, "next")
        if message is None:
            return
        surface = SlackSurface(client, respond)
        runner.later("RFI next", respond, lambda: deliver_reply(surface, rfi.choose(message, None)))
