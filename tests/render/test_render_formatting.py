"""Formatting characters a person typed are shown as typed, not as bold, italic, strike or code.

Slack's mrkdwn has no escape for `*`, `_`, `~` and backticks (docs.slack.dev, "Formatting message
text": only &, < and > are escaped), so bot/mrkdwn.escape swaps each marker that could open or
close formatting for a look-alike that Slack does not format. `spans` below is the reading of
Slack's rules the tests hold the output to, kept on the permissive side so that it finds at least
what Slack would: a marker opens at the start of a word (line start, space or any non-letter
before it) when text follows it, and closes at the end of one; a backtick pairs with the next.
"""

from __future__ import annotations

import re
import shlex
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.render import limits, mrkdwn
from bot.render.renderer import Message, render
from commands.checks.dns.publish import MxLine, RecordsToPublish
from commands.checks.service import DnsRecords, DomainRecords
from commands.core.context import Caller
from commands.core.process import Service, Step, initial_state
from commands.core.roles import Role
from commands.core.text import Code, Text
from commands.core.views import OnboardingView, StepView
from commands.replies import Refusal
from commands.rfi.questions import QUESTIONS
from commands.rfi.service import AnswerLine, Ask, Incoming, Summary, ThreadReply
from commands.router import Router
from commands.services import Services
from store.db import Database

NAME = "*Acme* _Ltd_ ~x~ `y`"
NAME_MRKDWN = "\u2217Acme\u2217 \u02cdLtd\u02cd \u223cx\u223c \u02cby\u02cb"
CONTACT = "*Jane* ~Doe~ `x`, first_last@acme.example, primary"
PROVIDER = "~Old~ _Gateway_ *Inc*"
LOOK_ALIKES = set("\u2217\u02cd\u223c\u02cb\ufe61\u2e0f\u2035")
AT = datetime(2026, 11, 28, 10, 42, tzinfo=UTC)
ENGINEER = Caller("U0ENG", "C0ACME", role=Role.ENGINEER)
_WORD = re.compile(r"[A-Za-z0-9]")  # ASCII only: anything else counts as a word's edge


def _edge(char: str | None) -> bool:
    return char is None or not _WORD.match(char)


def spans(text: str) -> list[str]:
    """The stretches of `text` that Slack would format, each with its markers."""
    found: list[str] = []
    for line in text.split("\n"):
        at = dict(enumerate(line))
        for marker in "*_~":
            start = None
            for i, char in enumerate(line):
                if char != marker:
                    continue
                before, after = at.get(i - 1), at.get(i + 1)
                closes = start is not None and i > start + 1 and _edge(after)
                if closes and before is not None and not before.isspace():
                    found.append(line[start : i + 1])
                    start = None
                elif start is None and _edge(before) and after is not None and not after.isspace():
                    start = i
        found += re.findall(r"`[^`]*`", line)
    return found


def _candidates(text: str) -> list[int]:
    """Positions of markers that could open or close, whatever text stands around `text`."""
    out = []
    for i, char in enumerate(text):
        before = text[i - 1] if i else None
        after = text[i + 1] if i + 1 < len(text) else None
        if char == "`" or (char in "*_~" and (_edge(before) or _edge(after))):
            out.append(i)
    return out


def mrkdwn_objects(message: Message) -> list[dict]:
    found: list[dict] = []
    for block in message.blocks_json():
        if block.get("text", {}).get("type") == "mrkdwn":
            found.append(block["text"])
        found += [e for e in block.get("elements", []) if e.get("type") == "mrkdwn"]
    return found


def view(name: str = NAME) -> OnboardingView:
    return OnboardingView(
        key="acme",
        name=name,
        service=Service.BOTH,
        region="eu",
        channel_id="C0ACME",
        opened_by="U0ENG",
        opened_at=AT,
        closed_by=None,
        closed_at=None,
        steps=tuple(StepView(step, initial_state(Service.BOTH, step), AT, None) for step in Step),
    )


@pytest.fixture
def router(tmp_path: Path) -> Router:
    database = Database(f"sqlite:///{tmp_path / 'f.db'}")
    database.upgrade()
    router = Router(Services.build(database, allow_private_targets=True))
    router.handle_text(ENGINEER, f"open acme --service archiving --name {shlex.quote(NAME)}")
    return router


# --- the rule --------------------------------------------------------------------------------


def test_every_marker_in_a_name_becomes_a_look_alike() -> None:
    assert mrkdwn.escape(NAME) == NAME_MRKDWN
    assert spans(NAME) == ["*Acme*", "_Ltd_", "~x~", "`y`"]  # what Slack made of it before
    assert spans(NAME_MRKDWN) == []
    # Full-width markers format too; they get look-alikes of their own.
    assert mrkdwn.escape("\uff0aa\uff0a \uff3fb\uff3f \uff40c\uff40") == (
        "\ufe61a\ufe61 \u2e0fb\u2e0f \u2035c\u2035"
    )


def test_an_underscore_inside_a_word_stays_as_typed() -> None:
    # Between two letters or digits `_` can neither open nor close, so an address stays exact.
    assert mrkdwn.escape("first_last@acme.com, a_b_c") == "first_last@acme.com, a_b_c"
    # At a word's edge it could, so it is swapped; so are `~` and `*` anywhere.
    assert mrkdwn.escape("include:_spf.acme.example ~all") == (
        "include:\u02cdspf.acme.example \u223call"
    )
    assert mrkdwn.escape("snake_case_ 2*3") == "snake_case\u02cd 2\u22173"


