"""The app's Home tab: `app_home_opened` publishes the overview (`views.publish`), its filter
and page buttons publish it again, its *Run checks* button runs the `check` verb through the
router under the clicker's role (the report goes to the onboarding's channel, as for
`/connect check`; a refusal to the clicker's DM with the app, since Home has no channel), and
a committed change to an onboarding republishes it for the engineers who have it open.

Publishing is bounded per person across processes: HomeService.claim takes the right in the
database, at most once every few seconds; a change inside that time is published once when it
ends (one timer per person in this process), with whatever is current then.
"""

from __future__ import annotations

import logging
import re
import threading
from concurrent.futures import Executor
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.flows import run_command
from bot.render.buttons import value_of
from bot.render.home import HomeAction, home_view
from bot.render.renderer import Message
from bot.slack.delivery import SlackSurface
from bot.slack.payloads import team_of
from bot.slack.runner import Runner
from commands.core import changes
from commands.core.context import Caller
from commands.core.process import STEP_ALIASES
from commands.grammar import Command
from commands.home.service import Home, HomeFilters, HomeService, Scope
from commands.router import Router
from commands.services import Services
from store.models import utcnow

log = logging.getLogger(__name__)

FILTERS = re.compile(rf"^({HomeAction.SCOPE}|{HomeAction.CLOSED}|{HomeAction.PAGE}):")
_KEY = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
MAX_RETRIES = 3  # a deferred publish that loses its claim to another process tries again


class HomeSurface(SlackSurface):
    """Where a Home button's answers go: the channel for what is public, and the person's DM
    with the app for what only they should see (Home has no channel and no response_url)."""

    def __init__(self, client: WebClient, user_id: str) -> None:
        super().__init__(client)
        self.user_id = user_id

    def tell(self, message: Message, *, public: bool = False) -> None:
        try:
            self.client.chat_postMessage(
                channel=self.user_id, text=message.text, blocks=message.blocks_json()
            )
        except SlackApiError as exc:
            log.warning("could not answer a Home button in the DM: %s", exc.response.get("error"))

    def __call__(self, message: Message) -> None:
        """The runner's way to answer (a refusal, a failure's reference)."""
        self.tell(message)


class HomePublisher:
    """Publishes people's Home views: at once when they open it or click a filter, and after a
    change to an onboarding for those who have it open, at most once per person per
    HomeService.every (the bound is claimed in the database, so it holds across processes)."""

    def __init__(self, home: HomeService, client: WebClient, work: Executor) -> None:
        self.home = home
        self.client = client
        self.work = work
        self._lock = threading.Lock()
        self._timers: dict[str, threading.Timer] = {}

    def opened(self, caller: Caller, filters: HomeFilters | None = None) -> Home:
        """On the pool, the caller's role resolved: show them Home now (they asked for it)."""
        shown = self.home.open(caller, filters)
        self.home.claim(caller.user_id)  # starts the bound: a change right after waits
        self._publish(caller.user_id, shown)
        return shown

    def onboarding_changed(self, onboarding_id: int) -> None:
        """An onboarding changed (called after the commit): republish for its viewers. Never
        raises and never waits on Slack: the work goes to the pool."""
        try:
            self.work.submit(self._republish_viewers, onboarding_id)
        except RuntimeError:  # the pool is shut down: this process is stopping
            log.info("home: onboarding %s changed while stopping; not republished", onboarding_id)

    def stop(self) -> None:
        with self._lock:
            timers, self._timers = list(self._timers.values()), {}
        for timer in timers:
            timer.cancel()

    def _republish_viewers(self, onboarding_id: int) -> None:
        try:
            for user_id in self.home.viewers_of(onboarding_id):
                self._republish(user_id, MAX_RETRIES)
        except Exception:
            log.exception(
                "home: republishing after a change to onboarding %s failed", onboarding_id
            )

    def _republish(self, user_id: str, retries: int) -> None:
        with self._lock:
            if user_id in self._timers:
                return  # a publish is already due for them: it will show this change too
        later = self.home.claim(user_id)
        if later is None:
            current = self.home.current(user_id)
            if current is not None:
                self._publish(user_id, current)
            return
        if retries > 0:
            self._defer(user_id, later, retries - 1)

    def _defer(self, user_id: str, at: datetime, retries: int) -> None:
        delay = max((at - utcnow()).total_seconds(), 0.0) + 0.05

        def fire() -> None:
            with self._lock:
                self._timers.pop(user_id, None)
            try:
                self._republish(user_id, retries)
            except Exception:
                log.exception("home: a deferred publish failed")

        timer = threading.Timer(delay, fire)
        timer.daemon = True
        with self._lock:
            if user_id in self._timers:
                return
            self._timers[user_id] = timer
        timer.start()

    def _publish(self, user_id: str, shown: Home) -> None:
        view = home_view(shown)
        try:
            self.client.views_publish(user_id=user_id, view=view)
        except SlackApiError as exc:
            log.warning("views.publish failed for a Home view: %s", exc.response.get("error"))
            return
        log.info("home published (%d blocks)", len(view.blocks or []))


