"""Bolt listeners: ack, parse, hand the work to the pool, render, deliver. Nothing more.

Whatever needs the store or the Web API runs on `work` after Slack has its answer; only pure
answers (help, a command that does not parse) and modal validation go in the ack itself.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import replace
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot import actions, files, forms, limits, logs, reminder_actions
from bot.delivery import SlackSurface, ack_payload
from bot.flows import (
    FileUpload,
    deliver_reply,
    finish_import,
    import_upload,
    run_command,
    thread_message,
)
from bot.identity import Identity
from bot.mrkdwn import to_plain as mrkdwn_plain
from bot.mrkdwn import unescape
from bot.render import Renderable, render
from bot.user_zones import UserZones
from bot.view_seal import ViewSeal
from commands.credentials import CredentialErrors
from commands.grammar import Command
from commands.onboarding import Caller, Refused
from commands.results import Refusal
from commands.rfi.service import FormErrors, Incoming
from commands.router import Router
from commands.text import Text

log = logging.getLogger(__name__)

FORM_EXPIRED = Text(
    "This form can't be saved: it was opened for someone else, or too long ago. Close it and "
    "open it again from the onboarding's channel."
)
RESTARTING = "connect-bot is restarting and did not run that; please try again in a minute."
TROUBLE = (
    "Something went wrong on our side (reference {ref}). Nothing you typed was lost: "
    "`/connect status` shows where things stand, and the reference finds the details in our logs."
)
# Message subtypes that are a person writing; everything else (joins, bot posts...) is ignored.
_PERSON_SUBTYPES = {None, "thread_broadcast"}


def register(
    app: App,
    router: Router,
    work: Executor,
    *,
    identity: Identity | None = None,
    engineers_channel: str | None = None,
    seal: ViewSeal | None = None,
) -> None:
    """`identity` tells engineers from customer contacts (None: everyone is a customer
    contact, the lesser role); `engineers_channel` hears of self-service opens; `seal` signs
    the metadata of the modals the bot opens (None: a random key for this process)."""
    seal = seal or ViewSeal(None)

    def with_role(caller: Caller) -> Caller:
        # users.info may be a network call: only ever on the pool, after the ack.
        if identity is None:
            return caller
        return replace(caller, role=identity.role(caller.user_id, caller.team_id))

    zones = UserZones()

    def submitter(
        form: str, body: dict[str, Any], view: dict[str, Any]
    ) -> tuple[Caller, Mapping[str, object]]:
        """Who submitted a modal, where it was opened, and what its sealed metadata says.

        The submission is in the ack, so the role comes from identity's cache (filled when the
        form was opened); a miss asks users.info once. A seal that is forged, replayed by
        someone else or expired names nothing: refused before any onboarding is looked up."""
        user = body["user"]["id"]
        opened = seal.open(form, view.get("private_metadata"), user_id=user)
        if opened is None:
            raise Refused(FORM_EXPIRED)
        caller = with_role(Caller(user_id=user, channel_id=opened.channel_id, team_id=_team(body)))
        return caller, opened.data

    def later(what: str, respond: Respond | None, job: Callable[[], object]) -> None:
        """Run `job` on the pool; a failure is logged with a reference and told to the person."""

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
            work.submit(logs.carry(run))  # the log lines of the work still name the request
        except RuntimeError:  # the pool is shut down: this process is stopping
            log.warning("%s arrived while stopping; asked to retry", what)
            logs.bind(deferred=False, outcome="error")
            if respond is not None:
                respond(response_type="ephemeral", text=RESTARTING)

    @app.command("/connect")
    def on_connect(ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        parsed = router.parse(_text(command))
        logs.bind(verb=getattr(parsed, "verb", None) or "unparsed")
        caller = _caller(command)
        if isinstance(parsed, Refusal) or router.is_pure(parsed):
            # No I/O needed: the answer goes back in the ack itself (with the role guessed
            # without a users.info call: a pure verb only lists, it changes nothing).
            if identity is not None:
                guessed = identity.guess(
                    caller.user_id, caller.team_id, command.get("enterprise_id")
                )
                caller = replace(caller, role=guessed)
            result = parsed if isinstance(parsed, Refusal) else router.handle(caller, parsed)
            ack(**ack_payload(render(result)))
            logs.bind(outcome="refused" if isinstance(result, Refusal) else "ok")
            log.info("/connect %s -> %s", getattr(parsed, "verb", "?"), type(result).__name__)
            return
        ack()
        surface = SlackSurface(client, respond, command.get("trigger_id"), seal)

        def job() -> Renderable:  # what it returns becomes the request's logged outcome
            who = with_role(caller)
            # Only a verb that reads a time needs the person's zone (one users.info, cached).
            if parsed.verb == "remind":
                user = caller.user_id
                tz = identity.zone(user) if identity else zones.get(client, user)
                who = replace(who, tz=tz)
            return _command(router, surface, who, parsed, engineers_channel)

        later(f"/connect {parsed.verb}", respond, job)

    @app.event("message")
    def on_message(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        incoming = _thread_message(event, context.bot_user_id)
        subtype = event.get("subtype")
        surface = SlackSurface(client)
        upload = _file_upload(event, context.bot_user_id)
        if upload is not None:
            later(
                "file upload",
                None,
                lambda: import_upload(router, surface, upload, lambda f: files.fetch(client, f)),
            )
        elif incoming is not None:
            later("thread reply", None, lambda: thread_message(router.rfi, surface, incoming))
        elif subtype == "message_changed":
            edited = _edited_message(event, context.bot_user_id)
            if edited is not None:
                message, edited_ts = edited
                later(
                    "edited reply",
                    None,
                    lambda: deliver_reply(surface, router.rfi.edited(message, edited_ts)),
                )
        elif subtype == "message_deleted":
            previous = event.get("previous_message") or {}
            thread_ts, ts = previous.get("thread_ts"), event.get("deleted_ts")
            if thread_ts and ts and thread_ts != ts:
                later(
                    "deleted reply",
                    None,
                    lambda: deliver_reply(
                        surface, router.rfi.deleted(event["channel"], thread_ts, ts)
                    ),
                )

    @app.action(actions.RFI_FORM)
    def on_form_button(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        key = actions.value_of(body["actions"][0]).get("key", "")
        channel, user, trigger = body["channel"]["id"], body["user"]["id"], body["trigger_id"]
        team = _team(body)

        def open_form() -> None:
            # The pool starts this at once: views.open must come within 3 s of the click.
            caller = with_role(Caller(user_id=user, channel_id=channel, team_id=team))
            try:
                form = router.rfi.form(caller, key)
            except Refused as exc:
                refusal = render(Refusal(exc.text))
                client.chat_postEphemeral(channel=channel, user=user, text=refusal.text)
                return

            def sealed(form: str, data: dict[str, object]) -> str:
                return seal.seal(form, data, user_id=user, channel_id=channel)

            client.views_open(trigger_id=trigger, view=forms.rfi_view(form, sealed))

        later("RFI form button", None, open_form)

    @app.view(forms.RFI_FORM_CALLBACK)
    def on_form_submit(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        texts = forms.answers(view)
        try:
            caller, meta = submitter(forms.RFI_FORM_CALLBACK, body, view)
            outcome = router.rfi.submit_form(
                caller, str(meta.get("key", "")), texts, keep=forms.kept(meta)
            )
        except Refused as exc:
            refused_submission("RFI form", body, exc)
            ack(
                response_action="errors",
                errors={forms.first_block(view): _field_error(exc.text)},
            )
            logs.bind(outcome="refused")
            return
        if isinstance(outcome, FormErrors):
            ack(response_action="errors", errors=forms.errors(outcome))
            logs.bind(outcome="refused")
            return
        ack()
        surface = SlackSurface(client)
        later("RFI form", None, lambda: deliver_reply(surface, outcome))

    @app.view(forms.CREDENTIALS_CALLBACK)
    def on_credentials(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        fields = forms.credential_fields(view)
        try:
            caller, meta = submitter(forms.CREDENTIALS_CALLBACK, body, view)
            outcome = router.credentials.submit(
                caller, str(meta.get("key", "")), str(meta.get("kind", "")), fields
            )
        except Refused as exc:
            refused_submission("credentials form", body, exc)
            ack(response_action="errors", errors={"host": _field_error(exc.text)})
            logs.bind(outcome="refused")
            return
        finally:
            fields.clear()  # the password leaves memory with the request
        if isinstance(outcome, CredentialErrors):
            ack(response_action="errors", errors=forms.errors(outcome))
            logs.bind(outcome="refused")
            return
        ack()
        channel_id = outcome.onboarding.channel_id
        if channel_id:
            surface = SlackSurface(client)
            later("credentials saved", None, lambda: surface.post(channel_id, render(outcome)))

    @app.action(re.compile(f"^{actions.RFI_CHOICE}:"))
    def on_choice(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        value = actions.value_of(body["actions"][0])
        message = _clicked(body, value.get("a", ""))
        if message is None or not value.get("q"):
            return
        surface = SlackSurface(client, respond)
        later(
            "RFI choice",
            respond,
            lambda: deliver_reply(surface, router.rfi.choose(message, value["q"])),
        )

    reminder_actions.register(app, router, later, with_role)

    @app.action(actions.RFI_NEXT)
    def on_next(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        message = _clicked(body, "next")
        if message is None:
            return
        surface = SlackSurface(client, respond)
        later("RFI next", respond, lambda: deliver_reply(surface, router.rfi.choose(message, None)))

    @app.action(re.compile(f"^({actions.IMPORT_VALID}|{actions.IMPORT_DISCARD})$"))
    def on_import_button(
        ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        action = body["actions"][0]
        value = actions.value_of(action)
        batch, key = str(value.get("batch", "")), str(value.get("key", ""))
        channel = (body.get("channel") or {}).get("id")
        ts = (body.get("message") or {}).get("ts")
        if not (batch.isdigit() and key and channel and ts):
            return
        caller = Caller(user_id=body["user"]["id"], channel_id=channel, team_id=_team(body))
        surface = SlackSurface(client, respond)
        later(
            "recipient import button",
            respond,
            lambda: finish_import(
                router,
                surface,
                with_role(caller),
                (channel, ts),
                key,
                int(batch),
                confirm=action.get("action_id") == actions.IMPORT_VALID,
            ),
        )


def refused_submission(what: str, body: dict[str, Any], exc: Refused) -> None:
    """A refused form is audited in the log with ids only (never a typed value), and not in
    any onboarding's history: a submission naming someone else's onboarding changes nothing
    of it, not even its trail."""
    user = body.get("user") or {}
    log.warning(
        "%s refused for %s of team %s: %s", what, user.get("id"), _team(body), exc.text.template
    )


def _team(body: dict[str, Any]) -> str | None:
    """The team of the person who clicked or submitted (their own, for a Slack Connect guest)."""
    return (body.get("user") or {}).get("team_id") or (body.get("team") or {}).get("id")


def _file_upload(event: dict[str, Any], bot_user_id: str | None) -> FileUpload | None:
    """Files a person shared as a reply in a thread (Slack's subtype file_share)."""
    thread_ts = event.get("thread_ts")
    if (
        event.get("subtype") != "file_share"
        or event.get("bot_id")
        or not event.get("user")
        or event.get("user") == bot_user_id
        or not thread_ts
        or thread_ts == event.get("ts")
    ):
        return None
    ids = tuple(
        str(f["id"]) for f in event.get("files") or [] if isinstance(f, dict) and f.get("id")
    )
    if not ids:
        return None
    return FileUpload(event["channel"], thread_ts, event["ts"], event["user"], ids)


def _command(
    router: Router,
    surface: SlackSurface,
    caller: Caller,
    command: Command,
    engineers_channel: str | None = None,
) -> Renderable:
    # The request's own "request done" line names the result, with the verb and the outcome.
    return run_command(router, surface, caller, command, engineers_channel=engineers_channel)


def _field_error(text: Text) -> str:
    # A modal's field error is plain text of at most 150 characters: no mrkdwn escapes in it.
    return limits.cut_plain(mrkdwn_plain(render(Refusal(text)).text), limits.ERROR_TEXT)


def _text(command: dict[str, Any]) -> str:
    # Slack escapes &, < and > in the text; the command layer wants what the person typed.
    return unescape(command.get("text", ""))


def _caller(command: dict[str, Any]) -> Caller:
    return Caller(
        user_id=command["user_id"],
        channel_id=command.get("channel_id"),
        team_id=command.get("team_id"),
    )


def _is_person(message: dict[str, Any], bot_user_id: str | None) -> bool:
    """Written by a person, not by a bot (ours or another) or by Slack itself."""
    return (
        message.get("subtype") in _PERSON_SUBTYPES
        and not message.get("bot_id")
        and bool(message.get("user"))
        and message.get("user") != bot_user_id
    )


def _thread_message(event: dict[str, Any], bot_user_id: str | None) -> Incoming | None:
    """A person's reply in a thread (a message in a channel, outside threads, is not one)."""
    thread_ts = event.get("thread_ts")
    if not _is_person(event, bot_user_id) or not thread_ts or thread_ts == event.get("ts"):
        return None
    return Incoming(
        channel_id=event["channel"],
        thread_ts=thread_ts,
        ts=event["ts"],
        user_id=event["user"],
        text=unescape(event.get("text") or ""),
    )


def _edited_message(event: dict[str, Any], bot_user_id: str | None) -> tuple[Incoming, str] | None:
    message = dict(event.get("message") or {})
    message.pop("subtype", None)  # the inner message of an edit carries no subtype of its own
    thread_ts = message.get("thread_ts")
    edited_ts = (message.get("edited") or {}).get("ts")
    if not _is_person(message, bot_user_id) or not thread_ts or thread_ts == message.get("ts"):
        return None
    if not edited_ts:
        return None  # e.g. a reply count changing on the thread's parent
    incoming = Incoming(
        channel_id=event["channel"],
        thread_ts=thread_ts,
        ts=message["ts"],
        user_id=message["user"],
        text=unescape(message.get("text") or ""),
    )
    return incoming, edited_ts


def _clicked(body: dict[str, Any], text: str) -> Incoming | None:
    """A button click in an RFI thread, as if the person had typed `text` there."""
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    message = body.get("message") or {}
    thread_ts = message.get("thread_ts") or container.get("thread_ts")
    if not channel or not thread_ts:
        return None
    action_ts = str(body["actions"][0].get("action_ts") or message.get("ts"))
    return Incoming(channel, thread_ts, f"click:{action_ts}", body["user"]["id"], text)
