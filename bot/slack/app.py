"""The Bolt app: configured from the settings, its token checked, who installed it learnt, and
every feature's listeners registered on it."""

from __future__ import annotations

from dataclasses import dataclass

from slack_bolt import App
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot import logs
from bot.settings import Settings, SettingsError
from bot.slack.features import channel_events, register_all
from bot.slack.identity import Home, Identity
from bot.slack.runner import Runner
from bot.slack.view_seal import ViewSeal
from bot.wiring import Core
from commands.channel_state import ChannelEvents


@dataclass(frozen=True)
class SlackApp:
    app: App
    identity: Identity  # engineers or customer contacts, from users.info


def build_app(settings: Settings) -> SlackApp:
    app = App(
        # Given as token, not as a ready client: Bolt would read SLACK_BOT_TOKEN itself anyway
        # and warn that a client overrides it; its client is configured below instead.
        token=settings.slack_bot_token,
        signing_secret=settings.slack_signing_secret or "",
        # Listeners ack synchronously and hand the rest to the work pool, so Slack has its HTTP
        # 200 at once (it waits 3 s at most). Bolt's own alternatives cost more on the ack path:
        # it polls for the ack every 10 ms, and lazy listeners deep-copy the request.
        process_before_response=True,
        token_verification_enabled=False,  # auth.test runs below, with a clear error
    )
    # Bolt copies these into the client it makes for each request.
    app.client.base_url = settings.slack_api_url
    app.client.timeout = 10
    app.client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    try:
        installed = app.client.auth_test()
    except SlackApiError as exc:
        raise SettingsError(
            f"SLACK_BOT_TOKEN was refused by Slack ({exc.response.get('error')})."
        ) from None
    app.use(logs.bolt_middleware)  # a request id for Socket Mode requests too
    # Who installed the app decides who is an engineer (same team, or same Grid enterprise).
    identity = Identity(app.client, Home.from_auth_test(installed), settings.connect_engineers)
    return SlackApp(app, identity)


def register(slack: SlackApp, core: Core, settings: Settings) -> App:
    """Every feature's listeners, with the services they need; returns the app."""
    runner = Runner(core.work, slack.identity)
    register_all(
        slack.app,
        core,
        runner,
        # The app's own secret when there is one, else the bot token: stable across restarts
        # and replicas, and not the signing secret, so a leaked one cannot forge a form too.
        ViewSeal(settings.connect_secret_key or settings.slack_bot_token),
        settings.connect_engineers_channel,
    )
    channel_events.register(slack.app, ChannelEvents(core.db), runner)
    return slack.app
