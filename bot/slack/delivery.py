"""Slack as a Surface: channel posts through chat.postMessage, answers through response_url
(a slash command) or in the thread of the message that mentioned the bot (a mention)."""

from __future__ import annotations

import copy
import logging
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.models.blocks import Block, MarkdownTextObject, SectionBlock

from bot.flows import CannotPost, SharedFile
from bot.render import limits, mrkdwn
from bot.render import modals as forms
from bot.render.renderer import Message, render
from bot.slack.view_seal import ViewSeal
from commands.core.context import Caller
from commands.credentials import CredentialForm

log = logging.getLogger(__name__)

# Errors that mean the bot may not post there; the command's response_url still can.
_CANNOT_POST = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}
# Slack refused the message as it was made: sending it again would be refused again.
REFUSED_CONTENT = {"msg_blocks_too_long", "invalid_blocks"}
REFUSED = (
    "I could not show this message: Slack refused it ({error}). That is a fault on our side; "
    "nothing you asked for was lost. The reference {ref} finds the details in our logs."
)
# A final update waits at most this long for chat.update's rate limit to pass.
FINAL_WAIT_MAX = 30.0


class UpdateLimit:
    """chat.update's rate limit as Slack last told it (Tier 3 is per app and workspace, so one
    for the process): progress skips updates until it passes; a final update waits for it."""

    def __init__(self) -> None:
        self._until = 0.0
        self._lock = threading.Lock()

    def limit(self, seconds: float) -> None:
        with self._lock:
            self._until = max(self._until, time.monotonic() + seconds)

    def limited(self) -> bool:
        with self._lock:
            return time.monotonic() < self._until

    def wait_for_slot(self) -> None:
        with self._lock:
            wait = self._until - time.monotonic()
        if wait > 0:
            time.sleep(min(wait, FINAL_WAIT_MAX))


UPDATES = UpdateLimit()


def _retry_after(headers: Mapping[str, object] | None) -> float:
    for key, value in (headers or {}).items():
        if key.lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) else value
            try:
                return max(1.0, float(str(raw)))
            except ValueError:
                break
    return 1.0


def split(message: Message) -> list[Message]:
    """The message as parts that each fit Slack's whole-message size (usually just itself)."""
    parts = limits.split_message(message.text, message.blocks_json())
    if len(parts) == 1:
        return [replace(message, text=parts[0][0])]
    return [
        replace(message, text=text, blocks=[b for b in map(Block.parse, blocks) if b is not None])
        for text, blocks in parts
    ]


