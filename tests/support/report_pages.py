"""The onboarding report as a reader gets it, for the tests: a strict HTML check (every element
closed in order, nothing that runs or loads), headless Chromium printing it to PDF, and the
PDF's text through pdftotext. Chromium and pdftotext come from Debian (scripts/system-packages);
a test fails, never skips, when they are missing."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)
# Nothing in a report runs, loads or links anywhere.
FORBIDDEN_TAGS = frozenset(
    {"script", "iframe", "object", "embed", "img", "link", "base", "form", "svg", "math"}
)
FORBIDDEN_ATTRIBUTES = frozenset({"src", "href", "srcset", "action", "formaction", "style"})
PRINT_TIMEOUT = 90.0  # seconds; a cold Chromium on a busy machine takes a few


class InvalidHtml(AssertionError):
    pass


class _Strict(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.doctype = False
        self.tags: dict[str, int] = {}

    def handle_decl(self, decl: str) -> None:
        self.doctype = self.doctype or decl.lower() == "doctype html"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in FORBIDDEN_TAGS:
            raise InvalidHtml(f"<{tag}> in the report at {self.getpos()}")
        for name, _ in attrs:
            if name.startswith("on") or name in FORBIDDEN_ATTRIBUTES:
                raise InvalidHtml(f"attribute {name} on <{tag}> at {self.getpos()}")
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise InvalidHtml(f"self-closing <{tag}/> at {self.getpos()}")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            raise InvalidHtml(f"</{tag}> at {self.getpos()} closes {self.stack[-1:]}")
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] not in ("style", "title"):
            self.text.append(data)

    def unknown_decl(self, data: str) -> None:
        raise InvalidHtml(f"unknown declaration {data[:40]!r}")


def strict_html(page: str) -> _Strict:
    """Parse the page and fail on anything but well-formed, inert HTML: a doctype, every
    non-void element closed in order (no implied closing), nothing that runs or loads, no
    comment or processing instruction. Returns the parser (its `text` is the page's text)."""
    parser = _Strict()
    parser.handle_comment = _refuse("comment")  # type: ignore[method-assign]
    parser.handle_pi = _refuse("processing instruction")  # type: ignore[method-assign]
    parser.feed(page)
    parser.close()
    if not parser.doctype:
        raise InvalidHtml("no <!DOCTYPE html>")
    if parser.stack:
        raise InvalidHtml(f"elements left open: {parser.stack}")
    if parser.tags.get("html") != 1 or parser.tags.get("body") != 1:
        raise InvalidHtml(f"not one html and one body: {parser.tags}")
    return parser


def _refuse(what: str):  # type: ignore[no-untyped-def]
    def refuse(data: str) -> None:
        raise InvalidHtml(f"{what} in the report: {data[:40]!r}")

    return refuse


def page_text(page: str) -> str:
    return "".join(strict_html(page).text)


def tool(name: str) -> str:
    found = shutil.which(name)
    assert found, f"{name} is not installed: scripts/system-packages installs it"
    return found


def print_to_pdf(html_file: Path, pdf_file: Path) -> None:
    """Headless Chromium prints the page as a reader would (file:// URL, A4 from the CSS)."""
    profile = html_file.parent / "chromium-profile"
    done = subprocess.run(
        [
            tool("chromium"),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-pdf-header-footer",
            f"--user-data-dir={profile}",
            f"--print-to-pdf={pdf_file}",
            html_file.resolve().as_uri(),
        ],
        capture_output=True,
        timeout=PRINT_TIMEOUT,
        check=False,
    )
    why = f"chromium printed no PDF (exit {done.returncode}): {done.stderr.decode()[-2000:]}"
    assert pdf_file.exists(), why
    assert pdf_file.stat().st_size > 0, why


def pdf_text(pdf_file: Path) -> str:
    """The PDF's text with its line breaks and runs of spaces as single spaces."""
    done = subprocess.run(
        [tool("pdftotext"), "-enc", "UTF-8", str(pdf_file), "-"],
        capture_output=True,
        timeout=60,
        check=True,
    )
    return squeeze(done.stdout.decode("utf-8"))


def squeeze(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
