"""A recipient spreadsheet uploaded into the RFI thread, end to end: a real `connect-bot serve`,
the upload as Slack delivers it (a `file_share` message event), the file fetched through the
stand-in's files.info and private URL with the bot token, the report posted in the thread, and
the "import the valid rows" button as a signed block_actions request."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from support.bot_process import BotProcess
from support.rfi_thread import WAIT, buttons, click
from support.slack_standin import FILE_DOWNLOAD_METHOD, SlackStandIn
from support.uploads import (
    csv_bytes,
    import_reports,
    import_valid_rows,
    rfi_with_domains,
    stored,
    text_of,
    upload,
)


@pytest.fixture(scope="module")
def bot_env() -> dict[str, str]:
    return {"CONNECT_ALLOW_PRIVATE_TARGETS": "true"}


def test_a_clean_file_is_imported_once_even_when_the_event_is_retried(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    thread = rfi_with_domains(bot, slack)
    before = len(thread.replies())
    good = [(f"user{i}@acme.example", f"User {i}") for i in range(30)] + [
        ("sales@acme-eu.example", "Sales <team>")
    ]
    _, message_ts = upload(bot, thread, "recipients.csv", csv_bytes(good), event_id="EvUPLOAD1")
    (report,) = thread.slack.wait_for(lambda c: c in import_reports(slack, thread), 1, WAIT)
    # Slack retries the same event; the file is not imported a second time.
    upload(bot, thread, "recipients.csv", csv_bytes(good), event_id="EvUPLOAD1", retry=1,
           message_ts=message_ts)  # fmt: skip
    text = text_of(report)
    assert "Imported 31 recipients" in text
    assert stored(db, thread.key) == {a for a, _ in good}
    downloads = slack.calls(FILE_DOWNLOAD_METHOD)
    assert downloads
    assert all(c.headers["authorization"] == "Bearer xoxb-test" for c in downloads)
    bot.send(f"status {thread.key}", channel_id=thread.channel)
    status = slack.wait_for(
        lambda c: "31 recipients from a spreadsheet" in c.params.get("text", ""), 1, WAIT
    )
    assert status
    assert len(import_reports(slack, thread)) == 1
    assert len(thread.replies()) == before + 1


def test_problems_are_listed_by_row_and_the_button_imports_only_valid_rows(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    thread = rfi_with_domains(bot, slack)
    rows = [
        ("ann@acme.example", "Ann"),  # row 2
        ("not-an-address", "Bob"),  # row 3
        ("cy@elsewhere.example", "Cy"),  # row 4: domain not in the RFI
        ("ANN@acme.example", "Ann again"),  # row 5: duplicate of row 2
        ("<!channel>@acme.example", "Eve"),  # row 6: not an address, and must not ping
        ("dee@acme-eu.example", "Dee"),  # row 7
    ]
    upload(bot, thread, "team.csv", csv_bytes(rows))
    (report,) = slack.wait_for(lambda c: c in import_reports(slack, thread), 1, WAIT)
    text = text_of(report)
    assert "Nothing is imported yet" in text
    for row in (3, 4, 5, 6):
        assert f"Row {row}:" in text, text
    assert "Row 2:" not in text
    assert "Row 7:" not in text
    assert "<!channel>" not in text
    assert stored(db, thread.key) == set()  # nothing until someone confirms

    updated = import_valid_rows(bot, slack, thread, report, "Import the 2 valid rows")
    assert "Imported 2 recipients" in text_of(updated)
    assert not buttons(updated)  # replaced in place: the buttons are gone
    assert stored(db, thread.key) == {"ann@acme.example", "dee@acme-eu.example"}

    # The old button pressed again (a second tab, a slow client): refused, nothing changes.
    (again,) = [b for b in buttons(report) if b["action_id"] == "recipients_import_valid"]
    status, _ = click(bot, thread, report, again)
    assert status == 200
    (refusal,) = slack.wait_for(
        lambda c: c.method == "response_url" and "already imported" in c.params.get("text", ""),
        1,
        WAIT,
    )
    assert refusal.params["response_type"] == "ephemeral"
    assert stored(db, thread.key) == {"ann@acme.example", "dee@acme-eu.example"}


def test_a_file_that_is_not_a_spreadsheet_is_refused_in_the_thread(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    thread = rfi_with_domains(bot, slack)
    before = len(thread.replies())
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    upload(bot, thread, "photo.xlsx", png)
    (answer,) = thread.wait_replies(before + 1)[-1:]
    assert "is named .xlsx but is not such a file" in answer.params["text"]
    assert stored(db, thread.key) == set()


def test_files_outside_an_rfi_thread_are_left_alone(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    thread = rfi_with_domains(bot, slack)
    file_id, _ = upload(
        bot, thread, "other.csv", csv_bytes([("x@acme.example", "X")]), thread_ts="1.000001"
    )
    # A later, real upload in the RFI thread is answered; the stray one never was.
    upload(bot, thread, "real.csv", csv_bytes([("y@acme.example", "Y")]))
    slack.wait_for(lambda c: c in import_reports(slack, thread), 1, WAIT)
    assert not [c for c in slack.calls("files.info") if c.params.get("file") == file_id]
    assert stored(db, thread.key) == {"y@acme.example"}


def test_a_download_cut_short_is_answered_in_the_thread(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    thread = rfi_with_domains(bot, slack)
    upload(bot, thread, "first.csv", csv_bytes([("kept@acme.example", "Kept")]))
    slack.wait_for(lambda c: c in import_reports(slack, thread), 1, WAIT)
    before = len(thread.replies())
    content = csv_bytes([(f"user{i}@acme.example", f"User {i}") for i in range(500)])
    # Cut on a line: without a length check this would import the first rows as the list.
    cut = content.index(b"\n", len(content) // 2) + 1
    upload(bot, thread, "team.csv", content, cut_after=cut)
    (answer,) = thread.wait_replies(before + 1)[-1:]
    text = text_of(answer)
    assert "team.csv was cut off while downloading; share it again" in text, text
    assert "xoxb" not in text
    assert "files-pri" not in text
    assert "127.0.0.1" not in text
    assert stored(db, thread.key) == {"kept@acme.example"}  # the previous list stays
