"""A verb is declared once: a throwaway verb added through the registry alone is parsed,
listed in help for those who may use it, refused for the wrong role, and run for the right one."""

from __future__ import annotations

import pytest

from bot.render.mrkdwn import to_plain
from bot.render.renderer import Renderable, render
from commands.core.context import Caller
from commands.core.roles import Role
from commands.core.text import Text
from commands.grammar import Command
from commands.registry import ENGINEERS, Call, Registry, Verb
from commands.replies import Help, Refusal
from commands.router import Router
from commands.services import Services
from commands.verbs import VERBS
from store.db import Database

ENGINEER = Caller("U0ENG", "C0ACME", "T0TEST", role=Role.ENGINEER)
CUSTOMER = Caller("U0CUST", "C0ACME", "T0CUST")


def with_ping(database: Database) -> tuple[Router, list[Call]]:
    calls: list[Call] = []

    def ping(call: Call) -> Refusal:
        calls.append(call)
        return Refusal(Text("pong {who}", who=",".join(call.command.args)))

    verb = Verb(
        name="ping",
        summary="Answer pong.",
        usage="ping <word> [--loud]",
        examples=("ping hello",),
        max_args=2,
        handler=ping,
        roles=ENGINEERS,
        flags={"loud": False},
    )
    return Router(Services.build(database), VERBS.with_verbs(verb)), calls


def plain(result: Renderable) -> str:
    return to_plain(render(result).text)


def test_a_throwaway_verb_is_parsed_listed_refused_and_run(database: Database) -> None:
    router, calls = with_ping(database)
    assert router.parse("ping a b --loud") == Command("ping", ("a", "b"), {"loud": True})
    too_many = router.parse("ping a b c")
    assert isinstance(too_many, Refusal)
    assert "does not take c" in plain(too_many)

    engineers_help = router.handle_text(ENGINEER, "help")
    customers_help = router.handle_text(CUSTOMER, "help")
    assert isinstance(engineers_help, Help)
    assert isinstance(customers_help, Help)
    assert "/connect ping <word> [--loud]" in plain(engineers_help)
    assert "ping" not in [v.name for v in customers_help.verbs]
    assert "Answer pong." in plain(router.handle_text(ENGINEER, "help ping"))

    refused = router.handle_text(CUSTOMER, "ping hello")
    assert "Only a Connect engineer can use" in plain(refused)
    assert calls == []  # refused before its handler ran

    answered = router.handle_text(ENGINEER, "ping hello there")
    assert "pong hello,there" in plain(answered)
    assert [c.caller.user_id for c in calls] == ["U0ENG"]


def test_the_registry_refuses_a_verb_declared_twice_and_leaves_the_product_alone(
    database: Database,
) -> None:
    with_ping(database)
    assert "ping" not in VERBS  # with_verbs made a copy
    with pytest.raises(ValueError, match="declared twice"):
        Registry([VERBS["status"], VERBS["status"]])
