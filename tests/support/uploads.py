"""Recipient spreadsheets shared in an RFI thread, for tests that drive a real `connect-bot
serve`: an RFI answered as far as its domains, files shared as Slack delivers them (a
`file_share` message event, the files served by the stand-in), the import report and its
buttons, and the recipients stored."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from store.models import Onboarding, Recipient
from support.bot_process import BotProcess
from support.rfi_thread import WAIT, Thread, buttons, click, mrkdwn_of, open_rfi, send_event, ts
from support.slack_standin import Call, SlackStandIn

CONTACTS = "Jane, jane@acme.example, primary\nRaj, raj@acme.example, technical"


def rfi_with_domains(bot: BotProcess, slack: SlackStandIn) -> Thread:
    thread = open_rfi(bot, slack)
    for text in (CONTACTS, "next", "127.0.0.40", "next", "acme.example, acme-eu.example"):
        thread.say(text)
    return thread


def csv_bytes(rows: list[tuple[str, str]]) -> bytes:
    return ("email,name\n" + "".join(f"{a},{n}\n" for a, n in rows)).encode()


def upload(
    bot: BotProcess,
    thread: Thread,
    name: str,
    content: bytes,
    *,
    event_id: str | None = None,
    retry: int | None = None,
    message_ts: str | None = None,
    thread_ts: str | None = None,
    cut_after: int | None = None,
) -> tuple[str, str]:
    """Share a file as a reply in the thread; returns (file id, message ts)."""
    (file_id,), message_ts = upload_files(
        bot,
        thread,
        [(name, content, cut_after)],
        event_id=event_id,
        retry=retry,
        message_ts=message_ts,
        thread_ts=thread_ts,
    )
    return file_id, message_ts


def upload_files(
    bot: BotProcess,
    thread: Thread,
    files: list[tuple[str, bytes, int | None]],
    *,
    event_id: str | None = None,
    retry: int | None = None,
    message_ts: str | None = None,
    thread_ts: str | None = None,
    **info: Any,
) -> tuple[list[str], str]:
    """Share files (name, content, bytes sent before the download is cut or None) in one
    message in the thread; returns (file ids, message ts). `info`: fields files.info gives
    for each file besides its own (url_private_download: a file served elsewhere)."""
    ids = []
    for name, content, cut_after in files:
        file_id = "F" + uuid.uuid4().hex[:10].upper()
        thread.slack.add_file(file_id, name, content, cut_after=cut_after, **info)
        ids.append(file_id)
    message_ts = message_ts or ts()
    status = send_event(
        bot,
        {
            "type": "message",
            "subtype": "file_share",
            "channel": thread.channel,
            "channel_type": "channel",
            "user": "U0CUST",
            "text": "",
            "ts": message_ts,
            "thread_ts": thread_ts or thread.ts,
            "event_ts": message_ts,
            "files": [
                {"id": file_id, "name": name, "file_access": "check_file_info"}
                for file_id, (name, _, _) in zip(ids, files, strict=True)
            ],
        },
        event_id=event_id,
        retry=retry,
    )
    assert status == 200
    return ids, message_ts


def import_reports(slack: SlackStandIn, thread: Thread) -> list[Call]:
    return [c for c in thread.replies() if "Recipients from" in c.params.get("text", "")]


def stored(db: Engine, key: str) -> set[str]:
    with Session(db) as session:
        rows = session.exec(
            select(Recipient.address)
            .join(Onboarding, col(Onboarding.id) == col(Recipient.onboarding_id))
            .where(Onboarding.key == key)
        ).all()
    return set(rows)


def text_of(call: Call) -> str:
    return "\n".join(mrkdwn_of(call))


def import_valid_rows(
    bot: BotProcess, slack: SlackStandIn, thread: Thread, report: Call, label: str
) -> Call:
    """Press "Import the N valid rows" under a staged report; the message it became."""
    by_action = {b["action_id"]: b for b in buttons(report)}
    assert set(by_action) == {"recipients_import_valid", "recipients_discard"}
    assert by_action["recipients_import_valid"]["text"]["text"] == label
    status, _ = click(bot, thread, report, by_action["recipients_import_valid"])
    assert status == 200
    (updated,) = slack.wait_for(
        lambda c: c.method == "chat.update" and c.params.get("ts") == report.response["ts"],
        1,
        WAIT,
    )
    return updated