def render_refused(error: str, ref: str) -> Message:
    text = REFUSED.format(error=error, ref=ref)
    section = SectionBlock(text=MarkdownTextObject(text=text, verbatim=True))
    return Message(text=text, blocks=[section], public=True, refusal=True)


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
        self._threads: dict[str, str | None] = {}  # ts of a message posted here -> its thread
        self._quick: WebClient | None = None

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
        """Post the message; one too long for Slack goes as its first part here and the rest
        as numbered replies in its thread. Returns the first part's ts."""
        parts = limits.split_message(message.text, message.blocks_json())
        ts = self._post_part(channel_id, parts[0], thread_ts)
        self._threads[ts] = thread_ts
        self._post_rest(channel_id, parts[1:], thread_ts or ts)
        return ts

    def update(self, channel_id: str, ts: str, message: Message, *, final: bool) -> None:
        """Replace a posted message. Progress (not final) is skipped while chat.update is rate
        limited; the final one waits for Slack's Retry-After, and if it is too long it becomes
        the first part and the rest follows as replies in the message's thread."""
        parts = limits.split_message(message.text, message.blocks_json())
        if not final:
            self._progress(channel_id, ts, parts[0])
            return
        UPDATES.wait_for_slot()
        text, blocks = parts[0]
        try:
            self.client.chat_update(channel=channel_id, ts=ts, text=text, blocks=blocks)
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error in REFUSED_CONTENT:
                self._refused(channel_id, error, ts=ts)
                return
            # The result must not be lost: post it afresh.
            log.warning("chat.update failed (%s); posting the result", error)
            self.post(channel_id, message, self._threads.get(ts))
            return
        self._post_rest(channel_id, parts[1:], self._threads.get(ts) or ts)

    def _progress(self, channel_id: str, ts: str, part: tuple[str, limits.Blocks]) -> None:
        if UPDATES.limited():
            log.info("progress update skipped: chat.update is rate limited")
            return
        text, blocks = part
        try:
            # Not retried on a 429: a newer progress comes soon, and a sleeping retry would
            # hold up the final update behind it.
            self._no_wait().chat_update(channel=channel_id, ts=ts, text=text, blocks=blocks)
        except SlackApiError as exc:
            if exc.response.status_code == 429:
                UPDATES.limit(_retry_after(exc.response.headers))
            log.info("progress update skipped: %s", exc.response.get("error"))

    def _no_wait(self) -> WebClient:
        """This surface's client without the rate-limit retry handler."""
        if self._quick is None:
            quick = copy.copy(self.client)
            quick.retry_handlers = [
                h
                for h in self.client.retry_handlers
                if not isinstance(h, RateLimitErrorRetryHandler)
            ]
            self._quick = quick
        return self._quick

    def _post_part(
        self, channel_id: str, part: tuple[str, limits.Blocks], thread_ts: str | None
    ) -> str:
        text, blocks = part
        try:
            response = self.client.chat_postMessage(
                channel=channel_id,
                thread_ts=thread_ts,
                text=text,
                blocks=blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error in _CANNOT_POST:
                log.info("chat.postMessage refused in %s: %s", channel_id, error)
                raise CannotPost(error) from None
            if error in REFUSED_CONTENT:
                return self._refused(channel_id, error, thread_ts=thread_ts)
            raise
        return str(response["ts"])

    def share_file(self, channel_id: str, file: SharedFile, thread_ts: str | None = None) -> None:
        """files.uploadV2: files.getUploadURLExternal, the upload, files.completeUploadExternal."""
        try:
            self.client.files_upload_v2(
                channel=channel_id,
                content=file.content,
                filename=file.filename,
                title=file.title,
                initial_comment=file.comment,
                thread_ts=thread_ts,
            )
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error in _CANNOT_POST:
                log.info("files.uploadV2 refused in %s: %s", channel_id, error)
                raise CannotPost(error) from None
            raise

    def _post_rest(
        self, channel_id: str, parts: list[tuple[str, limits.Blocks]], thread: str
    ) -> None:
        for part in parts:
            self._post_part(channel_id, part, thread)

    def _refused(
        self,
        channel_id: str,
        error: str,
        *,
        ts: str | None = None,
        thread_ts: str | None = None,
    ) -> str:
        """Slack refused a message as it was made (too long, invalid blocks): a bug of ours.
        Say so in its place, with a reference for the logs, rather than leave nothing (or a
        "Checking..." that never ends)."""
        ref = uuid.uuid4().hex[:12]
        log.error("Slack refused a message in %s: %s (ref %s)", channel_id, error, ref)
        note = render_refused(error, ref)
        text, blocks = note.text, note.blocks_json()
        if ts is not None:
            try:
                self.client.chat_update(channel=channel_id, ts=ts, text=text, blocks=blocks)
                return ts
            except SlackApiError as exc:
                log.warning("could not replace the refused message: %s", exc.response.get("error"))
        response = self.client.chat_postMessage(
            channel=channel_id, thread_ts=thread_ts, text=text, blocks=blocks
        )
        return str(response["ts"])

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
        for part in split(message):
            self.respond(**ack_payload(part, public=public))


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
            for part in split(message):
                self.client.chat_postEphemeral(
                    channel=self.channel_id,
                    user=self.user_id,
                    thread_ts=self.thread_ts,
                    text=part.text,
                    blocks=part.blocks_json(),
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
