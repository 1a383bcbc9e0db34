"""Hostile uploads do not starve the bot, end to end: a real `connect-bot serve`, eight uploads
of a zip bomb shared in an RFI thread (issue 16 measured them filling the command pool for
minutes), `/connect status` answered while they wait, and each refused in the thread with
nothing imported."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import Engine
from support.bot_process import BotProcess
from support.hostile_xlsx import empty_cells
from support.rfi_thread import WAIT
from support.slack_standin import SlackStandIn
from support.uploads import rfi_with_domains, stored, upload_files

from bot.wiring import IMPORT_THREADS

UPLOADS = 8  # as many as the command pool has threads
HOLD = 60.0  # the longest a download is held (the test releases them long before)


@pytest.fixture(scope="module")
def bot_env() -> dict[str, str]:
    return {"CONNECT_ALLOW_PRIVATE_TARGETS": "true"}


class HeldFiles:
    """A file host on the loopback that answers each download only once the test releases
    them: downloads in flight for as long as a test needs (Slack's stand-in answers at once)."""

    def __init__(self, content: bytes) -> None:
        self.content = content
        self.started = 0
        self._cond = threading.Condition()
        self._released = threading.Event()
        held = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with held._cond:
                    held.started += 1
                    held._cond.notify_all()
                held._released.wait(HOLD)
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(held.content)))
                self.end_headers()
                self.wfile.write(held.content)

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/files-pri/held/list.xlsx"

    def wait_started(self, count: int, timeout: float) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: self.started >= count, timeout), self.started

    def release(self) -> None:
        self._released.set()

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def held(tmp_path: Path) -> Iterator[HeldFiles]:
    files = HeldFiles(empty_cells(tmp_path / "bomb.xlsx").read_bytes())
    try:
        yield files
    finally:
        files.close()


def test_status_answers_while_zip_bombs_wait_and_each_is_refused(
    bot: BotProcess, slack: SlackStandIn, db: Engine, held: HeldFiles
) -> None:
    thread = rfi_with_domains(bot, slack)
    before = len(thread.replies())
    for _ in range(UPLOADS):
        upload_files(
            bot, thread, [("list.xlsx", held.content, None)], url_private_download=held.url
        )
    held.wait_started(IMPORT_THREADS, WAIT)  # the import pool is busy, the others wait

    reply = bot.send(f"status {thread.key}", channel_id=thread.channel, user_id="U0ENG")
    assert reply.status == 200
    slack.wait_for(
        lambda c: (
            c.method == "chat.postMessage"
            and c.params.get("channel") == thread.channel
            and "Firewall lockdown" in c.params.get("text", "")
            and "Onboarding: " not in c.params.get("text", "")
        ),
        1,
        WAIT,
    )
    # The uploads queued for the import pool, not on the command pool's threads.
    assert held.started == IMPORT_THREADS

    held.release()
    answers = thread.slack.wait_for(
        lambda c: c in thread.replies() and "list.xlsx was not read" in c.params.get("text", ""),
        UPLOADS,
        3 * WAIT,
    )
    assert len(answers) == UPLOADS
    assert len(thread.replies()) == before + UPLOADS
    for answer in answers:
        text = answer.params["text"]
        assert "unpacks to 100 MiB" in text, text
        assert "zip bomb" in text, text
    assert held.started == UPLOADS
    assert stored(db, thread.key) == set()
