"""The bot in a terminal, with no Slack: lines in, the bot's replies out, same handlers."""

from __future__ import annotations

import logging
import uuid
from typing import TextIO

from bot.mrkdwn import to_plain
from bot.render import render
from commands.onboarding import Caller
from commands.router import Router

log = logging.getLogger(__name__)

COMMAND = "/connect"
NOT_A_COMMAND = "(the bot answers /connect commands; try /connect help)"


def run_shell(
    router: Router, caller: Caller, stdin: TextIO, stdout: TextIO, *, interactive: bool
) -> None:
    if interactive:
        stdout.write(
            f"connect-bot shell as {caller.user_id} in {caller.channel_id}. "
            "Type /connect help; end with Ctrl-D.\n"
        )
    while True:
        if interactive:
            stdout.write("> ")
            stdout.flush()
        line = stdin.readline()
        if not line:
            break
        reply = answer(router, caller, line.strip())
        if reply:
            stdout.write(reply + "\n\n")
            stdout.flush()


def answer(router: Router, caller: Caller, line: str) -> str | None:
    """One line typed into the shell: what the bot says back, as plain text (None: nothing)."""
    if not line or line.startswith("#"):
        return None
    verb, _, rest = line.partition(" ")
    if verb != COMMAND:
        return NOT_A_COMMAND
    try:
        message = render(router.handle_text(caller, rest))
    except Exception:
        ref = uuid.uuid4().hex[:12]
        log.exception("shell command failed (ref %s)", ref)
        return f"Something went wrong (reference {ref}); the log has the details."
    text = to_plain(message.text)
    return text if message.public else f"(only you can see this)\n{text}"
