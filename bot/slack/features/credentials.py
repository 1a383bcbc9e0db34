"""The credentials form: opened by `/connect credentials` (features/commands, with the
command's trigger_id) or by the button under `@connect credentials` (a mention has no
trigger_id, so its answer carries a button whose click brings one); its submission: every field
checked, the password sealed and stored, or field errors and nothing stored."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot import logs
from bot.render import modals
from bot.render.buttons import CredentialsAction, value_of
from bot.render.renderer import render
from bot.slack.delivery import SlackSurface
from bot.slack.payloads import team_of
from bot.slack.runner import Runner
from bot.slack.submissions import Submissions
from commands.core.context import Caller
from commands.credentials import CredentialErrors, CredentialService


def register(app: App, credentials: CredentialService, runner: Runner, forms: Submissions) -> None:
    @app.action(CredentialsAction.FORM.value)
    def on_form_button(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        value = value_of(body["actions"][0])
        container = body.get("container") or {}
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
        user, trigger = body["user"]["id"], body["trigger_id"]

        def open_form() -> None:
            # The pool starts this at once: views.open must come within 3 s of the click. The
            # button's value is only a wish: the clicker is checked as if they had typed it.
            caller = runner.with_role(Caller(user, channel, team_of(body)))
            form = credentials.form(caller, value.get("key") or None, value.get("kind") or None)
            view = modals.credentials_view(form, forms.sealer(user, channel))
            client.views_open(trigger_id=trigger, view=view)

        runner.later("credentials form button", respond, open_form)

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
