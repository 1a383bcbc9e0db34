"""Every mrkdwn text the renderer makes is `verbatim` (DESIGN.md: sections that carry user text).

Without it Slack parses the plain text itself: a typed @here can become a mention, #general a
channel link, a bare URL a link. With it Slack still reads the renderer's own `<@U…>`, `<#C…>`
and `<!date…>` tokens (docs.slack.dev, text object: "verbatim").
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.render.renderer import Message, render
from commands.core.process import Service, Step, initial_state
from commands.core.views import OnboardingView, StepView
from commands.replies import Status
from commands.rfi.service import AnswerLine, Summary

AT = datetime(2026, 11, 28, 10, 42, tzinfo=UTC)
VIEW = OnboardingView(
    key="acme",
    name="@here #general https://acme.example",
    service=Service.BOTH,
    region="eu",
    channel_id="C0ACME",
    opened_by="U0ENG",
    opened_at=AT,
    closed_by=None,
    closed_at=None,
    steps=tuple(StepView(step, initial_state(Service.BOTH, step), AT, None) for step in Step),
)


def mrkdwn_objects(message: Message) -> list[dict]:
    found: list[dict] = []
    for block in message.blocks_json():
        if block.get("text", {}).get("type") == "mrkdwn":
            found.append(block["text"])
        found += [e for e in block.get("elements", []) if e.get("type") == "mrkdwn"]
    return found


def test_sections_and_context_lines_are_verbatim() -> None:
    answers = tuple(AnswerLine(f"Q{n}", ("@here " * 200,), "answered", True) for n in range(60))
    for message in (
        render(Status(VIEW)),  # context and footer lines
        render(Summary(VIEW, answers, complete=False)),  # cut: sections and a context note
    ):
        kinds = {b["type"] for b in message.blocks_json()}
        assert {"section", "context"} <= kinds
        objects = mrkdwn_objects(message)
        assert all(o["verbatim"] is True for o in objects), objects


def _view_mrkdwn(view: dict) -> list[dict]:
    found: list[dict] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(view)
    return found


def test_modal_sections_that_carry_user_text_are_verbatim() -> None:
    # The customer's name is typed by a person: a typed @here or #general stays text in the
    # modals too (issue 13: mentions in user text).
    from bot.render import modals as forms
    from commands.credentials import KINDS, CredentialForm
    from commands.rfi.questions import QUESTIONS
    from commands.rfi.service import Form, FormField

    def sealed(form: str, data: dict[str, object]) -> str:
        return "sealed"

    fields = tuple(FormField(QUESTIONS[n % len(QUESTIONS)], "@here") for n in range(120))
    rfi = forms.rfi_view(Form("acme", "@here #general", fields), sealed).to_dict()
    credentials = forms.credentials_view(
        CredentialForm(
            key="acme",
            name="@here #general",
            kind=next(iter(KINDS)),
            host="pop.acme.example",
            port=995,
            security="tls",
            username="@here",
            has_secret=False,
        ),
        sealed,
    ).to_dict()
    for view in (rfi, credentials):
        objects = _view_mrkdwn(view)
        assert objects
        assert all(o.get("verbatim") is True for o in objects), objects
