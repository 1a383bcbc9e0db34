"""Work after the ack: every listener hands its job here. The job runs on a pool; a Refused
becomes the person's refusal and any other failure a reference they can quote, in this one
place for every door (command, button, form, thread reply)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import replace

from slack_bolt import Respond

from bot import logs
from bot.render.renderer import render
from bot.slack.delivery import ack_payload
from bot.slack.identity import Identity
from commands.core.context import Caller, Refused
from commands.replies import Refusal

log = logging.getLogger(__name__)

RESTARTING = "connect-bot is restarting and did not run that; please try again in a minute."
TROUBLE = (
    "Something went wrong on our side (reference {ref}). Nothing you typed was lost: "
    "`/connect status` shows where things stand, and the reference finds the details in our logs."
)

Later = Callable[[str, Respond | None, Callable[[], object]], None]


class Runner:
    def __init__(self, work: Executor, identity: Identity) -> None:
        self.work = work
        self.identity = identity

    def with_role(self, caller: Caller) -> Caller:
        """The caller with their role from users.info (cached): only ever on the pool."""
        return replace(caller, role=self.identity.role(caller.user_id, caller.team_id))

    def later(self, what: str, respond: Respond | None, job: Callable[[], object]) -> None:
        """Run `job` on the pool; a refusal or a failure is told to the person (by
        `respond`, when the request has a response_url) and logged."""

        def run() -> None:
            try:
                done = job()
            except Refused as exc:
                logs.finished("refused")
                if respond is not None:
                    respond(**ack_payload(render(Refusal(exc.text))))
            except Exception:
                ref = uuid.uuid4().hex[:12]
                log.exception("%s failed (ref %s)", what, ref)
                logs.finished("error", ref=ref)
                if respond is not None:
                    respond(response_type="ephemeral", text=TROUBLE.format(ref=ref))
            else:
                named = {"result": type(done).__name__} if done is not None else {}
                logs.finished("refused" if isinstance(done, Refusal) else "ok", **named)

        try:
            self.work.submit(logs.carry(run))  # the work's log lines still name the request
        except RuntimeError:  # the pool is shut down: this process is stopping
            log.warning("%s arrived while stopping; asked to retry", what)
            logs.bind(deferred=False, outcome="error")
            if respond is not None:
                respond(response_type="ephemeral", text=RESTARTING)
