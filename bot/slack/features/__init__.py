"""One module per feature, each registering its own listeners on the Bolt app with the
services it needs. Message events have one listener (Bolt runs one per event): it offers each
message to the features that read messages, in turn."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.slack.features import (
    card,
    close,
    commands,
    credentials,
    details,
    home,
    mentions,
    recipients,
    reminders,
    rfi,
    welcome,
)
from bot.slack.modal_first import ModalOpener
from bot.slack.runner import Runner
from bot.slack.submissions import Submissions
from bot.slack.view_seal import ViewSeal
from bot.wiring import Core
from commands.checks.details import CheckDetailsService


def register_all(
    app: App, core: Core, runner: Runner, seal: ViewSeal, engineers_channel: str | None
) -> None:
    services = core.services
    forms = Submissions(seal, runner)
    opener = ModalOpener(runner)  # modals from buttons open before any slow work
    commands.register(app, core.router, services, runner, seal, engineers_channel)
    mentions.register(app, core.router, services, runner, engineers_channel)
    rfi.register(app, services.rfi, runner, forms, opener)
    credentials.register(app, services.credentials, runner, forms, opener)
    card.register(app, core.router, services, runner, engineers_channel)
    recipients.register(app, services.importer, runner)
    reminders.register(app, services.reminders, runner)
    welcome.register(app, services, runner)
    details.register(app, CheckDetailsService(services.checks.db), runner)
    close.register(app, core.router, services, runner)
    home.register(app, core.router, services, runner, core.work)

    @app.event("message")
    def on_message(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        bot_user = context.bot_user_id
        if recipients.on_message(core, runner, event, client, bot_user):
            return
        rfi.on_message(services.rfi, runner, event, client, bot_user)
