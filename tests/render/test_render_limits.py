"""Block Kit limits by example: what a cut looks like, and that it never breaks mrkdwn.

(tests/properties/test_properties.py checks the same limits for arbitrary text in every template.)
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlmodel import select
from support.rfi import CONTACTS, CUSTOMER, ENGINEER, started

from bot.render import limits, mrkdwn
from bot.render import modals as forms
from bot.render.renderer import render
from bot.slack.view_seal import ViewSeal
from commands.core.process import Service, Step, StepState, initial_state
from commands.core.views import OnboardingView, StepView
from commands.replies import Listing, ListItem, Status
from commands.rfi.questions import QUESTIONS
from commands.rfi.service import AnswerLine, Form, FormField, Summary, ThreadReply
from store.db import Database
from store.models import RfiAnswer

AT = datetime(2026, 11, 28, 10, 42, tzinfo=UTC)


def onboarding() -> OnboardingView:
    return OnboardingView(
        key="acme",
        name="Acme",
        service=Service.BOTH,
        region="eu",
        channel_id="C0ACME",
        opened_by="U0ENG",
        opened_at=AT,
        closed_by=None,
        closed_at=None,
        steps=tuple(StepView(step, initial_state(Service.BOTH, step), AT, None) for step in Step),
    )


@pytest.mark.parametrize("limit", range(1, 40))
def test_a_cut_never_splits_an_escape_or_a_token(limit: int) -> None:
    text = "a&amp;b " + str(mrkdwn.user("U0ENG")) + " &lt;x&gt; " + str(mrkdwn.when(AT))
    cut = limits.cut_mrkdwn(text * 3, 40 + limit)
    assert len(cut) <= 40 + limit
    kept = cut.split(" … and ")[0]
    assert re.search(r"&(?!amp;|lt;|gt;)", kept) is None
    assert kept.count("<") == kept.count(">")
    assert re.search(r"… and [\d,]+ more characters$", cut)


def test_a_long_answer_is_cut_within_its_section_saying_how_much() -> None:
    huge = "<!channel> & co, " * 1000  # 17,000 characters typed into one answer
    lines = (AnswerLine("Domains", (huge,), "answered", True),)
    message = render(Summary(onboarding(), lines, complete=False))
    blocks = message.blocks_json()
    assert limits.message_problems(blocks, message.text) == []
    (section,) = [b for b in blocks if b["type"] == "section"]
    assert len(section["text"]["text"]) <= limits.SECTION_TEXT
    assert re.search(r"… and [\d,]+ more characters$", section["text"]["text"])
    assert "<!channel>" not in section["text"]["text"]


def test_too_many_lines_end_with_how_many_more_and_where_to_see_them() -> None:
    lines = tuple(AnswerLine(f"Question {n}", ("x" * 900,), "answered", True) for n in range(300))
    message = render(Summary(onboarding(), lines, complete=True))
    blocks = message.blocks_json()
    assert len(blocks) == limits.MESSAGE_BLOCKS
    assert limits.message_problems(blocks, message.text) == []
    note = blocks[-2]["elements"][0]["text"]
    assert re.fullmatch(
        r"… and [\d,]+ more lines: `/connect rfi acme show` or the RFI form .*", note
    )
    shown = sum(b["text"]["text"].count("Question ") for b in blocks if b["type"] == "section")
    assert note.startswith(f"… and {300 - shown} more lines")


def test_a_listing_that_is_cut_says_how_to_find_one() -> None:
    items = tuple(
        ListItem(f"k{n}", "N" * 2_900, Service.BOTH, "eu", AT, None, 0, 6) for n in range(80)
    )
    message = render(Listing(items, total=80, closed_hidden=0))
    blocks = message.blocks_json()
    assert limits.message_problems(blocks, message.text) == []
    notes = [b["elements"][0]["text"] for b in blocks if b["type"] == "context"]
    assert any("`/connect status &lt;customer&gt;`" in n for n in notes)


def test_a_modal_keeps_to_100_blocks_and_says_where_the_rest_are() -> None:
    fields = tuple(FormField(QUESTIONS[n % len(QUESTIONS)], "x") for n in range(150))
    seal = ViewSeal("test")
    view = forms.rfi_view(
        Form("acme", "Acme " * 1_000, fields),
        lambda form, data: seal.seal(form, data, user_id="U0ENG", channel_id="C0ACME"),
    ).to_dict()
    assert len(view["blocks"]) == limits.MODAL_BLOCKS
    assert limits.view_problems(view) == []
    assert view["blocks"][-1]["type"] == "context"
    assert "answer them in the RFI thread" in view["blocks"][-1]["elements"][0]["text"]
    opened = seal.open(forms.RFI_FORM_CALLBACK, view["private_metadata"], user_id="U0ENG")
    assert opened is not None
    assert len(forms.kept(opened.data)) == 150 - 98  # not shown, so kept as they are


def test_step_state_is_shown_even_in_a_cut_status() -> None:
    view = onboarding()
    steps = tuple(
        StepView(s.step, StepState.DONE if s.applies else s.state, AT, "U0ENG") for s in view.steps
    )
    long_name = OnboardingView(**{**view.__dict__, "name": "Acme &" * 200, "steps": steps})
    message = render(Status(long_name))
    blocks = message.blocks_json()
    assert limits.message_problems(blocks, message.text) == []
    assert len(blocks[0]["text"]["text"]) <= limits.HEADER_TEXT


def test_an_answer_too_long_for_a_form_field_is_left_out_of_the_form_and_kept(
    database: Database,
) -> None:
    router = started(database)
    many = "\n".join(f"d{n}.acme.example" for n in range(250))  # 4,000+ characters
    assert len(many) > limits.INPUT_VALUE
    fields = {
        "contacts": CONTACTS,
        "outbound_ips": "127.0.0.3",
        "domains": many,
        "platform": "Microsoft 365",
        "journaling": "pop",
        "directory": "none",
    }
    assert isinstance(router.services.rfi.submit_form(CUSTOMER, "acme", fields), ThreadReply)

    seal = ViewSeal("test")
    view = forms.rfi_view(
        router.services.rfi.form(ENGINEER, "acme"),
        lambda form, data: seal.seal(form, data, user_id="U0ENG", channel_id="C0ACME"),
    ).to_dict()
    assert limits.view_problems(view) == []
    inputs = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    assert "domains" not in inputs
    (note,) = [b for b in view["blocks"] if b.get("block_id") == "domains"]
    assert "250 values" in note["text"]["text"]
    assert "`change domains`" in note["text"]["text"]
    opened = seal.open(forms.RFI_FORM_CALLBACK, view["private_metadata"], user_id="U0ENG")
    assert opened is not None
    meta = opened.data
    assert forms.kept(meta) == ("domains",)

    # Saving the form (which has no domains field) changes the rest and keeps the domains.
    state = {k: v for k, v in fields.items() if k != "domains"}
    saved = router.services.rfi.submit_form(
        ENGINEER, "acme", {**state, "platform": "Exchange 2019"}, keep=forms.kept(meta)
    )
    assert isinstance(saved, ThreadReply)
    with database.session() as session:
        stored = {r.question: r.values for r in session.exec(select(RfiAnswer))}
    assert len(stored["domains"]) == 250
    assert stored["platform"][0]["kind"] == "exchange"
    assert forms.kept({"keep": "domains"}) == ()  # junk in the metadata keeps nothing
