"""The bot in a terminal, with no Slack: lines in, the bot's replies out, same handlers.

`/connect ...` lines are slash commands. A line starting with `>` is a reply in the most recent
thread the bot started (the RFI), so a whole onboarding can be scripted through standard input.
"""

from __future__ import annotations

import itertools
import logging
import time
import uuid
from typing import TextIO

from bot.flows import run_command, thread_message
from bot.render.mrkdwn import to_plain
from bot.render.renderer import Message, render
from commands.core.context import Caller
from commands.credentials import CredentialForm
from commands.replies import Refusal
from commands.rfi.service import Incoming
from commands.router import Router
from commands.services import Services

log = logging.getLogger(__name__)

COMMAND = "/connect"
NOT_A_COMMAND = (
    "(the bot answers /connect commands, and replies in its threads: start a line with > "
    "to reply in the latest thread)"
)
NO_THREAD = "(no thread yet: /connect open or /connect rfi starts one)"


class ShellSurface:
    """Prints what the bot would post, and hands out Slack-like message timestamps."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.latest_thread: tuple[str, str] | None = None
        base = int(time.time())
        self._ts = (f"{base}.{n:06d}" for n in itertools.count(1))

    def post(self, channel_id: str, message: Message, thread_ts: str | None = None) -> str:
        ts = next(self._ts)
        if thread_ts is not None:  # the bot's latest thread is where `>` lines go
            self.latest_thread = (channel_id, thread_ts)
        prefix = "  ↳ " if thread_ts else ""
        self._print(to_plain(message.text), prefix)
        return ts

    def update(self, channel_id: str, ts: str, message: Message, *, final: bool) -> None:
        if final:  # a terminal shows the result, not every step of progress
            self._print(to_plain(message.text), "")

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
        return next(self._ts)

    def _print(self, text: str, prefix: str) -> None:
        indent = " " * len(prefix)
        lines = text.splitlines() or [""]
        self.out.write(prefix + lines[0] + "\n" + "".join(indent + x + "\n" for x in lines[1:]))
        self.out.write("\n")
        self.out.flush()


def run_shell(
    router: Router,
    services: Services,
    caller: Caller,
    stdin: TextIO,
    stdout: TextIO,
    *,
    interactive: bool,
) -> None:
    surface = ShellSurface(stdout)
    if interactive:
        stdout.write(
            f"connect-bot shell as {caller.user_id} in {caller.channel_id}. "
            "Type /connect help; reply in threads with > ...; end with Ctrl-D.\n"
        )
    while True:
        if interactive:
            stdout.write("> " if surface.latest_thread is None else "you> ")
            stdout.flush()
        line = stdin.readline()
        if not line:
            break
        answer(router, services, surface, caller, line.strip())


def answer(
    router: Router, services: Services, surface: ShellSurface, caller: Caller, line: str
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
        run_command(router, services, surface, caller, parsed)
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
