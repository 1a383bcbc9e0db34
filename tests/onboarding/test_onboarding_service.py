"""The onboarding service on SQLite and PostgreSQL: what each verb stores, and what it refuses."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from bot.render.mrkdwn import door, to_plain
from bot.render.mrkdwn import text as render_text
from commands.core.context import Caller
from commands.core.process import Service, Step, StepState
from commands.core.roles import Role
from commands.onboarding.service import OnboardingService
from commands.replies import Closed, Listing, Opened, Refusal, Status, StepChanged
from commands.router import Router
from commands.services import Services
from store.db import Database
from store.models import AuditEvent, Onboarding, StepStatus

ENGINEER = Caller(user_id="U0ENG", channel_id="C0ACME", team_id="T0TEST", role=Role.ENGINEER)
ELSEWHERE = Caller(user_id="U0ENG", channel_id="C0OTHER", team_id="T0TEST", role=Role.ENGINEER)


def counts(db: Database) -> tuple[int, int, int]:
    with db.session() as session:
        return tuple(  # type: ignore[return-value]
            session.exec(select(func.count()).select_from(table)).one()
            for table in (Onboarding, StepStatus, AuditEvent)
        )


def refusal_text(result: object) -> str:
    """What the engineer reads: the answer to their slash command spells commands /connect."""
    assert isinstance(result, Refusal), result
    with door("/connect"):
        return to_plain(render_text(result.text))


def test_open_stores_the_onboarding_its_steps_and_an_audit_event(database: Database) -> None:
    router = Router(Services.build(database))
    result = router.handle_text(ENGINEER, 'open acme --service archiving --region EU --name "Acme"')
    assert isinstance(result, Opened)
    with database.session() as session:
        onboarding = session.exec(select(Onboarding).where(Onboarding.key == "acme")).one()
        steps = {
            row.step: row.state
            for row in session.exec(
                select(StepStatus).where(StepStatus.onboarding_id == onboarding.id)
            )
        }
        events = list(session.exec(select(AuditEvent)))
    assert (onboarding.service, onboarding.region, onboarding.name) == ("archiving", "eu", "Acme")
    assert onboarding.channel_id == "C0ACME"
    assert onboarding.opened_by == "U0ENG"
    assert onboarding.opened_at.tzinfo is not None  # UTC survives the round trip, SQLite too
    assert steps == {
        "rfi": "not_started",
        "outbound": "not_applicable",
        "recipients": "not_started",
        "journaling": "not_started",
        "inbound": "not_applicable",
        "firewall": "not_applicable",
    }
    assert [(e.action, e.actor) for e in events] == [("onboarding.opened", "U0ENG")]


def test_status_by_key_and_by_bound_channel(database: Database) -> None:
    router = Router(Services.build(database))
    router.handle_text(ENGINEER, "open acme --service both")
    by_key = router.handle_text(ELSEWHERE, "status acme")
    by_channel = router.handle_text(ENGINEER, "status")
    assert isinstance(by_key, Status)
    assert isinstance(by_channel, Status)
    assert by_key.onboarding.key == by_channel.onboarding.key == "acme"
    assert [s.step for s in by_key.onboarding.steps] == list(Step)
    assert "no onboarding" in refusal_text(router.handle_text(ELSEWHERE, "status"))


def test_done_and_reopen_record_who_and_when(database: Database) -> None:
    router = Router(Services.build(database))
    router.handle_text(ENGINEER, "open acme --service security")
    done = router.handle_text(Caller("U0JANE", "C0ACME", role=Role.ENGINEER), "done outbound")
    assert isinstance(done, StepChanged)
    assert done.previous is StepState.NOT_STARTED
    with database.session() as session:
        row = session.exec(select(StepStatus).where(StepStatus.step == "outbound")).one()
    assert (row.state, row.changed_by) == ("done", "U0JANE")

    reopened = router.handle_text(ENGINEER, "reopen acme outbound")
    assert isinstance(reopened, StepChanged)
    with database.session() as session:
        row = session.exec(select(StepStatus).where(StepStatus.step == "outbound")).one()
        actions = list(session.exec(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert (row.state, row.changed_by) == ("in_progress", "U0ENG")
    assert actions == ["onboarding.opened", "step.changed", "step.changed"]


def test_list_shows_progress_over_applicable_steps(database: Database) -> None:
    router = Router(Services.build(database))
    router.handle_text(ENGINEER, "open acme --service archiving")
    router.handle_text(ELSEWHERE, "open beta --service both")
    router.handle_text(ENGINEER, "done rfi")
    router.handle_text(ENGINEER, "done recipients")
    router.handle_text(ELSEWHERE, "close beta --yes")
    listing = router.handle_text(ENGINEER, "list")
    assert isinstance(listing, Listing)
    assert [(i.key, i.done, i.applicable) for i in listing.items] == [("acme", 2, 3)]
    assert listing.closed_hidden == 1
    everything = router.handle_text(ENGINEER, "list --all")
    assert isinstance(everything, Listing)
    assert {(i.key, i.done, i.applicable) for i in everything.items} == {
        ("acme", 2, 3),
        ("beta", 0, 6),
    }


def test_close_keeps_the_onboarding_and_frees_the_channel(database: Database) -> None:
    router = Router(Services.build(database))
    router.handle_text(ENGINEER, "open acme --service both")
    closed = router.handle_text(ENGINEER, "close acme --yes")
    assert isinstance(closed, Closed)
    assert closed.onboarding.closed_by == "U0ENG"
    assert "closed" in refusal_text(router.handle_text(ENGINEER, "done acme rfi"))
    assert "already closed" in refusal_text(router.handle_text(ENGINEER, "close acme --yes"))
    status = router.handle_text(ENGINEER, "status acme")
    assert isinstance(status, Status)
    assert status.onboarding.closed_at is not None
    # The channel is free for a new onboarding once the old one is closed.
    assert isinstance(router.handle_text(ENGINEER, "open acme-2 --service both"), Opened)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("open --service both", "Say which customer"),
        ("open Acme_Corp --service both", "Did you mean acme-corp?"),
        ("open acme", "Say which service"),
        ("open acme --service gold", "gold is not a service; use archiving, security"),
        ("open acme --service both --region mars", "mars is not a region"),
        ("open acme --service both --name " + "x" * 101, "at most 100"),
        ('open acme --service both --name "   "', "The name is empty"),
        ("frob", "don't know the verb frob"),
        ("status --verbose", "status has no flag --verbose"),
        ("done", "Say which step"),
        ("done existing bogus", "bogus is not a step"),
        ("done existing journaling", "does not apply"),
        ("done existing outbound", "already done"),
        ("reopen existing inbound", "not done, so there is nothing to reopen"),
        ("status acmee", "There is no onboarding acmee. Did you mean acme?"),
        ("status zzzz", "`/connect list` shows every onboarding"),
        ("close", "Spell out the customer"),
        ("open existing --service both", "existing exists already: opened by @U0BOSS"),
        ("open other --service both", "already bound to existing"),
        ("set existing --journal-address nope", "nope is not an email address"),
        ("set existing --region mars", "mars is not a region"),
        ("set existing", "Say what to change"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    database: Database, text: str, needle: str
) -> None:
    router = Router(Services.build(database))
    boss = Caller("U0BOSS", "C0ACME", "T0TEST", role=Role.ENGINEER)
    assert isinstance(router.handle_text(boss, "open existing --service security"), Opened)
    router.handle_text(boss, "done outbound")
    router.handle_text(Caller("U0BOSS", "C0ACME2", role=Role.ENGINEER), "open acme --service both")
    before = counts(database)
    assert needle in refusal_text(router.handle_text(ENGINEER, text))
    assert counts(database) == before


def test_email_security_alias_and_name_default(database: Database) -> None:
    result = OnboardingService(database).open(
        ENGINEER, "acme", service="Email-Security", region=None, name=None
    )
    assert result.onboarding.service is Service.SECURITY
    assert result.onboarding.name == "acme"
    assert result.onboarding.region is None
