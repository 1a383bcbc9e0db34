"""The two modals shown around a form: "loading" (opened at once, while the form is made) and a
notice (the form could not be made: a refusal or a failure, said where the person is looking)."""

from __future__ import annotations

from slack_sdk.models.blocks import MarkdownTextObject, PlainTextObject, SectionBlock
from slack_sdk.models.views import View

from bot.render import limits

LOADING = "Getting the form ready…"


def loading_view(title: str) -> View:
    return _view(title, LOADING)


def notice_view(title: str, mrkdwn_text: str) -> View:
    return _view(title, mrkdwn_text)


def _view(title: str, text: str) -> View:
    body = limits.cut_mrkdwn(text, limits.SECTION_TEXT)
    return View(
        type="modal",
        title=PlainTextObject(text=limits.cut_plain(title, limits.MODAL_TITLE)),
        close=PlainTextObject(text="Close"),
        blocks=[SectionBlock(text=MarkdownTextObject(text=body, verbatim=True))],
    )
