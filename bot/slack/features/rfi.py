"""The RFI in Slack: replies in its thread (and their edits and deletions), the choice and
Next buttons, and the form: its button opens it, its submission saves every answer or none."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot import logs
from bot.flows import deliver_reply, thread_message
from bot.render import modals
from bot.render.buttons import RfiAction, value_of
from bot.render.renderer import render
from bot.slack.delivery import SlackSurface
from bot.slack.payloads import clicked, edited_reply, team_of, thread_reply
from bot.slack.runner import Runner
from bot.slack.submissions import Submissions
from commands.core.context import Caller, Refused
from commands.replies import Refusal
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


def register(app: App, rfi: RfiService, runner: Runner, forms: Submissions) -> None:
    @app.action(RfiAction.FORM.value)
    def on_form_button(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        key = value_of(body["actions"][0]).get("key", "")
        channel, user, trigger = body["channel"]["id"], body["user"]["id"], body["trigger_id"]

        def open_form() -> None:
            # The pool starts this at once: views.open must come within 3 s of the click.
            caller = runner.with_role(
                Caller(user_id=user, channel_id=channel, team_id=team_of(body))
            )
            try:
                form = rfi.form(caller, key)
            except Refused as exc:
                refusal = render(Refusal(exc.text))
                client.chat_postEphemeral(channel=channel, user=user, text=refusal.text)
                return
            view = modals.rfi_view(form, forms.sealer(user, channel))
            client.views_open(trigger_id=trigger, view=view)

        runner.later("RFI form button", None, open_form)

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
