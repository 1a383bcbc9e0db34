"""Recipient lists in Slack: files shared in an RFI thread are imported (on their own pool),
and the Import / Discard buttons under a staged list finish or drop it."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.flows import finish_import, import_upload
from bot.render.buttons import ImportAction, value_of
from bot.slack import files
from bot.slack.delivery import SlackSurface
from bot.slack.payloads import file_upload, team_of
from bot.slack.runner import Runner
from bot.wiring import Core
from commands.core.context import Caller
from commands.recipients.importer import RecipientImporter


def on_message(
    core: Core,
    runner: Runner,
    event: dict[str, Any],
    client: WebClient,
    bot_user: str | None,
) -> bool:
    """Files shared as a reply in a thread: handled (True), or not an upload."""
    upload = file_upload(event, bot_user)
    if upload is None:
        return False
    surface = SlackSurface(client)
    runner.later(
        "file upload",
        None,
        lambda: import_upload(
            core.services.importer,
            core.imports,
            surface,
            upload,
            lambda f: files.fetch(client, f),
            core.import_processes.run,
        ),
    )
    return True


def register(app: App, importer: RecipientImporter, runner: Runner) -> None:
    @app.action(re.compile(f"^({ImportAction.VALID}|{ImportAction.DISCARD})$"))
    def on_import_button(
        ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        action = body["actions"][0]
        value = value_of(action)
        batch, key = str(value.get("batch", "")), str(value.get("key", ""))
        channel = (body.get("channel") or {}).get("id")
        ts = (body.get("message") or {}).get("ts")
        if not (batch.isdigit() and key and channel and ts):
            return
        caller = Caller(user_id=body["user"]["id"], channel_id=channel, team_id=team_of(body))
        surface = SlackSurface(client, respond)
        runner.later(
            "recipient import button",
            respond,
            lambda: finish_import(
                importer,
                surface,
                runner.with_role(caller),
                (channel, ts),
                key,
                int(batch),
                confirm=action.get("action_id") == ImportAction.VALID,
            ),
        )
