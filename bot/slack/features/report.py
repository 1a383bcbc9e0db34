"""`/connect report` and `@connect report`: the onboarding's report as an HTML file uploaded to its
channel (files.uploadV2: files.getUploadURLExternal, the upload, files.completeUploadExternal).

Its listeners are registered before the general `/connect` and `@connect` ones and match only
the `report` verb (Bolt runs the first listener that matches), because the answer is a file,
not a message. Everything else is the general path: the same grammar, verb registry and role
check (commands/router.py), the access rule in the service, refusals told only to the person.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import logs
from bot.render import mrkdwn
from bot.render.renderer import render
from bot.render.report import render_report
from bot.slack.delivery import MentionSurface, SlackSurface, ack_payload
from bot.slack.identity import Identity
from bot.slack.payloads import command_text, mention, slash_caller
from bot.slack.runner import Runner
from bot.wiring import Core
from commands.core.context import Caller, Door
from commands.core.once import first_time
from commands.core.text import Text
from commands.grammar import Command
from commands.replies import Refusal
from commands.report.model import OnboardingReport

log = logging.getLogger(__name__)

VERB = "report"
# Slack's errors for a channel the bot may not share a file in.
_CANNOT_SHARE = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}
CANNOT_SHARE = (  # a template: Slack's error is filled in
    "I could not share the report in the onboarding's channel ({error}). Invite me with "
    "{invite}, then ask again."
)


def _is_report(text: str) -> bool:
    words = command_text(text).split(maxsplit=1)
    return bool(words) and words[0].lower() == VERB


def register(app: App, core: Core, identity: Identity) -> None:
    router, runner = core.router, Runner(core.work, identity)

    def slash_report(body: dict[str, Any]) -> bool:
        return _is_report(str(body.get("text") or ""))

    def mention_report(body: dict[str, Any], context: BoltContext) -> bool:
        asked = mention(body.get("event") or {}, context.bot_user_id)
        return asked is not None and _is_report(asked.text)

    @app.command("/connect", matchers=[slash_report])
    def on_report_command(
        ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        # The role guessed without a users.info call, as the general listener does: it only
        # spells a usage error's door; the work on the pool asks Slack.
        guessed = identity.guess(
            command["user_id"], command.get("team_id"), command.get("enterprise_id")
        )
        caller = replace(slash_caller(command), role=guessed)
        parsed = router.parse(command_text(command.get("text", "")), caller.shown_door)
        logs.bind(verb=VERB)
        if isinstance(parsed, Refusal):  # a usage error: answered in the ack, as for any verb
            ack(**ack_payload(render(parsed)))
            return
        ack()

        def job() -> object:
            who = runner.resolve(caller, zone=False)
            return _deliver(client, SlackSurface(client, respond), who, parsed, None)

        runner.later(f"/connect {VERB}", respond, job)

    @app.event("app_mention", matchers=[mention_report])
    def on_report_mention(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        asked = mention(event, context.bot_user_id)
        assert asked is not None  # the matcher said so
        parsed = router.parse(asked.text, Door.MENTION)
        logs.bind(verb=VERB)
        surface = MentionSurface(client, asked.channel_id, asked.thread_ts, asked.user_id)

        def job() -> object:
            # Slack delivers an event again when its ack was late: one message, one report.
            if not first_time(core.db, f"mention:{asked.channel_id}:{asked.ts}"):
                return None
            if isinstance(parsed, Refusal):
                surface.tell(render(parsed))
                return parsed
            who = runner.resolve(asked.caller, zone=False)
            return _deliver(client, surface, who, parsed, asked.thread_ts)

        runner.later(f"@connect {VERB}", surface, job, door=Door.MENTION)

    def _deliver(
        client: WebClient,
        surface: SlackSurface,
        caller: Caller,
        command: Command,
        thread_ts: str | None,
    ) -> object:
        result = router.handle(caller, command)
        if not isinstance(result, OnboardingReport):  # a refusal, said to the person only
            surface.tell(render(result))
            return result
        upload(client, surface, caller, result, thread_ts)
        return result


def upload(
    client: WebClient,
    surface: SlackSurface,
    caller: Caller,
    report: OnboardingReport,
    thread_ts: str | None,
) -> None:
    """Share the HTML report in the onboarding's channel (in the mention's thread when asked
    there); the channel the person asked in when the onboarding has none."""
    channel = report.onboarding.channel_id or caller.channel_id
    assert channel is not None
    page = render_report(report, "html").encode("utf-8")
    o = report.onboarding
    comment = (
        f"Onboarding report for {mrkdwn.escape(o.name)} ({mrkdwn.escape(o.key)}), asked for by "
        f"{mrkdwn.user(caller.user_id)}: {o.done} of {o.applicable} steps done."
    )
    try:
        client.files_upload_v2(
            channel=channel,
            content=page,
            filename=f"{report.stem}.html",
            title=f"Onboarding report: {o.name} ({o.key})",
            initial_comment=comment,
            # The thread only when the mention was in the onboarding's own channel.
            thread_ts=thread_ts if channel == caller.channel_id else None,
        )
    except SlackApiError as exc:
        error = str(exc.response.get("error"))
        if error not in _CANNOT_SHARE:
            raise
        log.info("report for %s not shared in %s: %s", o.key, channel, error)
        refusal = Text(CANNOT_SHARE, error=error, invite="/invite @connect")
        surface.tell(render(Refusal(refusal)))
        return
    log.info("report for %s shared in %s (%d bytes)", o.key, channel, len(page))
    if channel != caller.channel_id and surface.respond is not None:
        # An engineer asked elsewhere: say where it went (only they see this).
        where = mrkdwn.escape(channel)
        surface.respond(
            response_type="ephemeral",
            text=f"The report for {mrkdwn.escape(o.key)} is in <#{where}>.",
        )
