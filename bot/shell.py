"""The bot in a terminal, with no Slack: lines in, the bot's replies out, same handlers.

`/connect ...` lines are slash commands. A line starting with `>` is a reply in the most recent
thread the bot started (the RFI), so a whole onboarding can be scripted through standard input.

Reminders: on a local SQLite database with no Slack bot configured, the shell is the only door,
so it delivers due reminders itself while it runs (printed, with the same claims as the Slack
dispatcher, so each is delivered once). Anywhere else the Slack bot delivers them, and the shell
says so instead of taking them from it.
"""

from __future__ import annotations

import itertools
import logging
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import TextIO

from bot.flows import SharedFile, run_command, thread_message
from bot.render.mrkdwn import to_plain
from bot.render.reminder_message import reminder_message
from bot.render.renderer import Message, render
from bot.slack.dispatcher import worker_name
from commands.core.context import Caller
from commands.credentials import CredentialForm
from commands.replies import Refusal, ReminderSet
from commands.rfi.service import Incoming
from commands.router import Router
from commands.services import Services
from store import reminders
from store.db import Database
from store.models import utcnow

log = logging.getLogger(__name__)

COMMAND = "/connect"
NOT_A_COMMAND = (
    "(the bot answers /connect commands, and replies in its threads: start a line with > "
    "to reply in the latest thread)"
)
NO_THREAD = "(no thread yet: /connect open or /connect rfi starts one)"
DELIVERING = "Due reminders are printed here while the shell runs."
NOT_DELIVERING = (
    "(reminders are not delivered in this shell: the Slack bot (connect-bot run, serve or "
    "worker) posts them in their channel when due)"
)


