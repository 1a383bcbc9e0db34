"""The report with hostile text in every slot a person (or a remote server's answer) fills: the
HTML stays well-formed and inert (a strict parse: every element closed in order, no script, no
event handler, nothing loaded) and shows each value as the text it was; the Markdown keeps its
shape (a value never adds a line, a heading, a link or raw HTML). 5,000 domains too.

Example counts are modest and the runs derandomized, as in tests/properties.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.report_pages import page_text, squeeze, strict_html

from bot.render.report import render_report
from commands.core.process import Service, Step, StepState
from commands.core.text import Code, Text, UserRef
from commands.core.views import OnboardingView, StepView
from commands.report.model import (
    AnswerLine,
    CheckLine,
    Confirmation,
    DomainRecords,
    LoginLine,
    OnboardingReport,
    ReminderLine,
    StepLine,
    TrailLine,
)

PROPERTY = settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
HOSTILE = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' onmouseover='alert(1)",
    "</td></tr></table><script>",
    "<!-- -->",
    "]]>",
    "&amp; &lt;b&gt; &#60;script&#62;",
    "{{ 7*7 }} {% raw %}",
    "[link](javascript:alert(1)) ![x](http://evil.test/x.png)",
    "# heading\n- item\n> quote\n| a | b |",
    "*bold* _it_ `code` ~strike~ \\",
    "<http://evil.test> <!channel> <@U0EVIL>",
    "ünïcødé 🙂 \u202e gnp.exe",
)
# Text as people type it: hostile fragments, and anything at all (no surrogates, no NUL: a
# NUL is no character a web page or a Slack message can carry).
typed = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=60),
    st.lists(st.sampled_from(HOSTILE), min_size=1, max_size=3).map(" ".join),
)

# What starts a block in CommonMark when it begins a line.
BLOCK_START = re.compile(r"^(\s{4}|\s{0,3}([#>*+=|_-]|\d+[.)]|```|~~~|<))")


def view(name: str, key: str = "acme") -> OnboardingView:
    steps = tuple(
        StepView(step, StepState.DONE if step is Step.RFI else StepState.IN_PROGRESS, AT, "U0ENG")
        for step in Step
    )
    return OnboardingView(
        key=key,
        name=name,
        service=Service.BOTH,
        region="eu",
        channel_id="C0ACME",
        opened_by="U0ENG",
        opened_at=AT,
        closed_by=None,
        closed_at=None,
        steps=steps,
        previous_provider=name,
    )


def report_of(values: list[str], domains: int = 1) -> OnboardingReport:
    """A report whose every person-filled slot holds one of `values` (cycled)."""
    pick = itertools.cycle(values)
    v = lambda: next(pick)  # noqa: E731
    return OnboardingReport(
        onboarding=view(v()),
        generated_at=AT,
        generated_by=v(),
        steps=tuple(StepLine(s, StepState.IN_PROGRESS, v(), AT, v()) for s in Step),
        checks=tuple(
            CheckLine(v(), "inbound", v(), v(), v(), (v(), v()), v(), AT, v()) for _ in range(3)
        ),
        records=tuple(DomainRecords(f"{v()}-{n}", (v(), v()), (v(),), AT) for n in range(domains)),
        answers=(AnswerLine(v(), (v(), v()), "answered", v(), AT),),
        reminders=(ReminderLine(7, v(), AT, v(), v(), v(), AT),),
        confirmations=(Confirmation("inbound.old_mx_retired", v(), v(), AT, 7),),
        logins=(LoginLine(v(), v(), 995, v(), v(), AT),),
        members=((v(), v()),),
        trail=(
            TrailLine(AT, v(), Text("answered {q}: {a}", q=v(), a=Code(v()))),
            TrailLine(AT, v(), Text("invited {u}", u=UserRef(v()))),
        ),
        trail_total=5,
    )


def values_shown(report: OnboardingReport, text: str) -> None:
    """Every value appears in the page's text as it was typed (white space aside)."""
    shown = squeeze(text)
    for value in (report.onboarding.name, report.checks[0].summary, report.reminders[0].text):
        assert squeeze(value) in shown, value


@PROPERTY
@given(st.lists(typed, min_size=1, max_size=8))
def test_hostile_text_is_escaped_and_the_html_stays_valid(values: list[str]) -> None:
    report = report_of(values)

    page = render_report(report, "html")

    values_shown(report, page_text(page))  # strict: raises on anything malformed or active
    assert "<script" not in page.lower()


@PROPERTY
@given(st.lists(typed, min_size=1, max_size=8))
def test_hostile_text_keeps_the_markdown_s_shape(values: list[str]) -> None:
    # The same report with plain words where the values are (an empty value leaves out what
    # it would have filled, there as here).
    benign = render_report(report_of(["plain words" if x else "" for x in values]), "md")

    document = render_report(report_of(values), "md")

    # A value adds no line, so it starts no heading, list, quote, table row or code block.
    assert len(document.splitlines()) == len(benign.splitlines())
    for ours, theirs in zip(benign.splitlines(), document.splitlines(), strict=True):
        if ours.startswith(("#", "-", "|")):
            assert theirs[:2] == ours[:2]
        else:
            assert BLOCK_START.match(theirs) is None, theirs
    # No raw HTML, autolink, link, image or code span from a value: each mark is escaped.
    assert re.search(r"(?<!\\)[<>\[\]`]", document) is None


def test_five_thousand_hostile_domains_make_one_valid_page() -> None:
    report = report_of([HOSTILE[0], HOSTILE[1], HOSTILE[3]], domains=5_000)

    page = render_report(report, "html")

    parsed = strict_html(page)
    assert parsed.tags["h3"] == 5_000 + 1  # one section per domain, and the logins
    text = "".join(parsed.text)
    assert f"{HOSTILE[0]}-4999" in text
    assert "<script" not in page.lower()
    document = render_report(report, "md")
    assert document.count("\n### ") >= 5_000
    assert re.search(r"(?<!\\)[<>]", document) is None


def test_a_late_change_of_the_template_is_caught() -> None:
    """The strict check itself fails on what an unescaped value would make."""
    report = report_of(["x"])
    page = render_report(report, "html")
    broken = page.replace("<td>", "<td><script>alert(1)</script>", 1)
    try:
        strict_html(broken)
    except AssertionError:
        pass
    else:
        raise AssertionError("a script in the page went unnoticed")
    unclosed = page.replace("</td>", "", 1)
    try:
        strict_html(unclosed)
    except AssertionError:
        return
    raise AssertionError("an element left open went unnoticed")


def test_times_are_utc_and_the_trail_says_what_it_left_out() -> None:
    report = replace(report_of(["x"]), generated_at=AT + timedelta(hours=1), trail_total=5)
    text = squeeze(page_text(render_report(report, "html")))
    assert "2026-12-01 10:30 UTC" in text
    assert "The newest 2 of 5 events; 3 earlier events are left out." in text
