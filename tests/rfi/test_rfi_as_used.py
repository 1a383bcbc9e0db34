"""The RFI as people use it, at the service level on SQLite and PostgreSQL: several values in one
reply, a contacts answer still missing a role, what a re-asked question promises, and reopening."""

from __future__ import annotations

import itertools

import pytest
from support.rfi import CONTACTS, ENGINEER, started

from bot.render.renderer import render
from commands.core.process import Step, StepState
from commands.rfi import questions as q
from commands.rfi.service import Incoming, RfiBegin, ThreadReply
from commands.rfi.validators import Invalid
from commands.router import Router
from store.db import Database

_ts = itertools.count(1)
PRIMARY_ONLY = "Jane, jane@acme.example, primary"


def say(router: Router, text: str) -> ThreadReply:
    reply = router.services.rfi.reply(Incoming("C0ACME", "1.0", f"5.{next(_ts)}", "U0CUST", text))
    assert reply is not None
    return reply


def stored(router: Router, question: str) -> list[str]:
    summary = router.services.rfi.summary(ENGINEER, "acme")
    title = q.BY_ID[question].title
    return list(next(line.values for line in summary.lines if line.title == title))


def rfi_state(router: Router) -> StepState:
    status = router.handle_text(ENGINEER, "status acme")
    return next(s.state for s in status.onboarding.steps if s.step is Step.RFI)  # type: ignore[union-attr]


# --- examples ----------------------------------------------------------------------------------


@pytest.mark.parametrize("question", q.QUESTIONS, ids=lambda x: x.id)
def test_each_question_and_error_example_passes_its_own_validator(question: q.Question) -> None:
    """As production runs (no private targets), every example the bot shows is an answer."""
    assert question.parse(question.example, False).values
    with pytest.raises(Invalid) as refused:
        question.parse("\x00", False)  # any refusal carries the example shown after it
    assert question.parse(refused.value.example, False).values


def test_the_example_addresses_are_no_one_s_mail_server() -> None:
    """The examples name RFC 2606 domains and the IANA AS112 sink addresses, never a real
    organisation's servers; an answer that copies the example addresses is told so."""
    for question in q.QUESTIONS:
        assert "acme.com" not in question.example
    parsed = q.BY_ID["outbound_ips"].parse(q.BY_ID["outbound_ips"].example, False)
    assert any("example" in note for note in parsed.notes)


# --- several values in one reply ----------------------------------------------------------------


def test_a_reply_keeps_the_good_values_and_names_every_bad_one(database: Database) -> None:
    router = started(database, "both")
    say(router, CONTACTS)
    say(router, "next")
    reply = say(router, "127.0.0.2, 300.1.2.3, 127.0.0.3, mail.acme.example")
    text = render(reply).text
    assert "300.1.2.3" in text
    assert "mail.acme.example" in text
    assert "Kept" in text
    assert "127.0.0.2" in text
    assert "127.0.0.3" in text
    assert stored(router, "outbound_ips") == ["127.0.0.2", "127.0.0.3"]
    assert reply.awaiting_more  # the corrected values may follow, then `next`
    say(router, "127.0.0.4")
    assert stored(router, "outbound_ips") == ["127.0.0.2", "127.0.0.3", "127.0.0.4"]


def test_contact_lines_are_kept_or_refused_one_by_one(database: Database) -> None:
    router = started(database, "both")
    reply = say(router, "Jane, jane@acme.example, primary\nRaj, raj-at-acme, technical")
    text = render(reply).text
    assert "raj-at-acme" in text
    assert "Kept" in text
    assert stored(router, "contacts") == ["Jane <jane@acme.example>, primary"]


def test_a_reply_with_only_bad_values_keeps_nothing(database: Database) -> None:
    router = started(database, "both")
    say(router, CONTACTS)
    say(router, "next")
    text = render(say(router, "300.1.2.3, 10.0.0.300")).text
    assert "300.1.2.3" in text
    assert "10.0.0.300" in text
    assert stored(router, "outbound_ips") == []


