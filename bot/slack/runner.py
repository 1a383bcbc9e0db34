"""Work after the ack: every listener hands its job here. The job runs on a pool; a Refused
becomes the person's refusal and any other failure a reference they can quote, in this one
place for every door (command, mention, button, form, thread reply)."""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager, suppress
from dataclasses import replace
from typing import TYPE_CHECKING

from slack_bolt import Respond
from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock

from bot import logs
from bot.render.renderer import Message, render
from bot.slack.delivery import ack_payload
from bot.slack.identity import Identity
from commands.core.context import Caller, Door, Refused
from commands.replies import Refusal

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

log = logging.getLogger(__name__)

RESTARTING = "connect-bot is restarting and did not run that; please try again in a minute."
TROUBLE = (
    "Something went wrong on our side (reference {ref}). Nothing you typed was lost: "
    "`{door} status` shows where things stand, and the reference finds the details in our logs."
)

# How a door answers the person who asked: a slash command's or a button's response_url, or
# (a mention, which has none) a callable that takes the message and replies in its thread.
Answer = Respond | Callable[[Message], None]
Later = Callable[[str, Answer | None, Callable[[], object]], None]


class Runner:
    def __init__(self, work: Executor, identity: Identity) -> None:
        self.work = work
        self.identity = identity

    def with_role(self, caller: Caller) -> Caller:
        """The caller with their role from users.info (cached): only ever on the pool."""
        return replace(caller, role=self.identity.role(caller.user_id, caller.team_id))

    def resolve(self, caller: Caller, *, zone: bool) -> Caller:
        """The caller with their role and, when the verb reads a time they typed (`zone`),
        their time zone: one users.info at most, cached. Only ever on the pool."""
        who = self.with_role(caller)
        return replace(who, tz=self.identity.zone(caller.user_id)) if zone else who

    def later(
        self,
        what: str,
        respond: Answer | None,
        job: Callable[[], object],
        *,
        door: Door = Door.SLASH,
    ) -> None:
        """Run `job` on the pool; a refusal or a failure is told to the person (through
        `respond`, when the door has a way to answer) and logged. `door` spells the command a
        failure's note suggests."""

        def run() -> None:
            try:
                done = job()
            except Refused as exc:
                logs.finished("refused")
                _answer(respond, render(Refusal(exc.text, door=door), door=door.value))
            except Exception:
                ref = uuid.uuid4().hex[:12]
                log.exception("%s failed (ref %s)", what, ref)
                logs.finished("error", ref=ref)
                _note(respond, TROUBLE.format(ref=ref, door=door.value))
            else:
                named = {"result": type(done).__name__} if done is not None else {}
                logs.finished("refused" if isinstance(done, Refusal) else "ok", **named)

        try:
            self.work.submit(logs.carry(run))  # the work's log lines still name the request
        except RuntimeError:  # the pool is shut down: this process is stopping
            log.warning("%s arrived while stopping; asked to retry", what)
            logs.bind(deferred=False, outcome="error")
            _note(respond, RESTARTING)


def _answer(respond: Answer | None, message: Message) -> None:
    if isinstance(respond, Respond):
        respond(**ack_payload(message))
    elif respond is not None:
        respond(message)


def _note(respond: Answer | None, text: str) -> None:
    """A note of ours (a failure's reference, a restart) as a private answer; it is said to the
    person like a refusal: nothing they asked for was done."""
    if isinstance(respond, Respond):
        respond(response_type="ephemeral", text=text)
    elif respond is not None:
        section = SectionBlock(text=MarkdownTextObject(text=text, verbatim=True))
        respond(Message(text=text, blocks=[section], public=False, refusal=True))


@contextmanager
def closed_first(handler: SocketModeHandler) -> Iterator[None]:
    """Around a Socket Mode handler's `start()`, inside the drain: on the way out (SIGTERM,
    Ctrl-C) the WebSocket is closed before the acked work drains, so Slack sends no envelope
    that a stopping process could only refuse; an envelope not yet acked goes to another
    connection when Slack retries it."""
    try:
        yield
    finally:
        log.info("stopping: closing the Socket Mode connection")
        try:
            _close_now(handler)
        except Exception:  # the drain must still run
            log.exception("closing the Socket Mode connection failed")


def _close_now(handler: SocketModeHandler) -> None:
    client = handler.client
    client.auto_reconnect_enabled = False  # the monitor must not open a new one
    # slack_sdk's close() waits for its reader's 3 s receive timeout before it closes the
    # socket; shutting the socket down first ends the stream at once (no more envelopes).
    session = client.current_session
    sock = getattr(session, "sock", None) if session is not None else None
    if sock is not None:
        with suppress(OSError):  # already gone
            sock.shutdown(socket.SHUT_RDWR)
    handler.close()
