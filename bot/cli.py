"""`connect-bot`: run (Socket Mode), serve (HTTP), worker (reminders), shell (no Slack), db
upgrade, import."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from bot import logs
from bot.settings import Settings, SettingsError, load_settings, require
from store.db import DatabaseUnavailable

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.shell import ShellReminders
    from bot.slack.dispatcher import Dispatcher
    from bot.slack.watcher import Watcher
    from bot.wiring import Core


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="connect-bot", description="Run the Connect onboarding in Slack."
    )
    parser.add_argument(
        "--log-level",
        default=None,
        help="debug, info, warning, error (default: CONNECT_LOG_LEVEL, else info)",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="COMMAND")
    verbs.add_parser("run", help="Socket Mode (needs SLACK_APP_TOKEN and SLACK_BOT_TOKEN)")
    serve = verbs.add_parser("serve", help="HTTP mode: POST /slack/events, GET /healthz")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=3000)
    serve.add_argument("--threads", type=int, default=8, help="HTTP worker threads")
    verbs.add_parser(
        "worker", help="deliver due reminders only (as many as you like, on one database)"
    )
    shell = verbs.add_parser("shell", help="talk to the bot in this terminal, with no Slack")
    shell.add_argument("--user", default="U0LOCAL", help="the user id you speak as")
    shell.add_argument("--channel", default="C0LOCAL", help="the channel id you speak in")
    shell.add_argument("--team", default="T0LOCAL", help="the team (workspace) id")
    db = verbs.add_parser("db", help="database maintenance")
    db_verbs = db.add_subparsers(dest="db_verb", required=True, metavar="ACTION")
    db_verbs.add_parser("upgrade", help="apply the schema migrations")
    from bot import cli_dns

    cli_dns.add_parsers(verbs)  # check, spf
    from bot import cli_import

    cli_import.add_parsers(verbs)  # import
    from bot import cli_report

    cli_report.add_parsers(verbs)  # report
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.log_level and args.log_level.lower() not in logs.LEVELS:
        print(f"connect-bot: --log-level must be one of {', '.join(logs.LEVELS)}", file=sys.stderr)
        return 2
    try:
        settings = load_settings()
        logs.configure(
            settings.connect_log_format, (args.log_level or settings.connect_log_level).lower()
        )
        return _run(args, settings)
    except SettingsError as exc:
        print(f"connect-bot: {exc}", file=sys.stderr)
        return 2
    except DatabaseUnavailable as exc:  # the first use of DATABASE_URL, by any command
        print(f"connect-bot: DATABASE_URL: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.verb in ("check", "spf"):  # DNS only: no Slack, no database
        from bot import cli_dns

        return cli_dns.run(args, settings)
    if args.verb == "import":  # the database only: no Slack
        from bot import cli_import

        return cli_import.run(args, settings)
    if args.verb == "report":  # the database only: no Slack
        return _report(args, settings)
    # Imported here so that `--help` and setting errors answer without loading Slack or SQL.
    from bot.wiring import build_core

    if args.verb == "run":
        require(settings, "SLACK_APP_TOKEN", "SLACK_BOT_TOKEN")
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        from bot.slack.app import build_app, register
        from bot.slack.runner import closed_first

        slack = build_app(settings)
        core = build_core(settings, role_of=slack.identity.role)
        app = register(slack, core, settings)
        app_token = settings.slack_app_token
        assert app_token is not None  # require() above stops start-up without it
        handler = SocketModeHandler(app, app_token)
        # Ask for the WebSocket URL here, so that a refused app token stops start-up with one
        # line (as build_app does for the bot token) instead of a traceback.
        handler.client.wss_uri = _socket_mode_url(app.client, app_token)
        # Exits in reverse: the socket closes first, then the acked work drains.
        with _drained(core, *_background(settings, core, app.client)), closed_first(handler):
            handler.start()
        return 0
    if args.verb == "serve":
        require(settings, "SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN")
        from bot.slack.app import build_app, register
        from bot.slack.http import serve

        slack = build_app(settings)
        core = build_core(settings, role_of=slack.identity.role)
        app = register(slack, core, settings)
        with _drained(core, *_background(settings, core, app.client)):
            serve(
                app,
                core.db,
                signing_secret=settings.slack_signing_secret or "",
                host=args.host,
                port=args.port,
                threads=args.threads,
            )
        return 0
    if args.verb == "worker":
        return _worker(settings)
    if args.verb == "shell":
        return _shell(args, settings)
    if args.verb == "db":
        core = build_core(settings)  # build_core applies the migrations
        print(f"database at head: {core.db.engine.url.render_as_string(hide_password=True)}")
        return 0
    raise AssertionError(args.verb)


def _shell(args: argparse.Namespace, settings: Settings) -> int:
    from bot.shell import run_shell
    from bot.wiring import build_core
    from commands.core.context import Caller
    from commands.core.roles import Role

    # Whoever runs the shell has the machine, and so the database: an engineer.
    caller = Caller(
        user_id=args.user, channel_id=args.channel, team_id=args.team, role=Role.ENGINEER
    )
    engineers = set(settings.connect_engineers) | {args.user}
    core = build_core(
        settings,
        role_of=lambda user_id: Role.ENGINEER if user_id in engineers else Role.CUSTOMER,
    )
    run_shell(
        core.router,
        core.services,
        caller,
        sys.stdin,
        sys.stdout,
        interactive=sys.stdin.isatty(),
        due=_shell_reminders(settings, core),
    )
    return 0


def _report(args: argparse.Namespace, settings: Settings) -> int:
    from bot import cli_report

    return cli_report.run(args, settings)


def _shell_reminders(settings: Settings, core: Core) -> ShellReminders | None:
    """The shell delivers reminders itself only where it is the one door: a local SQLite file
    and no Slack bot configured. A database a Slack bot may share keeps them for the bot,
    which posts them in their channels, and so does CONNECT_REMINDER_DISPATCH=false."""
    if not (settings.connect_reminder_dispatch and core.db.is_sqlite):
        return None
    if settings.slack_bot_token:
        return None
    from datetime import timedelta

    from bot.shell import ShellReminders

    return ShellReminders(
        core.db,
        poll_seconds=settings.connect_reminder_poll_seconds,
        lease=timedelta(seconds=settings.connect_reminder_lease_seconds),
    )


def _socket_mode_url(client: WebClient, app_token: str) -> str:
    """apps.connections.open with the app-level token: the URL the Socket Mode client opens."""
    from slack_sdk.errors import SlackApiError

    try:
        return str(client.apps_connections_open(app_token=app_token)["url"])
    except SlackApiError as exc:
        raise SettingsError(
            f"SLACK_APP_TOKEN was refused by Slack ({exc.response.get('error')})."
        ) from None


def _dispatcher(settings: Settings, core: Core, client: WebClient) -> Dispatcher | None:
    """The reminder dispatcher that runs inside `run` and `serve`, unless switched off."""
    if not settings.connect_reminder_dispatch:
        return None
    from bot.slack.dispatcher import DispatchConfig, Dispatcher

    return Dispatcher(core.db, client, DispatchConfig.from_settings(settings))


def _worker(settings: Settings) -> int:
    """`connect-bot worker`: the dispatcher alone, until SIGTERM or Ctrl-C."""
    require(settings, "SLACK_BOT_TOKEN")
    import threading

    from slack_sdk.errors import SlackApiError

    from bot.slack.dispatcher import DispatchConfig, Dispatcher, web_client
    from store.db import Database

    client = web_client(settings)
    try:
        client.auth_test()
    except SlackApiError as exc:
        raise SettingsError(
            f"SLACK_BOT_TOKEN was refused by Slack ({exc.response.get('error')})."
        ) from None
    db = Database(settings.database_url)
    db.upgrade()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    dispatcher = Dispatcher(db, client, DispatchConfig.from_settings(settings)).start()
    try:
        while not stop.wait(1.0):  # a timed wait, so the signal handlers get to run
            pass
    finally:
        logging.getLogger(__name__).info("stopping: finishing the reminders being posted")
        dispatcher.stop()
        db.dispose()
    return 0


def _background(
    settings: Settings, core: Core, client: WebClient
) -> tuple[Dispatcher | None, Watcher | None]:
    """What runs beside the requests: the reminder dispatcher and the DNS watcher."""
    from bot.slack.watcher import build_watcher

    return _dispatcher(settings, core, client), build_watcher(settings, core, client)


@contextmanager
def _drained(core: Core, *background: Dispatcher | Watcher | None) -> Iterator[None]:
    """On SIGTERM or Ctrl-C, stop taking requests but finish the work already acked."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    running = [item for item in background if item is not None]
    for item in running:
        item.start()
    try:
        yield
    finally:
        logging.getLogger(__name__).info("stopping: finishing the work already acknowledged")
        for item in reversed(running):
            item.stop()
        core.shutdown()


if __name__ == "__main__":
    sys.exit(main())
