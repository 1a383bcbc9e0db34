"""Render an OnboardingReport through Jinja2 templates: HTML with autoescaping (every printed
value is escaped, so typed text stays text), Markdown with every printed value escaped for
Markdown by `finalize` (nobody's answer becomes a heading, a link or raw HTML)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from bot.render.report.plain import plain, utc
from commands.core.process import StepState
from commands.core.text import Code, Text, UserRef, Value, When
from commands.report.model import OnboardingReport

FORMATS = ("html", "md")

STATUS_WORDS = {
    "pass": "passed",
    "warn": "warning",
    "fail": "failed",
    "unknown": "inconclusive",
    "skipped": "skipped",
}


def _service(report: OnboardingReport) -> str:
    return report.onboarding.service.title


def _region(code: str | None) -> str:
    return code.upper() if code else "not set"


def _globals() -> dict[str, Any]:
    return {"status_words": STATUS_WORDS, "StepState": StepState, "region": _region}


def _utc_html(at: datetime | None) -> Markup:
    """A time as utc() says it, its date kept on one line (a line may break after it)."""
    if at is None:
        return Markup("")
    day, _, rest = utc(at).partition(" ")
    return Markup('<span class="day">{}</span> {}').format(day, rest)


_html = Environment(
    loader=PackageLoader("bot.render.report", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_html.filters.update(utc=_utc_html, plain=plain)
_html.globals.update(_globals())

# Markdown: CommonMark lets any ASCII punctuation be escaped with a backslash. These marks start
# something anywhere in a line (emphasis, code, links, autolinks and raw HTML, entities, tables,
# strike-through); a value is escaped for them wherever it is printed. Line breaks would end a
# table row or start a block, so they become spaces; what would start a block at the start of a
# line (a heading, a list, a quote) is escaped there.
_MD_INLINE = re.compile(r"([\\`*_\[\]<>|~!&#])")
_MD_LINE_START = re.compile(r"^([-+=>]|\d+[.)])")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x85\x0b\x0c]+")


class MdSafe(str):
    """Markdown the template made itself: printed as it is."""

    __slots__ = ()


def md_escape(value: Value | None) -> str:
    text = value if isinstance(value, str) else plain(value)
    # Leading white space would indent a line into a code block.
    escaped = _MD_INLINE.sub(r"\\\1", _LINE_BREAKS.sub(" ", text).strip())
    return _MD_LINE_START.sub(r"\\\1", escaped)


def _md_finalize(value: object) -> str:
    if isinstance(value, MdSafe):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str | Text | UserRef | When | Code | None):
        return md_escape(value)
    return md_escape(str(value))


_md = Environment(
    loader=PackageLoader("bot.render.report", "templates"),
    # Markdown is no HTML: `finalize` escapes every printed value for Markdown instead.
    autoescape=False,  # noqa: S701
    finalize=_md_finalize,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_md.filters.update(utc=utc, plain=plain, raw=MdSafe)
_md.globals.update(_globals())


def render_report(report: OnboardingReport, fmt: str = "html") -> str:
    """The whole report as one document: "html" (self-contained) or "md"."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    env, name = (_html, "report.html.j2") if fmt == "html" else (_md, "report.md.j2")
    context = {"r": report, "o": report.onboarding, "service": _service(report)}
    return env.get_template(name).render(context)
