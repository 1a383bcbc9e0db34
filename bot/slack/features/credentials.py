"""The credentials form: opened by `/connect credentials` (features/commands, with the
command's trigger_id) or by the button under `@connect credentials` (a mention has no
trigger_id, so its answer carries a button whose click brings one) and by the card's *Enter
credentials*; a button opens a loading modal first (bot/slack/modal_first.py). Its submission:
every field checked, the password sealed and stored, or field errors and nothing stored."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.models.views import View

from bot import logs
from bot.render import modals
from bot.render.buttons import CredentialsAction, value_of
from bot.render.renderer import render
from bot.slack.delivery import SlackSurface
from bot.slack.modal_first import ModalOpener
from bot.slack.runner import Runner
from bot.slack.submissions import Submissions
from commands.core.context import Caller
from commands.credentials import CredentialErrors, CredentialService

FORM_TITLE = "Login details"


def register(
    app: App,
    credentials: CredentialService,
    runner: Runner,
    forms: Submissions,
    opener: ModalOpener,
) -> None:
    @app.action(re.compile(f"^{CredentialsAction.FORM}(:(pop|ldap))?$"))
    def on_form_button(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        value = value_of(body["actions"][0])

        def make(caller: Caller) -> View:
            # The button's value is only a wish: the clicker is checked as if they had typed it.
            form = credentials.form(caller, value.get("key") or None, value.get("kind") or None)
            return modals.credentials_view(form, forms.sealer(caller.user_id, caller.channel_id))

        opener.open("credentials form button", body, client, respond, FORM_TITLE, make)

    @app.view(modals.CREDENTIALS_CALLBACK)
    def on_credentials(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        fields = modals.credential_fields(view)
        try:
            outcome = forms.submit(
                ack,
                modals.CREDENTIALS_CALLBACK,
                body,
                view,
                error_block="host",
                save=lambda caller, meta: credentials.submit(
                    caller, str(meta.get("key", "")), str(meta.get("kind", "")), fields
                ),
            )
        finally:
            fields.clear()  # the password leaves memory with the request
        if outcome is None:
            return
        if isinstance(outcome, CredentialErrors):
            ack(response_action="errors", errors=modals.errors(outcome))
            logs.bind(outcome="refused")
            return
        ack()
        channel_id = outcome.onboarding.channel_id
        if channel_id:
            surface = SlackSurface(client)
            runner.later(
                "credentials saved", None, lambda: surface.post(channel_id, render(outcome))
            )