# --- an answer missing a required part -----------------------------------------------------------


def test_contacts_without_a_technical_one_are_not_answered(database: Database) -> None:
    router = started(database, "both")
    say(router, PRIMARY_ONLY)
    summary = router.services.rfi.summary(ENGINEER, "acme")
    assert summary.lines[0].state == "incomplete"
    assert summary.answered == 0
    assert "RFI 0/8 answered" in render(router.handle_text(ENGINEER, "status acme")).text
    shown = render(summary).text
    assert "✅ *Main points of contact*" not in shown


def test_the_rfi_does_not_finish_while_contacts_are_incomplete(database: Database) -> None:
    router = started(database, "archiving")
    say(router, PRIMARY_ONLY)
    say(router, "change domains")  # leave the contacts question for another
    for text in ("acme.example", "next", "Exchange 2019", "skip", "smtp"):
        say(router, text)
    reply = say(router, "Active Directory")
    assert not reply.finished  # the contacts are asked again, before the unanswered IPs
    assert reply.ask is not None
    assert reply.ask.question.id == "contacts"
    assert rfi_state(router) is StepState.IN_PROGRESS
    say(router, "Raj, raj@acme.example, technical")
    say(router, "next")
    say(router, "127.0.0.2")
    assert say(router, "next").finished
    assert rfi_state(router) is StepState.DONE


# --- replacing, re-asking, reopening -------------------------------------------------------------


def test_a_re_asked_list_says_a_reply_adds_and_it_does(database: Database) -> None:
    router = started(database, "both")
    say(router, CONTACTS)
    say(router, "next")
    say(router, "127.0.0.2")
    asked = render(say(router, "help")).text
    assert "replaces" not in asked
    assert "adds to" in asked
    say(router, "127.0.0.3")
    assert stored(router, "outbound_ips") == ["127.0.0.2", "127.0.0.3"]
    again = render(router.services.rfi.ask_again("acme")).text
    assert "replaces" not in again


def test_after_back_the_next_reply_replaces_even_when_asked_again(database: Database) -> None:
    router = started(database, "both")
    say(router, CONTACTS)
    say(router, "next")
    say(router, "127.0.0.2")
    say(router, "next")
    assert "replaces" in render(say(router, "back")).text
    assert "replaces" in render(say(router, "help")).text  # asked again: still replaces
    assert "replaces" in render(router.services.rfi.ask_again("acme")).text
    say(router, "127.0.0.9")
    assert stored(router, "outbound_ips") == ["127.0.0.9"]


def _finish(router: Router) -> ThreadReply:
    for text in (CONTACTS, "next", "127.0.0.2", "next", "acme.example", "next"):
        say(router, text)
    for text in ("Exchange 2019", "skip", "smtp"):
        say(router, text)
    reply = say(router, "Active Directory")
    assert reply.finished
    return reply


def test_reopen_rfi_says_how_to_change_an_answer(database: Database) -> None:
    router = started(database, "archiving")
    _finish(router)
    begin = router.handle_text(ENGINEER, "reopen acme rfi")
    assert isinstance(begin, RfiBegin)
    assert begin.thread == ("C0ACME", "1.0")
    assert rfi_state(router) is StepState.IN_PROGRESS
    text = render(router.services.rfi.ask_again("acme")).text
    assert "reopened" in text
    assert "`change" in text
    assert "`done`" in text
    reply = say(router, "done")
    assert reply.summary is not None
    assert reply.summary.complete
    assert rfi_state(router) is StepState.DONE


def test_reopen_rfi_asks_again_what_is_missing(database: Database) -> None:
    router = started(database, "archiving")
    say(router, PRIMARY_ONLY)
    router.handle_text(ENGINEER, "done acme rfi")  # marked done by hand, contacts incomplete
    router.handle_text(ENGINEER, "reopen acme rfi")
    reply = router.services.rfi.ask_again("acme")
    assert reply.ask is not None
    assert reply.ask.question.id == "contacts"
    assert "technical" in render(reply).text
