"""Several files shared in one message of the RFI thread are one recipient list, end to end:
a real `connect-bot serve` on SQLite and on PostgreSQL, the files fetched from the Slack
stand-in, one report in the thread, one set of buttons, and a file that cannot be read
refusing the whole upload."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from support.bot_process import BotProcess, start_bot_process
from support.databases import ADMIN_URL
from support.rfi_thread import WAIT, Thread
from support.scratch_postgres import scratch_postgres
from support.slack_standin import Call, SlackStandIn
from support.uploads import (
    csv_bytes,
    import_reports,
    import_valid_rows,
    rfi_with_domains,
    stored,
    text_of,
    upload,
    upload_files,
)


@pytest.fixture(scope="module")
def bot_env() -> dict[str, str]:
    return {"CONNECT_ALLOW_PRIVATE_TARGETS": "true"}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def bot(
    request: pytest.FixtureRequest,
    slack: SlackStandIn,
    bot_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[BotProcess]:
    """The module's bot, once on SQLite and once on a scratch PostgreSQL database."""

    def start(database_url: str | None) -> BotProcess:
        return start_bot_process(
            api_url=slack.api_url,
            workdir=tmp_path_factory.mktemp("bot"),
            database_url=database_url,
            response_url=slack.response_url,
            standin=slack,
            env=bot_env,
        )

    if request.param == "sqlite":
        process = start(None)
        try:
            yield process
        finally:
            process.stop()
        return
    with scratch_postgres(ADMIN_URL, label="uploads") as url:
        # psycopg 3 for the test's own engine too (the bot normalises its URL itself).
        process = start(url.replace("postgresql://", "postgresql+psycopg://", 1))
        try:
            yield process
        finally:
            process.stop()


Rows = list[tuple[str, str]]


def sales_and_support(
    bot: BotProcess, slack: SlackStandIn, thread: Thread, sales: Rows, support: Rows
) -> Call:
    """Share sales.csv and support.csv in one message; the one report it gets."""
    files = [("sales.csv", csv_bytes(sales), None), ("support.csv", csv_bytes(support), None)]
    upload_files(bot, thread, files)
    (report,) = slack.wait_for(lambda c: c in import_reports(slack, thread), 1, WAIT)
    return report


def test_two_clean_files_in_one_message_are_one_import(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    thread = rfi_with_domains(bot, slack)
    sales = [(f"sales{i}@acme.example", f"Sales {i}") for i in range(3)]
    support = [(f"support{i}@acme-eu.example", f"Support {i}") for i in range(2)]
    before = len(thread.replies())
    report = sales_and_support(bot, slack, thread, sales, support)
    text = text_of(report)
    assert "Recipients from sales.csv and support.csv" in text
    assert "Imported 5 recipients" in text
    assert "sales.csv: 3 rows · header at A1 · 3 valid" in text
    assert "support.csv: 2 rows · header at A1 · 2 valid" in text
    assert stored(db, thread.key) == {a for a, _ in sales + support}
    assert len(thread.wait_replies(before + 1)) == before + 1  # one answer for the upload
    assert len(thread.replies()) == before + 1


def test_a_duplicate_across_files_names_both_places(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    thread = rfi_with_domains(bot, slack)
    sales = [("ann@acme.example", "Ann"), ("jane@acme.example", "Jane")]  # rows 2, 3
    support = [("raj@acme.example", "Raj"), ("JANE@acme.example", "Jane S.")]  # rows 2, 3
    report = sales_and_support(bot, slack, thread, sales, support)
    text = text_of(report)
    assert "Nothing is imported yet" in text
    assert (
        "support.csv row 3: JANE@acme.example is listed more than once "
        "(first in sales.csv row 3)" in text
    ), text
    assert "support.csv: 2 rows · header at A1 · 1 valid · 1 with problems" in text
    assert stored(db, thread.key) == set()


def test_one_unreadable_file_refuses_the_whole_upload_and_keeps_the_old_list(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    thread = rfi_with_domains(bot, slack)
    upload(bot, thread, "old.csv", csv_bytes([("old@acme.example", "Old")]))
    slack.wait_for(lambda c: c in import_reports(slack, thread), 1, WAIT)
    before = len(thread.replies())
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    good = csv_bytes([("new@acme.example", "New")])
    upload_files(bot, thread, [("good.csv", good, None), ("photo.xlsx", png, None)])
    (answer,) = thread.wait_replies(before + 1)[before:]
    text = text_of(answer)
    assert "photo.xlsx is named .xlsx but is not such a file" in text, text
    assert "Nothing from this upload was imported" in text
    assert stored(db, thread.key) == {"old@acme.example"}
    assert len(import_reports(slack, thread)) == 1  # only the first upload's


def test_a_failed_download_of_one_file_refuses_the_upload(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    thread = rfi_with_domains(bot, slack)
    before = len(thread.replies())
    good = csv_bytes([("new@acme.example", "New")])
    cut = csv_bytes([(f"u{i}@acme.example", "U") for i in range(100)])
    upload_files(bot, thread, [("good.csv", good, None), ("team.csv", cut, 40)])
    (answer,) = thread.wait_replies(before + 1)[before:]
    text = text_of(answer)
    assert "team.csv was cut off while downloading; share it again" in text, text
    assert "Nothing from this upload was imported" in text
    assert stored(db, thread.key) == set()


def test_two_files_with_problems_get_one_message_and_one_working_button(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    thread = rfi_with_domains(bot, slack)
    before = len(thread.replies())
    sales = [("ann@acme.example", "Ann"), ("not-an-address", "Bob")]  # row 3 bad
    support = [("cy@elsewhere.example", "Cy"), ("dee@acme-eu.example", "Dee")]  # row 2 bad
    report = sales_and_support(bot, slack, thread, sales, support)
    text = text_of(report)
    assert "sales.csv row 3:" in text, text
    assert "support.csv row 2:" in text, text
    assert "Row " not in text  # each problem names its file
    updated = import_valid_rows(bot, slack, thread, report, "Import the 2 valid rows")
    assert "Imported 2 recipients" in text_of(updated)
    assert stored(db, thread.key) == {"ann@acme.example", "dee@acme-eu.example"}
    assert len(thread.replies()) == before + 1  # one report for the two files


def test_more_files_than_one_list_takes_are_refused_whole(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    thread = rfi_with_domains(bot, slack)
    before = len(thread.replies())
    files = [(f"part{i}.csv", csv_bytes([(f"u{i}@acme.example", "U")]), None) for i in range(6)]
    upload_files(bot, thread, files)
    (answer,) = thread.wait_replies(before + 1)[before:]
    assert "I import up to 5 files shared in one message" in text_of(answer)
    assert stored(db, thread.key) == set()
