"""`close` asks before it closes and says how to see closed onboardings; `list` says when only
closed ones exist (issue 14, section 4). Rendered as the person reads it."""

from __future__ import annotations

from dataclasses import replace

from sqlmodel import select

from bot.render.mrkdwn import to_plain
from bot.render.renderer import render
from commands.core.context import Caller, Door
from commands.core.roles import Role
from commands.replies import Closed, Listing
from commands.router import Router
from commands.services import Services
from store.db import Database
from store.models import AuditEvent, Onboarding

ENGINEER = Caller(user_id="U0ENG", channel_id="C0ACME", team_id="T0TEST", role=Role.ENGINEER)
CONTACT = Caller(user_id="U0CUST", channel_id="C0ACME", team_id="T0ACME", door=Door.MENTION)


def plain(result: object) -> str:
    return to_plain(render(result).text)  # type: ignore[arg-type]


def test_close_without_yes_asks_and_changes_nothing(database: Database) -> None:
    router = Router(Services.build(database))
    router.handle_text(ENGINEER, "open acme --service both")
    with database.session() as session:
        events = len(session.exec(select(AuditEvent)).all())

    asked = router.handle_text(ENGINEER, "close acme")

    assert isinstance(asked, Closed)
    assert asked.asked
    message = render(asked)
    assert not message.public  # the question is the engineer's alone
    text = to_plain(message.text)
    assert "Close acme (acme)? 0/6 steps are done, so 6 never will be." in text
    assert "/connect list --all` lists closed onboardings" in text
    assert "`/connect close acme --yes`" in text
    with database.session() as session:
        assert session.exec(select(Onboarding)).one().closed_at is None
        assert len(session.exec(select(AuditEvent)).all()) == events


def test_close_with_yes_closes_and_says_how_to_see_it_again(database: Database) -> None:
    router = Router(Services.build(database))
    router.handle_text(ENGINEER, "open acme --service both")
    by_mention = replace(ENGINEER, door=Door.MENTION)
    closed = router.handle_text(by_mention, "close acme --yes")
    assert isinstance(closed, Closed)
    assert not closed.asked
    text = plain(closed)
    assert "`@connect status acme` still shows it" in text
    assert "`@connect list --all` lists closed onboardings" in text


def test_list_says_when_only_closed_onboardings_exist(database: Database) -> None:
    router = Router(Services.build(database))
    assert "No onboardings yet." in plain(router.handle_text(ENGINEER, "list"))
    router.handle_text(ENGINEER, "open acme --service both")
    router.handle_text(ENGINEER, "close acme --yes")

    listing = router.handle_text(ENGINEER, "list")

    assert isinstance(listing, Listing)
    assert listing.items == ()
    text = plain(listing)
    assert "No onboardings yet" not in text
    assert "No open onboardings; 1 closed one is kept: `/connect list --all` shows it." in text
    assert "acme" in plain(router.handle_text(ENGINEER, "list --all"))


def test_a_customer_contact_is_shown_the_mention_form_in_the_listing(database: Database) -> None:
    router = Router(Services.build(database))
    router.handle_text(ENGINEER, "open acme --service both")
    router.handle_text(ENGINEER, "close acme --yes")
    text = plain(router.handle_text(CONTACT, "list"))
    assert "/connect" not in text