def register(
    app: App, router: Router, services: Services, runner: Runner, work: Executor
) -> HomePublisher:
    home = HomeService(services.db)
    publisher = HomePublisher(home, app.client, work)
    # Every committed change (commands/core/changes.py) republishes, bounded, the Home of those
    # who have it open.
    changes.subscribe(publisher.onboarding_changed)

    @app.event("app_home_opened")
    def on_home_opened(event: dict[str, Any]) -> None:
        user = event.get("user")
        if event.get("tab") != "home" or not isinstance(user, str):
            return  # the Messages tab, or not a person
        caller = Caller(user)
        runner.later("home opened", None, lambda: publisher.opened(runner.with_role(caller)))

    @app.action(FILTERS)
    def on_filter(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        user = (body.get("user") or {}).get("id")
        action = (body.get("actions") or [{}])[0]
        if not isinstance(user, str):
            return
        caller = Caller(user, team_id=team_of(body))

        def job() -> Home:
            who = runner.with_role(caller)
            chosen = _chosen(home.filters_of(user), str(action.get("action_id")), action)
            return publisher.opened(who, chosen)

        runner.later("home filter", None, job)

    @app.action(HomeAction.CHECK)
    def on_check(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        user = (body.get("user") or {}).get("id")
        value = value_of((body.get("actions") or [{}])[0])
        key, step = value.get("key", ""), value.get("step", "")
        if not isinstance(user, str) or not _KEY.match(key) or step not in _STEPS:
            log.info("home check button with a value that is not ours; ignored")
            return
        caller = Caller(user, team_id=team_of(body))
        surface = HomeSurface(client, user)
        command = Command(verb="check", args=(key, step), flags={}, text=f"{key} {step}")

        def job() -> object:
            who = runner.with_role(caller)
            return run_command(router, services, surface, who, command)

        runner.later("home check", surface, job)

    @app.action(HomeAction.CHANNEL)
    def on_channel(ack: Ack) -> None:
        ack()  # a url button: Slack opens the channel itself

    return publisher


_STEPS = {*STEP_ALIASES, "all"}


def _chosen(current: HomeFilters, action_id: str, action: dict[str, Any]) -> HomeFilters:
    """The filters after a click: scope and open/closed start at page one; a page keeps them."""
    value = str(action.get("value") or "")
    if action_id.startswith(HomeAction.SCOPE):
        scope = Scope.ALL if value == Scope.ALL else Scope.MINE
        return HomeFilters(scope, current.closed, 0)
    if action_id.startswith(HomeAction.CLOSED):
        return HomeFilters(current.scope, value == "closed", 0)
    page = int(value) if value.isdigit() and len(value) < 6 else 0
    return HomeFilters(current.scope, current.closed, page)
