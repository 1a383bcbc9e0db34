"""History reads as sentences (issue 14, section 3): times as Slack dates, the RFI's question
titles rather than their internal names, and an answer given again unchanged said as such."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.render import mrkdwn
from bot.render.renderer import render
from commands.core.process import Service
from commands.core.views import OnboardingView
from commands.history import History, HistoryLine, describe

AT = datetime(2026, 11, 28, 10, 42, tzinfo=UTC)


def said(action: str, detail: object) -> str:
    return str(mrkdwn.text(describe(action, detail)))


def test_an_answer_names_the_questions_title_not_its_id() -> None:
    line = said(
        "rfi.answer", {"question": "outbound_ips", "values": ["127.0.0.40"], "how": "added"}
    )
    assert "outbound_ips" not in line
    assert line == "answered *Sending IP addresses*: 127.0.0.40"


def test_an_answer_given_again_unchanged_says_so() -> None:
    line = said(
        "rfi.answer",
        {
            "question": "platform",
            "values": ["Exchange 2019"],
            "how": "form",
            "before": ["Exchange 2019"],
        },
    )
    assert "from Exchange 2019 to Exchange 2019" not in line
    assert line == "confirmed *Mail platform* unchanged: Exchange 2019 (in the form)"


def test_a_changed_answer_says_what_it_was() -> None:
    line = said(
        "rfi.answer",
        {
            "question": "platform",
            "values": ["Microsoft 365"],
            "how": "replaced",
            "before": ["Exchange 2019"],
        },
    )
    assert line == "changed *Mail platform* from Exchange 2019 to Microsoft 365"


def test_an_unknown_question_id_is_still_shown_escaped() -> None:
    line = said("rfi.answer", {"question": "<!here>", "values": [], "how": "added"})
    assert "<!here>" not in line
    assert "&lt;!here&gt;" in line


def test_unchanged_fields_are_left_out_of_a_change() -> None:
    line = said(
        "onboarding.changed",
        {"region": {"from": "eu", "to": "eu"}, "name": {"from": "Acme", "to": "Acme Corp"}},
    )
    assert line == "changed the name from Acme to Acme Corp"
    line = said("onboarding.changed", {"region": {"from": "eu", "to": "eu"}})
    assert line == "confirmed the region unchanged: eu"


def test_reminder_times_are_slack_dates() -> None:
    due = said("reminder.added", {"id": 3, "due_at": "2026-12-01T09:00:00+00:00"})
    stamp = int(datetime(2026, 12, 1, 9, tzinfo=UTC).timestamp())
    assert f"<!date^{stamp}^{{date_short_pretty}} {{time}}|1 Dec 2026 09:00 UTC>" in due
    assert "2026-12-01T09" not in due
    until = said("reminder.snoozed", {"id": 3, "until": "2026-12-02T09:00:00+00:00"})
    assert "<!date^" in until
    # A stored time that is not one (old data) is still shown, as text.
    assert "someday" in said("reminder.added", {"id": 3, "due_at": "someday"})


def test_step_changes_and_check_runs_read_as_sentences() -> None:
    step = said(
        "step.changed", {"step": "outbound", "from": "not_started", "to": "done", "by": "check"}
    )
    assert step == "marked *Outbound* done (was not started) after a check"
    ran = said("check.run", {"steps": ["outbound", "inbound"], "results": {"pass": 5, "fail": 1}})
    assert ran == "ran the Outbound and Inbound checks: 5 passed, 1 failed"


def test_the_history_message_shows_each_time_as_a_slack_date() -> None:
    view = OnboardingView(
        key="acme",
        name="Acme",
        service=Service.BOTH,
        region="eu",
        channel_id="C0ACME",
        opened_by="U0ENG",
        opened_at=AT,
        closed_by=None,
        closed_at=None,
        steps=(),
    )
    line = HistoryLine(AT, "U0JANE", describe("rfi.started", {"channel": "C1", "thread_ts": "1"}))
    message = render(History(view, (line,), 1, 1, 1))
    stamp = int(AT.timestamp())
    assert f"<!date^{stamp}^{{date_short_pretty}} {{time}}|28 Nov 2026 10:42 UTC>" in message.text
    assert "<@U0JANE> started the RFI thread" in message.text


def test_a_done_reminder_says_what_it_confirmed_in_words() -> None:
    line = said("reminder.done", {"id": 4, "confirms": "firewall.previous_provider"})
    assert line == "completed reminder #4, confirming that the previous provider is cancelled"
    assert said("reminder.done", {"id": 5, "confirms": None}) == "completed reminder #5"
