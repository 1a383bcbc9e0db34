"""`@connect <verb> ...`: the door for everyone in the channel, customer contacts of another
organisation included (Slack offers them no slash command of ours). A mention in the channel or
in any thread is parsed and run exactly like `/connect` (one grammar, one verb registry, the
same role checks) and answered in the mention's thread: what the channel should see as a
reply there, a refusal or a usage error as a reply there addressed to the person, anything
private as an ephemeral message to them (bot/slack/delivery.py, MentionSurface).

Slack sends the same message as a `message` event too; the RFI thread leaves messages that
mention the bot to this listener (bot/slack/payloads.py), so a mention is never an answer."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot import logs
from bot.flows import run_command
from bot.render.renderer import Renderable, render
from bot.slack.delivery import MentionSurface
from bot.slack.payloads import mention
from bot.slack.runner import Runner
from commands.core.context import Door
from commands.core.once import first_time
from commands.replies import Refusal
from commands.router import Router
from commands.services import Services

if TYPE_CHECKING:
    from commands.replies import Reply

log = logging.getLogger(__name__)


def register(
    app: App, router: Router, services: Services, runner: Runner, engineers_channel: str | None
) -> None:
    @app.event("app_mention")
    def on_mention(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        asked = mention(event, context.bot_user_id)
        if asked is None:
            logs.bind(outcome="ignored")
            return
        parsed = router.parse(asked.text, Door.MENTION)
        verb = getattr(parsed, "verb", None) or "unparsed"
        logs.bind(verb=verb)
        surface = MentionSurface(client, asked.channel_id, asked.thread_ts, asked.user_id)

        def job() -> Reply | Renderable | None:
            # Slack delivers an event again when its ack was late: one message, one answer.
            if not first_time(services.db, f"mention:{asked.channel_id}:{asked.ts}"):
                log.info("@connect %s: delivered again; answered already", verb)
                return None
            if isinstance(parsed, Refusal):  # a usage error: said to them, in the thread
                surface.tell(render(parsed))
                return parsed
            who = runner.resolve(asked.caller, zone=router.verbs[parsed.verb].needs_zone)
            return run_command(
                router,
                services,
                surface,
                who,
                parsed,
                engineers_channel=engineers_channel,
                thread_ts=asked.thread_ts,
            )

        # Even a pure verb (help) runs on the pool: its answer is a Web API call, not the ack.
        runner.later(f"@connect {verb}", surface, job, door=Door.MENTION)
