"""The onboarding report end to end (issue 15, section 2): a real `connect-bot serve`, signed
slash commands and Events API requests, a real NSD behind the checks, and the Slack stand-in
holding files.uploadV2 to Slack's rules (files.getUploadURLExternal, the bytes posted to the
URL it gave, files.completeUploadExternal with the file and the channel).

The report is then read as the change board reads it: printed to PDF by headless Chromium and
read back with pdftotext, which must hold every step and every check result; a POP password
stored through the credentials form must be nowhere in the HTML, the PDF or the Markdown.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from support.bot_process import BotProcess
from support.cli import run_bot
from support.credentials_form import submit_view
from support.dns_fixtures import DnsWorld, bot_env_for
from support.mentions import AT, channel_wide, guest, idle, mention, wait
from support.report_pages import page_text, pdf_text, print_to_pdf, squeeze, strict_html
from support.rfi_thread import Thread
from support.slack_standin import Call, SlackStandIn, uploaded
from support.slash_commands import new_channel, new_key, open_onboarding, send_ok

from commands.core.process import STEP_TITLES
from store.models import CheckRun, Onboarding

WAIT = 30.0
ENGINEER = "U0ENG"
CONTACTS = "Jane Smith, jane@good.test, primary\nRaj Patel, raj@good.test, technical"
DOMAINS = ("good.test", "leftover.test")
STATUS_WORDS = {
    "pass": "passed",
    "warn": "warning",
    "fail": "failed",
    "unknown": "inconclusive",
    "skipped": "skipped",
}
UPLOAD_STEPS = ("files.getUploadURLExternal", "files.upload", "files.completeUploadExternal")


@pytest.fixture(scope="module")
def bot_env(dns_world: DnsWorld, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return bot_env_for(
        dns_world,
        tmp_path_factory.mktemp("profile"),
        CONNECT_SECRET_KEY=Fernet.generate_key().decode(),
    )


@dataclass(frozen=True)
class Checked:
    """An onboarding with its RFI answered, its inbound and outbound checks run, and a POP
    password stored through the form."""

    key: str
    channel: str
    password: str


def run_checks(bot: BotProcess, slack: SlackStandIn, key: str, channel: str, step: str) -> None:
    title = f"{step.capitalize()} checks for"

    def final(call: Call) -> bool:
        text = call.params.get("text", "")
        return (
            call.method == "chat.update"
            and call.params.get("channel") == channel
            and text.startswith(title)
            and "⏳" not in text
        )

    send_ok(bot, f"check {key} {step}", channel_id=channel)
    slack.wait_for(final, 1, WAIT)


def store_password(bot: BotProcess, slack: SlackStandIn, key: str, channel: str) -> str:
    password = "Pa55-" + uuid.uuid4().hex
    trigger = "trig-" + uuid.uuid4().hex[:8]
    send_ok(bot, f"credentials {key} pop", channel_id=channel, trigger_id=trigger)
    (opened,) = slack.wait_for(
        lambda c: c.method == "views.open" and c.params.get("trigger_id") == trigger, 1, WAIT
    )
    view = opened.params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    fields = {
        "host": "127.0.0.61",
        "security": "pop3s",
        "port": "",
        "username": "journal@good.test",
        "password": password,
    }
    assert submit_view(bot, view, fields) == (200, b"")
    slack.wait_for(
        lambda c: c.params.get("channel") == channel and "🔐" in c.params.get("text", ""), 1, WAIT
    )
    return password


@pytest.fixture(scope="module")
def checked(bot: BotProcess, slack: SlackStandIn) -> Checked:
    key, channel = new_key("rep"), new_channel()
    open_onboarding(bot, slack, key, channel, extra="--region eu")
    thread = Thread(bot, slack, key, channel)
    for text in (CONTACTS, "next", "127.0.0.40", "next", ", ".join(DOMAINS), "next"):
        thread.say(text, user=ENGINEER)
    run_checks(bot, slack, key, channel, "inbound")
    run_checks(bot, slack, key, channel, "outbound")
    password = store_password(bot, slack, key, channel)
    return Checked(key, channel, password)


def unwrapped(text: str) -> str:
    """Text as pdftotext gives it back, whatever the line breaks: it joins a word broken at a
    hyphen at the end of a line and drops that hyphen, so hyphens are left out on both sides."""
    return squeeze(text).replace("-", "")


def latest_results(db: Engine, key: str) -> list[dict[str, object]]:
    """Each check's latest stored result per subject, as the report must show them."""
    with Session(db) as session:
        runs = session.exec(
            select(CheckRun)
            .join(Onboarding, col(Onboarding.id) == col(CheckRun.onboarding_id))
            .where(Onboarding.key == key)
            .order_by(col(CheckRun.run_at).desc(), col(CheckRun.id).desc())
        ).all()
    latest: dict[tuple[object, object], dict[str, object]] = {}
    for run in runs:
        for result in run.results:
            latest.setdefault((result["id"], result["subject"]), result)
    return list(latest.values())


