"""Modals from buttons, opened before any slow work.

A button's trigger_id lives 3 seconds. The click is acked at once and a "loading" modal is
opened with it on a small pool of its own (never behind the work pool's queue, where a busy
minute would let the trigger expire); then, on the work pool, the clicker's role is resolved
(users.info), the form is made (the database) and `views.update` puts it in the open modal. A
refusal or a failure replaces the loading modal with a notice. When Slack answers
`expired_trigger_id` anyway, the clicker is told to press the button again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View

from bot import logs
from bot.render.modal_states import loading_view, notice_view
from bot.render.renderer import render
from bot.slack.payloads import team_of
from bot.slack.runner import Runner
from commands.core.context import Caller, Refused
from commands.replies import Refusal

log = logging.getLogger(__name__)

VIEW_THREADS = 2  # they only ever call views.open, which Slack answers in well under a second
PRESS_AGAIN = (
    "That form took too long to open (Slack allows 3 seconds after a click), so nothing "
    "opened. Press the button again."
)
NOT_OPENED = "The form could not open ({error}). Press the button again."
FAILED = "Something went wrong on our side while making this form. Close it and try again."

# Makes the form for a caller whose role is known; raises Refused to say why not.
FormMaker = Callable[[Caller], View | dict[str, Any]]


class ModalOpener:
    def __init__(self, runner: Runner, threads: int = VIEW_THREADS) -> None:
        self.runner = runner
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="views")

    def open(
        self,
        what: str,
        body: dict[str, Any],
        client: WebClient,
        respond: Respond | None,
        title: str,
        make: FormMaker,
    ) -> None:
        """For a clicked button (already acked): open a loading modal now, then the form."""
        user, trigger = body["user"]["id"], body.get("trigger_id") or ""
        container = body.get("container") or {}
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
        caller = Caller(user_id=user, channel_id=channel, team_id=team_of(body))

        def first() -> None:
            view_id = self._loading(client, respond, caller, trigger, title)
            if view_id is not None:
                self.runner.later(
                    what, respond, lambda: self._fill(client, view_id, caller, title, make)
                )

        try:
            self.pool.submit(logs.carry(first))
        except RuntimeError:  # stopping: the runner says so to the person
            self.runner.later(what, respond, first)

    def _loading(
        self, client: WebClient, respond: Respond | None, caller: Caller, trigger: str, title: str
    ) -> str | None:
        try:
            opened = client.views_open(trigger_id=trigger, view=loading_view(title))
        except SlackApiError as exc:
            error = str(exc.response.get("error"))
            log.warning("views.open refused: %s", error)
            text = PRESS_AGAIN if error == "expired_trigger_id" else NOT_OPENED.format(error=error)
            _tell(client, respond, caller, text)
            logs.finished("error", error=error)  # no work follows: the request ends here
            return None
        return str((opened.get("view") or {}).get("id") or "") or None

    def _fill(
        self, client: WebClient, view_id: str, caller: Caller, title: str, make: FormMaker
    ) -> None:
        who = self.runner.with_role(caller)
        try:
            view = make(who)
        except Refused as exc:
            view = notice_view(title, render(Refusal(exc.text, door=who.shown_door)).text)
        except Exception:
            client.views_update(view_id=view_id, view=notice_view(title, FAILED))
            raise  # the runner logs it and gives the person a reference
        client.views_update(view_id=view_id, view=view)


def _tell(client: WebClient, respond: Respond | None, caller: Caller, text: str) -> None:
    """Say `text` to the clicker alone: through the click's response_url, else ephemerally."""
    try:
        if respond is not None:
            respond(response_type="ephemeral", replace_original=False, text=text)
        elif caller.channel_id:
            client.chat_postEphemeral(channel=caller.channel_id, user=caller.user_id, text=text)
    except Exception:
        log.exception("could not tell %s that the form did not open", caller.user_id)
