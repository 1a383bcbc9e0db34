"""The card and a status read alike: the same progress bar and step lines (one shared module);
the card escapes what people typed, keeps within Slack's limits, and its controls carry the
verbs they run."""

from __future__ import annotations

import json

from bot.render import limits
from bot.render.renderer import render
from commands.core.context import Caller
from commands.core.roles import Role
from commands.onboarding.card import Cards
from commands.replies import Status
from commands.router import Router
from commands.services import Services
from store.db import Database

HOSTILE = "Evil <!channel> <@U0BOSS> & co"
ENGINEER = Caller("U0ENG", "C0ACME", role=Role.ENGINEER)


def setup(tmp_path: object) -> tuple[Router, Cards]:
    db = Database(f"sqlite:///{tmp_path}/card.db")
    db.upgrade()
    services = Services.build(db)
    return Router(services), services.onboardings.cards


def test_the_card_and_status_share_the_bar_and_the_step_lines(tmp_path: object) -> None:
    router, cards = setup(tmp_path)
    router.handle_text(ENGINEER, "open acme --service security --region eu")
    router.handle_text(ENGINEER, "done acme rfi")
    card = cards.by_key("acme")
    assert card is not None
    status = router.handle_text(ENGINEER, "status acme")
    assert isinstance(status, Status)

    card_lines = render(card).text.splitlines()
    status_lines = render(status).text.splitlines()
    assert "▰▱▱▱▱ 1/5 steps done" in card_lines
    assert "▰▱▱▱▱ 1/5 steps done" in status_lines
    steps = [line for line in status_lines if " · " in line and line[:1] in "✅🔄⬜"]
    assert len(steps) == 5  # the applicable ones; journaling is not bought here
    for line in steps:
        assert line in card_lines  # word for word the same
    assert "Journaling" not in render(card).text  # the card shows the applicable steps only


def test_the_card_escapes_the_name_and_stays_within_limits(tmp_path: object) -> None:
    router, cards = setup(tmp_path)
    router.handle_text(ENGINEER, f'open acme --service both --name "{HOSTILE}"')
    card = cards.by_key("acme")
    assert card is not None
    message = render(card)
    assert "<!channel>" not in message.text
    assert "&lt;!channel&gt;" in message.text
    for block in message.blocks_json()[1:]:  # the header is plain text: shown, never parsed
        assert "<!channel>" not in json.dumps(block)
    assert limits.message_problems(message.blocks_json(), message.text) == []


def test_the_controls_carry_the_verb_and_a_closed_card_has_none(tmp_path: object) -> None:
    router, cards = setup(tmp_path)
    router.handle_text(ENGINEER, "open acme --service archiving")
    card = cards.by_key("acme")
    assert card is not None
    (actions,) = [b for b in render(card).blocks_json() if b["type"] == "actions"]
    select = actions["elements"][0]
    assert [json.loads(o["value"]) for o in select["options"]] == [
        {"key": "acme", "verb": "check", "args": "recipients"},
        {"key": "acme", "verb": "check", "args": "journaling"},
        {"key": "acme", "verb": "check", "args": "all"},
    ]
    ids = [e["action_id"] for e in actions["elements"]]
    assert len(ids) == len(set(ids))  # Slack refuses a message whose action ids repeat

    router.handle_text(ENGINEER, "close acme --yes")
    closed = cards.by_key("acme")
    assert closed is not None
    blocks = render(closed).blocks_json()
    assert not [b for b in blocks if b["type"] == "actions"]
    assert "Closed: nothing more to do." in render(closed).text
