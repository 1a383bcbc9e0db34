"""The onboarding's card in Slack: kept up to date in place, and its controls.

The card is the message posted at `open` (bot/flows.py stores where). Every committed change to
an onboarding (commands/core/changes.py) asks for the card to be redrawn; a Coalescer keyed by
onboarding makes a burst of changes one `chat.update` (at most one per card every 3 s, the
latest state winning), and the redraw reads the onboarding when it runs, never a stale copy.

Its controls carry a verb and its arguments (*Run checks* a step select, *DNS records*,
*Reminders*); a click runs that verb through the router exactly as if the clicker had typed it,
with the clicker's role, so a forged value can only ask for what they may already do. Answers go
in the card's thread; what is for the clicker alone (a refusal, their reminders) only to them.
*Answer the RFI as a form* and *Enter credentials* are the RFI's and the credentials' own buttons
(features/rfi.py, features/credentials.py).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import logs
from bot.coalesce import Coalescer
from bot.flows import run_command
from bot.render.buttons import CardAction, value_of
from bot.render.renderer import render
from bot.slack.delivery import SlackSurface
from bot.slack.payloads import team_of
from bot.slack.runner import Runner
from commands.core import changes
from commands.core.context import Caller
from commands.onboarding.card import Cards
from commands.replies import Refusal
from commands.router import Router
from commands.services import Services

log = logging.getLogger(__name__)

RUN = re.compile(f"^{CardAction.RUN}:[a-z]+$")


class CardKeeper:
    """Redraws an onboarding's card after each change, coalesced."""

    def __init__(self, cards: Cards, client: WebClient, updates: Coalescer | None = None) -> None:
        self.cards = cards
        self.client = client
        self.updates = updates or Coalescer(name="cards")
        self._unsubscribe = changes.subscribe(self.changed)

    def changed(self, onboarding_id: int) -> None:
        """The change hook's subscriber: quick, never blocks (the Coalescer's thread redraws)."""
        self.updates.submit(onboarding_id, logs.carry(lambda: self.redraw(onboarding_id)))

    def redraw(self, onboarding_id: int) -> None:
        found = self.cards.placed(onboarding_id)
        if found is None:
            return  # no card (opened before cards, or it could not be posted)
        place, card = found
        message = render(card)
        try:
            self.client.chat_update(
                channel=place.channel_id,
                ts=place.ts,
                text=message.text,
                blocks=message.blocks_json(),
            )
        except SlackApiError as exc:  # the card was deleted, the channel archived...
            log.info(
                "card of onboarding %s not updated: %s", onboarding_id, exc.response.get("error")
            )

    def close(self) -> None:
        self._unsubscribe()
        self.updates.close()


def register(
    app: App, router: Router, services: Services, runner: Runner, engineers_channel: str | None
) -> CardKeeper:
    keeper = CardKeeper(services.onboardings.cards, app.client)

    @app.action(CardAction.CHECK.value)
    @app.action(RUN)
    def on_card_control(
        ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        click = _click(body)
        if click is None:
            log.info("card control without a verb, a channel or a message; ignored")
            return
        text, caller, card_ts = click
        surface = SlackSurface(client, respond)

        def act() -> object:
            who = runner.with_role(caller)
            command = router.parse(text, who.shown_door)
            if isinstance(command, Refusal):
                surface.tell(render(command))
                return command
            return run_command(
                router,
                services,
                surface,
                who,
                command,
                engineers_channel=engineers_channel,
                thread_ts=card_ts,
            )

        runner.later("card control", respond, act)

    return keeper


def _click(body: dict[str, Any]) -> tuple[str, Caller, str] | None:
    """(the command as typed, the clicker, the card's ts) from a click on the card."""
    action = (body.get("actions") or [{}])[0]
    if action.get("type") == "static_select":
        value = _json((action.get("selected_option") or {}).get("value"))
    else:
        value = value_of(action)
    verb, key, args = (str(value.get(k) or "") for k in ("verb", "key", "args"))
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
    user = (body.get("user") or {}).get("id")
    if not verb or not channel or not ts or not user:
        return None
    text = " ".join(word for word in (verb, key, args) if word)
    return text, Caller(user_id=user, channel_id=channel, team_id=team_of(body)), str(ts)


def _json(text: object) -> dict[str, str]:
    try:
        value = json.loads(str(text or "{}"))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
