"""Build the Bolt app and everything behind it from the settings."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from slack_bolt import App
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot import listeners, logs
from bot.identity import Home, Identity
from bot.settings import Settings, SettingsError
from bot.view_seal import ViewSeal
from commands.checking import CheckService
from commands.credentials import CredentialService
from commands.dns import DnsResolver
from commands.profiles import ProfileError, load_profile
from commands.recipients.sync import RecipientSync
from commands.reminders.rules import ReminderDelays
from commands.router import Router
from commands.secrets import SecretBox
from store.db import Database

log = logging.getLogger(__name__)


@dataclass
class Core:
    """What every runner shares: the migrated database and the command router."""

    db: Database
    router: Router
    work: ThreadPoolExecutor


def build_core(settings: Settings) -> Core:
    try:
        profile = load_profile(settings.connect_gateway_profile)
    except ProfileError as exc:
        raise SettingsError(f"CONNECT_GATEWAY_PROFILE: {exc}") from None
    db = Database(settings.database_url)
    db.upgrade()

    def resolver() -> DnsResolver:
        return DnsResolver(
            settings.connect_dns_nameservers, direct_port=settings.connect_dns_direct_port
        )

    private = settings.connect_allow_private_targets
    credentials = CredentialService(
        db, SecretBox(settings.connect_secret_key), allow_private=private
    )
    delays = ReminderDelays(
        outbound_period_days=settings.connect_outbound_period_days,
        old_mx_after_days=settings.connect_old_mx_after_days,
        rfi_nudge_working_days=settings.connect_rfi_nudge_working_days,
    )
    router = Router(
        db,
        allow_private_targets=private,
        checks=CheckService(
            db, profile, resolver, credentials=credentials, allow_private=private, delays=delays
        ),
        regions={key: region.name for key, region in profile.regions.items()},
        credentials=credentials,
        sync=RecipientSync(db, credentials, resolver, allow_private=private),
        delays=delays,
    )
    return Core(db=db, router=router, work=ThreadPoolExecutor(8, thread_name_prefix="work"))


def build_app(settings: Settings, core: Core) -> App:
    app = App(
        # Given as token, not as a ready client: Bolt would read SLACK_BOT_TOKEN itself anyway
        # and warn that a client overrides it; its client is configured below instead.
        token=settings.slack_bot_token,
        signing_secret=settings.slack_signing_secret or "",
        # Listeners ack synchronously and hand the rest to core.work, so Slack has its HTTP 200
        # at once (it waits 3 s at most). Bolt's own alternatives cost more on the ack path: it
        # polls for the ack every 10 ms, and lazy listeners deep-copy the request.
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
    core.router.members.role_of = identity.role  # an invitee's role, from users.info
    listeners.register(
        app,
        core.router,
        core.work,
        identity=identity,
        engineers_channel=settings.connect_engineers_channel,
        # The app's own secret when there is one, else the bot token: stable across restarts
        # and replicas, and not the signing secret, so a leaked one cannot forge a form too.
        seal=ViewSeal(settings.connect_secret_key or settings.slack_bot_token),
    )
    return app
