"""Rendering: Block Kit shape and limits, escaping of everything a person typed, plain text."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.render import mrkdwn
from bot.render.renderer import HEADER_TEXT_LIMIT, SECTION_TEXT_LIMIT, render
from commands.core.context import Caller
from commands.core.process import Service
from commands.core.roles import Role
from commands.core.text import Code, Text, UserRef, When
from commands.replies import Help, Listing, ListItem, Refusal
from commands.router import Router
from commands.services import Services
from commands.verbs import VERBS
from store.db import Database

HOSTILE = "Evil <!channel> <@U0BOSS> <#C0GENERAL> <https://evil.example|click> & co"
AT = datetime(2026, 11, 28, 10, 42, tzinfo=UTC)


def mrkdwn_texts(blocks: list[dict]) -> list[str]:
    """Every string Slack parses as mrkdwn in these blocks."""
    found: list[str] = []
    for block in blocks:
        if block.get("text", {}).get("type") == "mrkdwn":
            found.append(block["text"]["text"])
        found += [e["text"] for e in block.get("elements", []) if e.get("type") == "mrkdwn"]
    return found


def assert_inert(text: str) -> None:
    for sequence in ("<!channel>", "<@U0BOSS>", "<#C0GENERAL>", "<https://evil"):
        assert sequence not in text


@pytest.fixture
def router(tmp_path) -> Router:
    db = Database(f"sqlite:///{tmp_path / 'r.db'}")
    db.upgrade()
    return Router(Services.build(db))


def test_status_blocks_escape_the_name_everywhere_slack_parses_mrkdwn(router: Router) -> None:
    caller = Caller("U0ENG", "C0ACME", role=Role.ENGINEER)
    router.handle_text(caller, f'open acme --service both --name "{HOSTILE}"')
    message = render(router.handle_text(caller, "status acme"))
    blocks = message.blocks_json()
    assert blocks[0]["type"] == "header"
    assert blocks[0]["text"]["type"] == "plain_text"  # never parsed: shown literally
    assert blocks[0]["text"]["text"].startswith("Evil <!channel>")
    assert_inert(message.text)
    for text in mrkdwn_texts(blocks):
        assert_inert(text)
    assert "&lt;!channel&gt;" in message.text
    assert "<@U0ENG>" in message.text  # our own mention of the opener is real


def test_plan_marks_what_applies_in_the_seeds_order(router: Router) -> None:
    message = render(
        router.handle_text(
            Caller("U0ENG", "C1", role=Role.ENGINEER), "open acme --service archiving"
        )
    )
    lines = [line for line in message.text.splitlines() if line[:2] in {f"{n}." for n in range(7)}]
    assert [line.split(maxsplit=1)[1].split(":")[0].strip("*~ ") for line in lines] == [
        "Request for information",
        "Outbound~ not needed for Archiving",
        "Recipient validation",
        "Journaling",
        "Inbound~ not needed for Archiving",
        "Firewall lockdown~ not needed for Archiving",
    ]
    assert "3 of the 6 Connect steps apply" in message.text


def test_refusal_values_are_escaped_and_usage_shown() -> None:
    message = render(
        Refusal(Text("{value} is not a service.", value="<!here> gold"), usage=VERBS["open"])
    )
    assert "&lt;!here&gt; gold is not a service." in message.text
    assert "Usage: `/connect open <customer>" not in message.text  # usage is escaped too
    assert "Usage: `/connect open &lt;customer&gt;" in message.text
    assert not message.public


def test_typed_values_render_as_slack_markup() -> None:
    text = Text(
        "{who} at {when} typed {code} for {n} rows",
        who=UserRef("U0ENG"),
        when=When(AT),
        code=Code("a`b<c>"),
        n=12345,
    )
    rendered = mrkdwn.text(text)
    assert rendered.startswith("<@U0ENG> at <!date^1795862520^")
    assert "|28 Nov 2026 10:42 UTC>" in rendered
    assert "`a\u02cbb&lt;c&gt;`" in rendered  # a look-alike: a backtick would end the code span
    assert "12,345 rows" in rendered
    plain = mrkdwn.to_plain(rendered)
    assert plain == "@U0ENG at 28 Nov 2026 10:42 UTC typed `a`b<c>` for 12,345 rows"


def test_a_malformed_user_id_is_not_turned_into_a_mention() -> None:
    assert mrkdwn.user("U0ENG>|<!channel") == "U0ENG&gt;|&lt;!channel"


def test_long_listings_are_split_into_sections_within_slacks_limits() -> None:
    items = tuple(
        ListItem(f"customer-{n:03}", "N" * 90, Service.BOTH, "eu", AT, None, n % 7, 6)
        for n in range(40)
    )
    message = render(Listing(items=items, total=10_000, closed_hidden=3))
    blocks = message.blocks_json()
    sections = [b for b in blocks if b["type"] == "section"]
    assert len(sections) > 1
    assert all(len(b["text"]["text"]) <= SECTION_TEXT_LIMIT for b in sections)
    assert len(blocks) <= 50
    assert "… and 9,960 more" in message.text
    assert "3 closed not shown" in message.text


def test_header_is_cut_to_slacks_limit(router: Router) -> None:
    caller = Caller("U0ENG", "C0ACME", role=Role.ENGINEER)
    router.handle_text(caller, "open acme --service both --name " + "&" * 100)
    header = render(router.handle_text(caller, "status")).blocks_json()[0]["text"]["text"]
    assert len(header) <= HEADER_TEXT_LIMIT
    assert header.startswith("&&&")  # plain text: shown as typed, not as &amp;


def test_help_lists_every_verb_with_an_example() -> None:
    message = render(Help(tuple(VERBS.values()), single=False))
    for verb in VERBS.values():
        assert f"`/connect {verb.examples[0]}`" in message.text.replace("&lt;", "<").replace(
            "&gt;", ">"
        )
