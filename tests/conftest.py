"""Shared fixtures: the Slack Web API stand-in and the real `connect-bot serve` process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine
from support.bot_process import TEST_SIGNING_SECRET, BotProcess, start_bot_process
from support.slack_standin import SlackStandIn

# How much of a bot's log a failed test shows (the end is where the trouble is).
LOG_SHOWN_CHARS = 30_000


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStandIn]:
    """A stand-in shared by a test module, for its shared bot (see `bot`)."""
    with SlackStandIn() as standin:
        yield standin


@pytest.fixture(scope="module")
def bot_env() -> dict[str, str]:
    """Extra environment for a module's shared bot; a module overrides this fixture."""
    return {}


@pytest.fixture(scope="module")
def bot(
    slack: SlackStandIn, bot_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BotProcess]:
    """One `connect-bot serve` per test module; tests keep apart by their own keys and channels."""
    process = start_bot_process(
        api_url=slack.api_url,
        workdir=tmp_path_factory.mktemp("bot"),
        response_url=slack.response_url,
        standin=slack,
        env=bot_env,
    )
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def db(bot: BotProcess) -> Iterator[Engine]:
    """Read-only view of the module bot's database (tests never write to it)."""
    engine = create_engine(bot.database_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    """A Slack Web API + response_url stand-in on 127.0.0.1, started and stopped per test."""
    with SlackStandIn() as slack:
        yield slack


class BotFactory:
    """Starts `connect-bot serve` processes for one test and stops them all afterwards."""

    def __init__(self, standin: SlackStandIn, tmp_path: Path) -> None:
        self.standin = standin
        self.tmp_path = tmp_path
        self.processes: list[BotProcess] = []

    def __call__(
        self,
        *,
        database_url: str | None = None,
        secret: str = TEST_SIGNING_SECRET,
        extra_args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> BotProcess:
        index = len(self.processes)
        bot = start_bot_process(
            api_url=self.standin.api_url,
            workdir=self.tmp_path / f"bot{index}",
            database_url=database_url,
            secret=secret,
            response_url=self.standin.response_url,
            standin=self.standin,
            extra_args=extra_args,
            env=env,
        )
        self.processes.append(bot)
        return bot

    def stop_all(self) -> None:
        for bot in reversed(self.processes):
            bot.stop()


@pytest.fixture
def serve_bot(standin: SlackStandIn, tmp_path: Path) -> Iterator[Callable[..., BotProcess]]:
    """Factory: ``bot = serve_bot()`` runs `connect-bot serve` against ``standin``.

    Each bot has its own free port, a SQLite file in tmp_path (or ``database_url=``), and a log
    file that is shown with the report when the test fails. ``bot.send("status acme",
    channel_id=...)`` posts a signed slash command and returns ``(status, headers, body)`` with
    ``.response_name`` for the stand-in's response_url calls.
    """
    factory = BotFactory(standin, tmp_path)
    try:
        yield factory
    finally:
        factory.stop_all()


def _bots_of(item: pytest.Item) -> list[BotProcess]:
    """Every bot process a test uses, whatever fixture (any scope) started it."""
    found: list[BotProcess] = []
    for value in getattr(item, "funcargs", {}).values():
        if isinstance(value, BotProcess):
            found.append(value)
        elif isinstance(value, BotFactory):
            found.extend(value.processes)
    return found


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    # A failing end-to-end test is hard to read without the bot's side of the story: add each
    # bot's log to the failure report (the stop in teardown would come too late to show it).
    report = yield
    if report.failed and report.when in ("setup", "call"):
        for bot in _bots_of(item):
            report.sections.append(
                (f"connect-bot log (pid {bot.pid}, {bot.log_path})", bot.log_text(LOG_SHOWN_CHARS))
            )
    return report