def shared_uploads(slack: SlackStandIn, channel: str) -> list[Call]:
    return [
        c
        for c in slack.calls("files.completeUploadExternal")
        if c.params.get("channel_id") == channel and c.answered == "ok"
    ]


def the_upload(slack: SlackStandIn, completed: Call) -> tuple[list[Call], bytes]:
    """The three calls of one files.uploadV2, in order, and the bytes uploaded."""
    (shared,) = completed.params["files"]
    file_id = shared["id"]
    got_url = [
        c for c in slack.calls("files.getUploadURLExternal") if c.response.get("file_id") == file_id
    ]
    posted = [c for c in slack.calls("files.upload") if c.params["file"] == file_id]
    steps = [*got_url, *posted, completed]
    content = uploaded(slack, file_id).content
    assert content is not None
    return steps, content


@pytest.fixture(scope="module")
def engineer_report(
    bot: BotProcess, slack: SlackStandIn, checked: Checked, tmp_path_factory: pytest.TempPathFactory
) -> tuple[list[Call], str, str]:
    """`/connect report <key>` by the engineer: the upload's calls, the HTML and its PDF text."""
    before = len(shared_uploads(slack, checked.channel))
    send_ok(bot, f"report {checked.key}", channel_id=checked.channel, user_id=ENGINEER)
    completed = slack.wait_for(
        lambda c: c in shared_uploads(slack, checked.channel), before + 1, WAIT
    )[-1]
    steps, content = the_upload(slack, completed)
    page = content.decode("utf-8")
    folder = tmp_path_factory.mktemp("printed")
    html_file, pdf_file = folder / "report.html", folder / "report.pdf"
    html_file.write_text(page, encoding="utf-8")
    print_to_pdf(html_file, pdf_file)
    return steps, page, pdf_text(pdf_file)


def test_the_engineer_s_report_is_uploaded_to_the_channel_in_three_steps(
    slack: SlackStandIn, checked: Checked, engineer_report: tuple[list[Call], str, str]
) -> None:
    steps, page, _ = engineer_report

    assert [c.method for c in steps] == list(UPLOAD_STEPS)
    assert all(c.answered == "ok" for c in steps)
    announced, sent, completed = steps
    assert announced.params["filename"].endswith(".html")
    assert checked.key in announced.params["filename"]
    assert int(announced.params["length"]) == len(page.encode("utf-8")) == sent.params["length"]
    assert completed.params["channel_id"] == checked.channel
    assert checked.key in completed.params["initial_comment"]
    assert f"<@{ENGINEER}>" in completed.params["initial_comment"]
    assert not completed.params.get("thread_ts")  # the command's: in the channel itself


def test_the_printed_report_holds_every_step_and_check_result(
    db: Engine, checked: Checked, engineer_report: tuple[list[Call], str, str]
) -> None:
    _, page, printed = engineer_report
    results = latest_results(db, checked.key)
    assert {r["subject"] for r in results} >= set(DOMAINS)  # both domains were checked

    strict_html(page)
    for title in STEP_TITLES.values():  # "both": every step applies
        assert title in printed, title
    for result in results:  # its verdict, its check and its domain together, then its finding
        word, subject = STATUS_WORDS[str(result["status"])], result["subject"] or "(account)"
        assert f"{word} {result['id']} · {subject}" in printed, result
        assert unwrapped(str(result["summary"])) in unwrapped(printed), result
    for domain in DOMAINS:
        assert domain in printed
    assert "Jane Smith" in printed  # the RFI's answers


