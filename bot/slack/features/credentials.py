"""The credentials form's submission: every field checked, the password sealed and stored, or
field errors and nothing stored. (`/connect credentials` opens the form: features/commands.)"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import logs
from bot.render import modals
from bot.render.renderer import render
from bot.slack.delivery import SlackSurface
from bot.slack.runner import Runner
from bot.slack.submissions import Submissions
from commands.credentials import CredentialErrors, CredentialService


def register(app: App, credentials: CredentialService, runner: Runner, forms: Submissions) -> None:
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