class ShellSurface:
    """Prints what the bot would post, and hands out Slack-like message timestamps."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.latest_thread: tuple[str, str] | None = None
        self._lock = threading.Lock()  # reminders are printed from their own thread
        self._base = int(time.time())
        # A counter, not a generator: the reminders' thread takes timestamps too, and a
        # generator cannot be advanced from two threads at once.
        self._count = itertools.count(1)

    def post(self, channel_id: str, message: Message, thread_ts: str | None = None) -> str:
        ts = self.next_ts()
        if thread_ts is not None:  # the bot's latest thread is where `>` lines go
            self.latest_thread = (channel_id, thread_ts)
        prefix = "  ↳ " if thread_ts else ""
        self._print(to_plain(message.text), prefix)
        return ts

    def update(self, channel_id: str, ts: str, message: Message, *, final: bool) -> None:
        if final:  # a terminal shows the result, not every step of progress
            self._print(to_plain(message.text), "")

    def share_file(self, channel_id: str, file: SharedFile, thread_ts: str | None = None) -> None:
        # No Slack to share it in: the file goes to a new folder of its own, never over another.
        path = Path(tempfile.mkdtemp(prefix="connect-")) / file.filename
        path.write_bytes(file.content)
        self._print(f"{file.title}: written to {path}", "")

    def open_form(self, form: CredentialForm, caller: Caller) -> None:
        # A password typed into a terminal script would sit in shell history and files.
        self.out.write(
            "(credentials are entered in a private Slack form, never typed into a channel "
            "or a script; run /connect credentials in Slack)\n\n"
        )

    def keep_card(self, channel_id: str, ts: str) -> str | None:
        return None  # the shell has no pins and no links

    def tell(self, message: Message, *, public: bool = False) -> None:
        text = to_plain(message.text)
        self._print(text if public else f"(only you can see this)\n{text}", "")

    def next_ts(self) -> str:
        return f"{self._base}.{next(self._count):06d}"

    def announce(self, text: str) -> None:
        """Print something that is not an answer (a reminder falling due): the thread that `>`
        replies go to stays the one it was."""
        self._print(text, "")

    def _print(self, text: str, prefix: str) -> None:
        indent = " " * len(prefix)
        lines = text.splitlines() or [""]
        with self._lock:
            self.out.write(prefix + lines[0] + "\n" + "".join(indent + x + "\n" for x in lines[1:]))
            self.out.write("\n")
            self.out.flush()


class ShellReminders:
    """Delivers due reminders to the shell while it runs: claimed, printed and recorded as sent
    through store.reminders, as the Slack dispatcher does, so one is never delivered twice."""

    def __init__(self, db: Database, *, poll_seconds: float, lease: timedelta) -> None:
        self.db = db
        self.poll_seconds = poll_seconds
        self.lease = lease
        self.worker = f"shell:{worker_name()}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, surface: ShellSurface) -> None:
        self._thread = threading.Thread(
            target=self._run, args=(surface,), name="shell-reminders", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self, surface: ShellSurface) -> None:
        while not self._stop.is_set():
            try:
                self.tick(surface)
            except Exception:  # the shell goes on; the claim expires and is taken again
                log.exception("delivering due reminders in the shell failed")
            self._stop.wait(self.poll_seconds)

    def tick(self, surface: ShellSurface) -> int:
        """Print every reminder due now; returns how many."""
        rows = reminders.claim_due(
            self.db, worker=self.worker, now=utcnow(), limit=100, lease=self.lease
        )
        for row in rows:
            assert row.id is not None
            text = to_plain(reminder_message(row).text)
            surface.announce(
                f"{text}\n(in {row.channel_id}; /connect remind done {row.id} marks it done)"
            )
            with self.db.session(write=True) as session:
                reminders.mark_sent(
                    session, row.id, worker=self.worker, message_ts=surface.next_ts(), at=utcnow()
                )
        return len(rows)


def run_shell(
    router: Router,
    services: Services,
    caller: Caller,
    stdin: TextIO,
    stdout: TextIO,
    *,
    interactive: bool,
    due: ShellReminders | None = None,
) -> None:
    """Read lines until the end of input. `due`: deliver reminders here (None: the Slack bot
    does, and the shell says so at start and when a reminder is set)."""
    surface = ShellSurface(stdout)
    if interactive:
        stdout.write(
            f"connect-bot shell as {caller.user_id} in {caller.channel_id}. "
            "Type /connect help; reply in threads with > ...; end with Ctrl-D.\n"
            f"{DELIVERING if due is not None else NOT_DELIVERING}\n"
        )
    if due is not None:
        due.start(surface)
    try:
        while True:
            if interactive:
                stdout.write("> " if surface.latest_thread is None else "you> ")
                stdout.flush()
            line = stdin.readline()
            if not line:
                break
            answer(router, services, surface, caller, line.strip(), delivering=due is not None)
    finally:
        if due is not None:
            due.stop()


def answer(
    router: Router,
    services: Services,
    surface: ShellSurface,
    caller: Caller,
    line: str,
    *,
    delivering: bool = True,
) -> None:
    """One line typed into the shell: run it and print what the bot says back."""
    if not line or line.startswith("#"):
        return
    try:
        if line.startswith(">"):
            _thread_reply(services, surface, caller, line[1:].strip())
            return
        verb, _, rest = line.partition(" ")
        if verb != COMMAND:
            surface.out.write(NOT_A_COMMAND + "\n\n")
            return
        parsed = router.parse(rest)
        if isinstance(parsed, Refusal):
            surface.tell(render(parsed))
            return
        result = run_command(router, services, surface, caller, parsed)
        if isinstance(result, ReminderSet) and not delivering:
            surface.out.write(NOT_DELIVERING + "\n\n")
    except Exception:
        ref = uuid.uuid4().hex[:12]
        log.exception("shell line failed (ref %s)", ref)
        surface.out.write(f"Something went wrong (reference {ref}); the log has the details.\n\n")


def _thread_reply(services: Services, surface: ShellSurface, caller: Caller, text: str) -> None:
    if surface.latest_thread is None:
        surface.out.write(NO_THREAD + "\n\n")
        return
    channel_id, thread_ts = surface.latest_thread
    message = Incoming(channel_id, thread_ts, surface.next_ts(), caller.user_id, text)
    if thread_message(services.rfi, surface, message) is None:
        surface.out.write("(the bot did not answer: that thread is not an RFI thread)\n\n")
