"""The RFI conversation at the service level, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlmodel import select
from support.rfi import CONTACTS, CUSTOMER, ENGINEER, started

from commands.core.process import Step, StepState
from commands.rfi.service import FormErrors, Incoming, ThreadReply
from commands.router import Router
from store import rfi as rfi_store
from store.db import Database
from store.models import RfiAnswer


def say(router: Router, ts: str, text: str) -> ThreadReply | None:
    return router.services.rfi.reply(Incoming("C0ACME", "1.0", ts, "U0CUST", text))


def test_first_time_is_true_once_per_key(database: Database) -> None:
    with database.session(write=True) as session:
        assert rfi_store.first_time(session, "msg:C1:1.0") is True
        assert rfi_store.first_time(session, "msg:C1:1.0") is False
        assert rfi_store.first_time(session, "msg:C1:2.0") is True
    with database.session(write=True) as session:
        assert rfi_store.first_time(session, "msg:C1:1.0") is False


def test_a_message_delivered_twice_is_answered_once(database: Database) -> None:
    router = started(database)
    assert say(router, "2.1", CONTACTS) is not None
    assert say(router, "2.1", CONTACTS) is None  # the same message again: a retry
    with database.session() as session:
        assert len(session.exec(select(RfiAnswer)).all()) == 1


def test_a_whole_rfi_completes_and_marks_the_step_done(database: Database) -> None:
    router = started(database)
    answers = [
        CONTACTS,
        "next",
        "127.0.0.2",
        "next",
        "acme.example",
        "next",
        "Exchange 2019",
        "skip",
        "smtp",
        "Active Directory",
    ]
    replies = [say(router, f"3.{n}", text) for n, text in enumerate(answers)]
    last = replies[-1]
    assert last is not None
    assert last.finished
    assert last.summary is not None
    assert last.summary.complete
    assert last.next_step is Step.RECIPIENTS  # archiving: no outbound step
    status = router.handle_text(ENGINEER, "status")
    rfi = next(s for s in status.onboarding.steps if s.step is Step.RFI)  # type: ignore[union-attr]
    assert rfi.state is StepState.DONE


def test_the_form_saves_nothing_until_every_field_is_valid(database: Database) -> None:
    router = started(database)
    fields = {
        "contacts": CONTACTS,
        "outbound_ips": "127.0.0.3",
        "domains": "not a domain",
        "platform": "Microsoft 365",
        "journaling": "pop",
        "directory": "",
    }
    outcome = router.services.rfi.submit_form(CUSTOMER, "acme", fields)
    assert isinstance(outcome, FormErrors)
    assert set(outcome.errors) == {"domains", "directory"}
    with database.session() as session:
        assert session.exec(select(RfiAnswer)).all() == []
    saved = router.services.rfi.submit_form(
        CUSTOMER, "acme", {**fields, "domains": "acme.example", "directory": "none"}
    )
    assert isinstance(saved, ThreadReply)
    assert saved.finished
    with database.session() as session:
        stored = {r.question: r.values for r in session.exec(select(RfiAnswer))}
    assert stored["journaling"] == ["pop"]
    assert stored["previous_provider"] == []  # optional and empty: recorded as skipped
