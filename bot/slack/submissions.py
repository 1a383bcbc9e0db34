"""The bot's modals, opened and submitted: metadata sealed to the person and the channel it was
opened in, and on submission the submitter found again through the same access rule as a
command. Shared by every feature that opens a form (the RFI, credentials)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from slack_bolt import Ack

from bot import logs
from bot.render import limits
from bot.render.modals import Sealer
from bot.render.mrkdwn import to_plain
from bot.render.renderer import render
from bot.slack.payloads import team_of
from bot.slack.runner import Runner
from bot.slack.view_seal import ViewSeal
from commands.core.context import Caller, Refused
from commands.core.text import Text
from commands.replies import Refusal

log = logging.getLogger(__name__)
T = TypeVar("T")

FORM_EXPIRED = Text(
    "This form can't be saved: it was opened for someone else, or too long ago. Close it and "
    "open it again from the onboarding's channel."
)


class Submissions:
    def __init__(self, seal: ViewSeal, runner: Runner) -> None:
        self.seal = seal
        self.runner = runner

    def sealer(self, user_id: str, channel_id: str | None) -> Sealer:
        """Seals a form's metadata for the person who asked and the channel they asked in."""

        def sealed(form: str, data: dict[str, object]) -> str:
            return self.seal.seal(form, data, user_id=user_id, channel_id=channel_id)

        return sealed

    def submitter(
        self, form: str, body: dict[str, Any], view: dict[str, Any]
    ) -> tuple[Caller, Mapping[str, object]]:
        """Who submitted a modal, where it was opened, and what its sealed metadata says.

        The submission is in the ack, so the role comes from identity's cache (filled when the
        form was opened); a miss asks users.info once. A seal that is forged, replayed by
        someone else or expired names nothing: refused before any onboarding is looked up."""
        user = body["user"]["id"]
        opened = self.seal.open(form, view.get("private_metadata"), user_id=user)
        if opened is None:
            raise Refused(FORM_EXPIRED)
        caller = Caller(user_id=user, channel_id=opened.channel_id, team_id=team_of(body))
        return self.runner.with_role(caller), opened.data

    def submit(
        self,
        ack: Ack,
        form: str,
        body: dict[str, Any],
        view: dict[str, Any],
        *,
        error_block: str,
        save: Callable[[Caller, Mapping[str, object]], T],
    ) -> T | None:
        """Run `save` for the submitter; a refusal (a bad seal, no access, a closed onboarding)
        is answered here, in the ack, as an error under `error_block`: None then."""
        try:
            caller, meta = self.submitter(form, body, view)
            return save(caller, meta)
        except Refused as exc:
            _log_refused(form, body, exc)
            ack(response_action="errors", errors={error_block: field_error(exc.text)})
            logs.bind(outcome="refused")
            return None


def _log_refused(what: str, body: dict[str, Any], exc: Refused) -> None:
    """A refused form is audited in the log with ids only (never a typed value), and not in
    any onboarding's history: a submission naming someone else's onboarding changes nothing
    of it, not even its trail."""
    user = body.get("user") or {}
    log.warning(
        "%s refused for %s of team %s: %s", what, user.get("id"), team_of(body), exc.text.template
    )


def field_error(text: Text) -> str:
    # A modal's field error is plain text of at most 150 characters: no mrkdwn escapes in it.
    return limits.cut_plain(to_plain(render(Refusal(text)).text), limits.ERROR_TEXT)
