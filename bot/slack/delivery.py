"""Slack as a Surface: channel posts through chat.postMessage, answers through response_url
(a slash command) or in the thread of the message that mentioned the bot (a mention)."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block, MarkdownTextObject, SectionBlock

from bot.flows import CannotPost
from bot.render import limits, mrkdwn
from bot.render import modals as forms
from bot.render.renderer import Message, render
from bot.slack.view_seal import ViewSeal
from commands.core.context import Caller
from commands.credentials import CredentialForm

log = logging.getLogger(__name__)

# Errors that mean the bot may not post there; the command's response_url still can.
_CANNOT_POST = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}


def ack_payload(message: Message, *, public: bool | None = None) -> dict[str, Any]:
    """The body of a slash command's HTTP answer (and of a response_url post)."""
    shown = message.public if public is None else public
    return {
        "response_type": "in_channel" if shown else "ephemeral",
        "text": message.text,
        "blocks": message.blocks_json(),
    }


class SlackSurface:
    def __init__(
        self,
        client: WebClient,
        respond: Respond | None = None,
        trigger_id: str | None = None,
        seal: ViewSeal | None = None,
    ) -> None:
        self.client = client
        self.respond = respond
        self.trigger_id = trigger_id  # a slash command's, good for one modal within 3 s
        self.seal = seal  # signs a modal's metadata (needed only where a form may open)

    def open_form(self, form: CredentialForm, caller: Caller) -> None:
        if not self.trigger_id or self.seal is None:
            raise RuntimeError("a form needs the trigger_id of the command that asked for it")
        seal = self.seal

        def sealed(form: str, data: dict[str, object]) -> str:
            return seal.seal(form, data, user_id=caller.user_id, channel_id=caller.channel_id)

        self.client.views_open(
            trigger_id=self.trigger_id, view=forms.credentials_view(form, sealed)
        )

    def post(self, channel_id: str, message: Message, thread_ts: str | None = None) -> str:
        try:
            response = self.client.chat_postMessage(
                channel=channel_id,
                thread_ts=thread_ts,
                text=message.text,
                blocks=message.blocks_json(),
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error in _CANNOT_POST:
                log.info("chat.postMessage refused in %s: %s", channel_id, error)
                raise CannotPost(error) from None
            raise
        return str(response["ts"])

    def update(self, channel_id: str, ts: str, message: Message, *, final: bool) -> None:
        try:
            self.client.chat_update(
                channel=channel_id, ts=ts, text=message.text, blocks=message.blocks_json()
            )
        except SlackApiError as exc:
            if final:  # the result must not be lost: post it afresh
                log.warning("chat.update failed (%s); posting the result", exc.response["error"])
                self.post(channel_id, message)
            else:
                log.info("progress update skipped: %s", exc.response.get("error"))

    def keep_card(self, channel_id: str, ts: str) -> str | None:
        """Pin the card (pins:write; a channel that refuses pins keeps it unpinned) and return
        its permalink for status replies."""
        try:
            self.client.pins_add(channel=channel_id, timestamp=ts)
        except SlackApiError as exc:
            log.info("could not pin the card in %s: %s", channel_id, exc.response.get("error"))
        try:
            found = self.client.chat_getPermalink(channel=channel_id, message_ts=ts)
        except SlackApiError as exc:
            log.info("no permalink for the card in %s: %s", channel_id, exc.response.get("error"))
            return None
        link = found.get("permalink")
        return str(link) if link else None

    def tell(self, message: Message, *, public: bool = False) -> None:
        if self.respond is None:  # events and buttons without a response_url
            log.warning("no response_url to answer through; an answer was dropped")
            return
        self.respond(**ack_payload(message, public=public))


class MentionSurface(SlackSurface):
    """Answers to a mention of the bot, which has no response_url: whatever is said to the
    channel goes in the mention's thread; a refusal or a usage error is a reply in that thread
    addressed to the person (it starts with their mention); anything else only they should see
    (a list of every onboarding, their reminders, help) is an ephemeral message to them in the
    thread. A private form opens from a button on such a message: a mention has no trigger_id."""

    def __init__(self, client: WebClient, channel_id: str, thread_ts: str, user_id: str) -> None:
        super().__init__(client)
        self.channel_id = channel_id
        self.thread_ts = thread_ts
        self.user_id = user_id

    def tell(self, message: Message, *, public: bool = False) -> None:
        if message.refusal:
            self._in_thread(addressed(message, self.user_id))
        elif public:
            self._in_thread(message)
        else:
            self.whisper(message)

    def whisper(self, message: Message) -> None:
        """An ephemeral message to the person, in the mention's thread."""
        try:
            self.client.chat_postEphemeral(
                channel=self.channel_id,
                user=self.user_id,
                thread_ts=self.thread_ts,
                text=message.text,
                blocks=message.blocks_json(),
            )
        except SlackApiError as exc:
            # Never said in the thread instead: it was meant for them alone.
            log.warning("chat.postEphemeral refused: %s", exc.response.get("error"))

    def open_form(self, form: CredentialForm, caller: Caller) -> None:
        # The form's button opens it (its click brings a trigger_id); the click is checked
        # against the onboarding again, like the command.
        self.whisper(render(form))

    def __call__(self, message: Message) -> None:
        """The runner's way to answer the person (a refusal, or a failure's reference)."""
        self.tell(message)

    def _in_thread(self, message: Message) -> None:
        try:
            self.post(self.channel_id, message, self.thread_ts)
        except CannotPost:
            log.warning("could not answer a mention in %s: I may not post there", self.channel_id)


def addressed(message: Message, user_id: str) -> Message:
    """The message starting with the person's mention: a thread reply meant for them."""
    mention = f"{mrkdwn.user(user_id)} "  # a well-formed user id only, else shown as text
    blocks: list[Block] = list(message.blocks)
    for index, block in enumerate(blocks):
        if isinstance(block, SectionBlock) and isinstance(block.text, MarkdownTextObject):
            text = limits.cut_mrkdwn(mention + block.text.text, limits.SECTION_TEXT)
            blocks[index] = SectionBlock(
                block_id=block.block_id, text=MarkdownTextObject(text=text, verbatim=True)
            )
            break
    text = limits.cut_mrkdwn(mention + message.text, limits.MESSAGE_TEXT)
    return replace(message, text=text, blocks=blocks)