def test_no_password_is_in_the_report_in_any_form(
    bot: BotProcess,
    slack: SlackStandIn,
    checked: Checked,
    engineer_report: tuple[list[Call], str, str],
) -> None:
    _, page, printed = engineer_report
    markdown = run_bot(
        ["report", checked.key, "--format", "md"], {"DATABASE_URL": bot.database_url}
    )
    assert markdown.returncode == 0, markdown.stderr

    for where, text in (("HTML", page), ("PDF", printed), ("Markdown", markdown.stdout)):
        assert checked.password not in text, where
        assert "journal@good.test" in text, where  # the login is shown, its password never
    uploads = json.dumps([c.params for c in slack.calls() if c.method.startswith("files.")])
    assert checked.password not in uploads


def test_the_cli_writes_the_same_report_as_markdown_and_html(
    bot: BotProcess, checked: Checked, db: Engine, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": bot.database_url}
    output = tmp_path / "report.html"

    markdown = run_bot(["report", checked.key, "--format", "md"], env)
    html = run_bot(["report", checked.key, "--format", "html", "--output", str(output)], env)

    assert (markdown.returncode, html.returncode) == (0, 0), markdown.stderr + html.stderr
    assert markdown.stdout.startswith("# Onboarding report: ")
    for title in STEP_TITLES.values():
        assert f"| {title} |" in markdown.stdout
    for result in latest_results(db, checked.key):
        assert str(result["id"]).replace("_", "\\_") in markdown.stdout
    text = page_text(output.read_text(encoding="utf-8"))  # strict: a whole, valid page
    assert "Check results" in text
    assert html.stdout == ""


def test_a_guest_of_another_team_gets_the_report_by_mention_in_the_shared_channel(
    bot: BotProcess, slack: SlackStandIn, checked: Checked
) -> None:
    user, team = guest(slack)
    before = len(shared_uploads(slack, checked.channel))

    asked = mention(bot, f"{AT} report", user=user, team=team, channel=checked.channel)

    completed = wait(slack, lambda c: c in shared_uploads(slack, checked.channel), before + 1)[-1]
    assert completed.params["thread_ts"] == asked.ts  # in the mention's thread
    assert f"<@{user}>" in completed.params["initial_comment"]
    steps, content = the_upload(slack, completed)
    assert [c.method for c in steps] == list(UPLOAD_STEPS)
    assert checked.password.encode() not in content
    assert checked.key in page_text(content.decode("utf-8"))


def test_a_guest_never_gets_another_customer_s_report(
    bot: BotProcess, slack: SlackStandIn, checked: Checked
) -> None:
    key, channel = new_key("oth"), new_channel()
    open_onboarding(bot, slack, key, channel, extra="--region eu")
    user, team = guest(slack, company="other")
    uploads = len(slack.calls("files.getUploadURLExternal"))

    asked = mention(bot, f"{AT} report {checked.key}", user=user, team=team, channel=channel)

    (refusal,) = wait(slack, asked.in_thread)
    assert refusal.params["text"].startswith(f"<@{user}> ")
    assert "I can't do that here." in refusal.params["text"]
    idle(bot)
    assert len(slack.calls("files.getUploadURLExternal")) == uploads  # nothing was made
    assert checked.key not in json.dumps([c.params for c in channel_wide(slack, channel)])


def test_a_channel_the_bot_may_not_share_in_gets_a_hint_not_a_failure(
    bot: BotProcess, slack: SlackStandIn, checked: Checked
) -> None:
    slack.fail_next("files.completeUploadExternal", "not_in_channel")

    reply = send_ok(bot, f"report {checked.key}", channel_id=checked.channel)

    (answer,) = slack.wait_for(
        lambda c: c.method == "response_url" and c.name == reply.response_name, 1, WAIT
    )
    assert answer.params["response_type"] == "ephemeral"
    assert "could not share the report" in answer.params["text"]
    assert "/invite @connect" in answer.params["text"]