@given(st.text())
def test_no_marker_left_by_escape_can_open_or_close(text: str) -> None:
    escaped = mrkdwn.escape(text)
    assert _candidates(escaped) == []
    assert spans(f"*{escaped}*") in ([], [f"*{escaped}*"])  # only the template's own pair
    assert "<" not in escaped


@given(st.text().filter(lambda t: not set(t) & LOOK_ALIKES))
def test_plain_text_gets_back_exactly_what_was_typed(text: str) -> None:
    assert mrkdwn.as_typed(mrkdwn.escape(text)) == text


def test_code_keeps_what_was_typed_and_cannot_be_left() -> None:
    # Slack formats nothing inside a code span: only a backtick, which would end it, is swapped.
    assert mrkdwn.code("*x* _y_ ~z~ <a>") == "`*x* _y_ ~z~ &lt;a&gt;`"
    assert mrkdwn.code("a`b") == "`a\u02cbb`"
    assert mrkdwn.code("one\n\ntwo") == "`one`\n\n`two`"  # each line its own span
    assert mrkdwn.to_plain(mrkdwn.code("a`b")) == "`a`b`"


# --- through the renderer --------------------------------------------------------------------


def test_a_name_in_bold_adds_no_formatting_of_its_own(router: Router) -> None:
    message = render(router.handle_text(ENGINEER, "close acme --yes"))
    line = message.text.splitlines()[0]
    assert line.startswith(f"🔒 *{NAME_MRKDWN} (acme)* was closed by <@U0ENG> with ")
    assert spans(line)[0] == f"*{NAME_MRKDWN} (acme)*"  # the template's bold, whole
    assert all(s.startswith("`/connect") for s in spans(line)[1:])


def test_the_header_and_the_plain_text_show_the_name_as_typed(router: Router) -> None:
    message = render(router.handle_text(ENGINEER, "status acme"))
    header = message.blocks_json()[0]["text"]
    assert header == {"type": "plain_text", "text": f"{NAME} (acme)", "emoji": True}
    assert message.text.startswith(f"{NAME_MRKDWN} (acme)\n")
    assert mrkdwn.to_plain(message.text).startswith(f"{NAME} (acme)\n")  # the shell


def test_rfi_answers_render_without_formatting(router: Router) -> None:
    router.services.rfi.bind_thread("acme", "C0ACME", "1.0", "U0ENG")
    reply = router.services.rfi.reply(Incoming("C0ACME", "1.0", "2.0", "U0CUST", CONTACT))
    assert reply is not None
    text = render(reply).text
    got_it = text.splitlines()[0]
    assert got_it == (
        "Got it, *Main points of contact*: \u2217Jane\u2217 \u223cDoe\u223c \u02cbx\u02cb "
        "&lt;first_last@acme.example&gt;, primary"
    )
    assert spans(got_it) == ["*Main points of contact*"]


def test_a_summary_of_answers_renders_without_formatting() -> None:
    lines = (
        AnswerLine("Main points of contact", (CONTACT,), "answered", True),
        AnswerLine("Previous gateway provider", (PROVIDER, "first_last"), "answered", False),
    )
    message = render(Summary(view(), lines, complete=False))
    (section,) = [o for o in mrkdwn_objects(message) if "Main points" in o["text"]]
    assert section["text"].splitlines() == [
        "✅ *Main points of contact*: \u2217Jane\u2217 \u223cDoe\u223c \u02cbx\u02cb, "
        "first_last@acme.example, primary",
        "✅ *Previous gateway provider*: \u223cOld\u223c \u02cdGateway\u02cd \u2217Inc\u2217; "
        "first_last",
    ]
    assert spans(section["text"]) == ["*Main points of contact*", "*Previous gateway provider*"]
    assert section["verbatim"] is True


def test_a_modal_field_error_shows_the_value_as_typed() -> None:
    # What bot/listeners.py does for a field error: plain text, at most 150 characters.
    error = mrkdwn.to_plain(render(Refusal(Text("{v} is not a platform.", v=NAME))).text)
    assert limits.cut_plain(error, limits.ERROR_TEXT) == f"⚠️ {NAME} is not a platform."


def test_records_to_publish_stay_exact_to_copy() -> None:
    spf = "v=spf1 include:_spf.acme.example ~all"
    records = RecordsToPublish(
        "acme.example", (MxLine(10, "mx_1.gw.example"),), spf, (spf,), False, 1
    )
    message = render(DnsRecords(view(), "eu", (DomainRecords("acme.example", records),)))
    text = message.text
    block = text.split("```\n")[1]
    assert block.splitlines() == [
        "acme.example. 3600 IN MX 10 mx_1.gw.example.",
        f'acme.example. 3600 IN TXT "{spf}"',
    ]
    assert f"• TXT `{spf}` (1 of 10 DNS lookups)" in text
    assert f"• SPF today: `{spf}` (already right)" in text


def test_a_prompt_keeps_its_own_code() -> None:
    # The product's wording may use mrkdwn on purpose; only people's text is neutered.
    provider = next(q for q in QUESTIONS if q.id == "previous_provider")
    reply = ThreadReply("C0ACME", "1.0", ask=Ask("acme", provider, 5, 7))
    assert "Say `none` if there is none." in render(reply).text


def test_a_code_value_in_a_text_is_exact() -> None:
    rendered = mrkdwn.text(Text("Publish {r}", r=Code("v=spf1 include:_spf.x ~all")))
    assert rendered == "Publish `v=spf1 include:_spf.x ~all`"
