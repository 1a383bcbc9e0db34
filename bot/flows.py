"""What happens after a command or a thread message, the same in Slack and in the shell.

A Surface is where messages go: `post` puts a public message in a channel (or a thread) and
returns its timestamp, `tell` answers only the person who asked. Slack and the shell each
implement it; the flows here decide what to post, in which order.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from bot import logs
from bot.coalesce import Coalescer
from bot.render import mrkdwn
from bot.render.renderer import Message, Renderable, render
from bot.render.report import render_report
from bot.slack.files import Upload, UploadProblem
from commands.checks.service import CheckPlan, CheckService
from commands.core.context import Caller, Door, Refused
from commands.core.text import ChannelRef, Code, Text
from commands.credentials import CredentialForm
from commands.grammar import Command
from commands.recipients.importer import ImportReport, RecipientImporter
from commands.replies import CustomerOpened, Notice, Opened, Refusal
from commands.report.model import OnboardingReport
from commands.rfi.service import Incoming, RfiBegin, RfiService, ThreadReply
from commands.router import Router
from commands.services import Services

if TYPE_CHECKING:
    from commands.replies import Reply

log = logging.getLogger(__name__)


# Import the files (path, name its owner gave it) of one upload into an onboarding.
RunImport = Callable[[Caller, str, Sequence[tuple[Path, str]]], ImportReport]


@dataclass(frozen=True)
class SharedFile:
    """A file the bot shares in a channel: its bytes, name and title, and a comment (mrkdwn)."""

    filename: str
    content: bytes
    title: str
    comment: str


class CannotPost(Exception):
    """The bot may not post in that channel (not a member, archived...)."""


class Surface(Protocol):
    def post(self, channel_id: str, message: Message, thread_ts: str | None = None) -> str:
        """Post in the channel (or thread) and return the message's ts; raise CannotPost."""
        ...

    def tell(self, message: Message, *, public: bool = False) -> None:
        """Answer the person who asked (public: in the channel, as the command's response)."""
        ...

    def update(self, channel_id: str, ts: str, message: Message, *, final: bool) -> None:
        """Replace a posted message (progress, then the final result)."""
        ...

    def share_file(self, channel_id: str, file: SharedFile, thread_ts: str | None = None) -> None:
        """Share a file in a channel (a thread); CannotPost where the bot may not."""
        ...

    def open_form(self, form: CredentialForm, caller: Caller) -> None:
        """Open a private form for the person who asked (a Slack modal), bound to them."""
        ...

    def keep_card(self, channel_id: str, ts: str) -> str | None:
        """The onboarding's card was posted: pin it where that is allowed, and return its
        link (None when there is none); never raises for a pin or a link it could not have."""
        ...


CHECKS_FAILED = Text("The checks stopped on an error on our side; nothing was recorded. Try again.")
INVITE = Text(
    "I am not a member of this channel, so I answered through the command. Invite me with "
    "{invite} so that I can run the RFI thread and post reminders here.",
    invite="/invite @connect",
)


def run_command(
    router: Router,
    services: Services,
    surface: Surface,
    caller: Caller,
    command: Command,
    *,
    engineers_channel: str | None = None,
    thread_ts: str | None = None,
) -> Reply | Renderable:
    """Run one command and deliver what it says; returns the result (for logs). `thread_ts`:
    the thread that answers go to (a mention's); None, the channel itself. An onboarding's
    plan and its RFI message are the channel's, whichever door opened it. Commands in what it
    says are spelled for the caller's door (a customer contact: `@connect`)."""
    with mrkdwn.door(caller.shown_door.value):
        return _run_command(
            router, services, surface, caller, command, engineers_channel, thread_ts
        )


def _run_command(
    router: Router,
    services: Services,
    surface: Surface,
    caller: Caller,
    command: Command,
    engineers_channel: str | None,
    thread_ts: str | None,
) -> Reply | Renderable:
    result = router.handle(caller, command)
    if isinstance(result, Opened) and result.by_customer:
        tell_engineers(surface, result, engineers_channel)
    if isinstance(result, RfiBegin):
        start_rfi(services.rfi, surface, caller, result)
        return result
    if isinstance(result, CheckPlan):
        return run_checks(services.checks, surface, caller, result, thread_ts=thread_ts)
    if isinstance(result, CredentialForm):
        surface.open_form(result, caller)
        return result
    if isinstance(result, OnboardingReport):
        share_report(surface, caller, result, thread_ts)
        return result
    card = (
        services.onboardings.cards.by_key(result.onboarding.key)
        if isinstance(result, Opened)
        else None
    )
    # The card is the whole channel's, customer contacts included: its commands say @connect.
    message = render(card, door=Door.MENTION.value) if card else render(result)
    if not (message.public and caller.channel_id):
        surface.tell(message)
        return result
    try:
        ts = surface.post(caller.channel_id, message, None if card else thread_ts)
    except CannotPost:
        surface.tell(message, public=True)
        surface.tell(render(Refusal(INVITE)))
        return result
    if isinstance(result, Opened):
        # The opening message is the onboarding's card from now on: kept up to date in place.
        link = surface.keep_card(caller.channel_id, ts)
        services.onboardings.cards.place(result.onboarding.key, caller.channel_id, ts, link)
        begin = services.rfi.begin(caller, result.onboarding.key)
        start_rfi(services.rfi, surface, caller, begin)
    return result


def share_report(
    surface: Surface, caller: Caller, report: OnboardingReport, thread_ts: str | None
) -> None:
    """The report as an HTML file in the onboarding's channel (in the mention's thread when
    asked there); the channel the person asked in when the onboarding has none."""
    o = report.onboarding
    channel = o.channel_id or caller.channel_id
    if channel is None:
        surface.tell(render(Refusal(Text(REPORT_NO_CHANNEL, key=o.key))))
        return
    page = render_report(report, "html").encode("utf-8")
    comment = (
        f"Onboarding report for {mrkdwn.escape(o.name)} ({mrkdwn.escape(o.key)}), asked for by "
        f"{mrkdwn.user(caller.user_id)}: {o.done} of {o.applicable} steps done."
    )
    file = SharedFile(
        f"{report.stem}.html", page, f"Onboarding report: {o.name} ({o.key})", comment
    )
    try:
        # The thread only when the mention was in the onboarding's own channel.
        surface.share_file(channel, file, thread_ts if channel == caller.channel_id else None)
    except CannotPost as exc:
        log.info("report for %s not shared in %s: %s", o.key, channel, exc)
        refusal = Text(CANNOT_SHARE, error=str(exc), invite=Code("/invite @connect"))
        surface.tell(render(Refusal(refusal)))
        return
    log.info("report for %s shared in %s (%d bytes)", o.key, channel, len(page))
    if channel != caller.channel_id:  # asked elsewhere: say where it went (only they see it)
        where = Text(REPORT_IS_THERE, key=o.key, channel=ChannelRef(channel))
        surface.tell(render(Notice(where)))


def tell_engineers(surface: Surface, opened: Opened, channel_id: str | None) -> None:
    """A customer contact opened an onboarding: say so in the engineers' channel, or the log."""
    o = opened.onboarding
    # Always a log line (ids only), so the engineers' channel failing loses nothing.
    log.warning(
        "self-service open: customer contact %s opened %s in %s", o.opened_by, o.key, o.channel_id
    )
    if channel_id is None:
        return
    try:
        surface.post(channel_id, render(CustomerOpened(o), door="/connect"))  # engineers read it
    except Exception:  # the customer's own command must not fail for this
        log.exception("could not tell the engineers' channel %s of %s", channel_id, o.key)


def start_rfi(rfi: RfiService, surface: Surface, caller: Caller, begin: RfiBegin) -> None:
    """Post the RFI message and its first question, or ask the waiting question again."""
    key = begin.onboarding.key
    if begin.thread is not None:
        thread_channel, thread_ts = begin.thread
        surface.post(thread_channel, render(rfi.ask_again(key)), thread_ts)
        if caller.channel_id != thread_channel:
            surface.tell(
                render(
                    Refusal(
                        Text(
                            "The RFI for {key} runs in its thread in another "
                            "channel; I asked the open question there again.",
                            key=key,
                        )
                    )
                )
            )
        return
    channel_id = begin.onboarding.channel_id
    assert channel_id is not None  # RfiService.begin refuses onboardings without a channel
    try:
        thread_ts = surface.post(channel_id, render(begin))
    except CannotPost:
        surface.tell(
            render(
                Refusal(
                    Text(
                        "I cannot post in this channel, so the RFI cannot "
                        "start here: invite me with /invite @connect, then "
                        "run /connect rfi {key}.",
                        key=key,
                    )
                )
            )
        )
        return
    try:
        reply = rfi.bind_thread(key, channel_id, thread_ts, caller.user_id)
    except Refused as exc:  # two starts raced; the other one's thread wins
        log.info("RFI for %s started twice; keeping the first thread", key)
        surface.tell(render(Refusal(exc.text)))
        return
    surface.post(channel_id, render(reply), thread_ts)


def run_checks(
    checks: CheckService,
    surface: Surface,
    caller: Caller,
    plan: CheckPlan,
    *,
    thread_ts: str | None = None,
) -> Renderable:
    """Post the plan as a progress message (in `thread_ts`, a mention's thread, if given),
    update it as domains finish, end with the report."""
    channel_id = caller.channel_id or plan.onboarding.channel_id
    assert channel_id is not None
    try:
        ts = surface.post(channel_id, render(plan), thread_ts if caller.channel_id else None)
    except CannotPost:
        ts = None
    # Progress goes out off the DNS event loop, latest state winning, at most one update per
    # message per interval; the report replaces it without waiting behind older progress.
    updates = Coalescer(name="progress")
    done: list[str] = []

    def progress(domain: str, _results: object) -> None:
        done.append(domain)
        if ts is not None:
            snapshot = replace(plan, done_domains=tuple(done))
            # carry: the update's log lines still name the request (another thread runs it).
            updates.submit(
                ts,
                logs.carry(lambda: surface.update(channel_id, ts, render(snapshot), final=False)),
            )

    try:
        try:
            report: Renderable = checks.run(plan, caller.user_id, on_domain=progress)
        except Refused as exc:
            report = Refusal(exc.text)
        except Exception:
            if ts is not None:  # do not leave "Checking…" standing
                failed = render(Refusal(CHECKS_FAILED))
                updates.final(ts, lambda: surface.update(channel_id, ts, failed, final=True))
            raise
        message = render(report)
        if ts is None:
            surface.tell(message, public=True)
        else:
            updates.final(ts, lambda: surface.update(channel_id, ts, message, final=True))
    finally:
        updates.close()
    return report


def thread_message(rfi: RfiService, surface: Surface, message: Incoming) -> ThreadReply | None:
    """A reply in a thread: answer it there if it is an RFI thread (else stay silent)."""
    reply = rfi.reply(message)
    deliver_reply(surface, reply)
    return reply


def deliver_reply(surface: Surface, reply: ThreadReply | None) -> None:
    if reply is not None:
        surface.post(reply.channel_id, render(reply), reply.thread_ts)


MAX_FILES_PER_UPLOAD = 5  # Slack allows 10 files in one message; a recipient list is one
TOO_MANY_FILES = Text(
    "I import up to {n} files shared in one message, as one recipient list; nothing was "
    "imported. Share at most {n} files together (or combine them into fewer).",
    n=MAX_FILES_PER_UPLOAD,
)
NOTHING_IMPORTED = Text(
    "Nothing from this upload was imported: share all of its files again in one message."
)
IMPORT_STOPPED = Text(
    "connect-bot is restarting and did not import this upload; share it again in a minute."
)
REPORT_NO_CHANNEL = "{key} has no channel to share its report in: ask for it in a channel."
REPORT_IS_THERE = "The report for {key} is in {channel}."
CANNOT_SHARE = (  # Slack's error is filled in
    "I could not share the report in the onboarding's channel ({error}). Invite me with "
    "{invite}, then ask again."
)
IMPORT_FAILED = (  # a template: the reference is filled in
    "Something went wrong on our side while importing this upload (reference {ref}); nothing "
    "was imported. Share it again; if it happens again, the reference finds it in our logs."
)


@dataclass(frozen=True)
class FileUpload:
    """Files a person shared in a thread."""

    channel_id: str
    thread_ts: str
    ts: str
    user_id: str
    file_ids: tuple[str, ...]


def import_upload(
    importer: RecipientImporter,
    imports: Executor,
    surface: Surface,
    upload: FileUpload,
    fetch: Callable[[str], Upload],
    run_import: RunImport | None = None,
) -> None:
    """Files shared in an onboarding's RFI thread are its recipient list: the files of one
    message are one list. This claims the upload and hands it to the import pool, which
    fetches the files, has `run_import` (a child process in Slack: bot/import_processes.py;
    else the importer here) check and stage them as one batch, and answers once in the thread
    (imported, or the problems with one set of buttons)."""
    key = importer.upload_target(upload.channel_id, upload.thread_ts, upload.ts)
    if key is None:
        return  # not an RFI thread, or this upload was handled already
    if len(upload.file_ids) > MAX_FILES_PER_UPLOAD:
        # Importing some of them would replace the list with part of it.
        _answer(surface, upload, Refusal(TOO_MANY_FILES))
        return
    try:
        # carry: the import's log lines still name the request.
        # Imports have their own small pool (bot/wiring.py): an upload's download and read
        # take seconds, and eight on the command pool would leave none to answer a status.
        run = run_import or importer.import_files
        imports.submit(
            logs.carry(lambda: _import_upload(importer, run, surface, upload, key, fetch))
        )
    except RuntimeError:  # the interpreter is stopping
        log.warning("file upload arrived while stopping; asked to share it again")
        _answer(surface, upload, Refusal(IMPORT_STOPPED))


def _import_upload(
    importer: RecipientImporter,
    run_import: RunImport,
    surface: Surface,
    upload: FileUpload,
    key: str,
    fetch: Callable[[str], Upload],
) -> None:
    """On the import pool: fetch, import, answer. Nothing escapes: a future's exception
    would be lost, and the person would wait for an answer that never comes."""
    caller = Caller(upload.user_id, upload.channel_id)
    fetched: list[Upload] = []
    result: Renderable
    try:
        importer.check_target(caller, key)  # nothing is downloaded for an import refused anyway
        for file_id in upload.file_ids:  # each to a temporary file, not memory
            fetched.append(fetch(file_id))
        result = run_import(caller, key, [(got.path, got.name) for got in fetched])
    except UploadProblem as exc:
        problem = Text("{problem}", problem=str(exc))
        if len(upload.file_ids) > 1:
            problem = Text("{problem} {rest}", problem=problem, rest=NOTHING_IMPORTED)
        result = Refusal(problem)
    except Refused as exc:
        result = Refusal(exc.text)
    except Exception:
        ref = uuid.uuid4().hex[:12]
        log.exception("file upload failed (ref %s)", ref)
        result = Refusal(Text(IMPORT_FAILED, ref=ref))
    finally:
        for got in fetched:
            got.path.unlink(missing_ok=True)
    log.info("file upload done: %s", type(result).__name__)
    try:
        _answer(surface, upload, result)
    except Exception:
        log.exception("could not answer a file upload in its thread")


def _answer(surface: Surface, upload: FileUpload, result: Renderable) -> None:
    message = render(result)
    surface.post(upload.channel_id, replace(message, public=True), upload.thread_ts)


def finish_import(
    importer: RecipientImporter,
    surface: Surface,
    caller: Caller,
    clicked: tuple[str, str],
    key: str,
    batch_id: int,
    *,
    confirm: bool,
) -> None:
    """The button under a staged spreadsheet: import its valid rows, or discard it; the
    message is replaced in place so the buttons cannot be pressed twice."""
    channel_id, ts = clicked
    try:
        if confirm:
            report = importer.confirm(caller, batch_id, key)
        else:
            report = importer.discard(caller, batch_id, key)
    except Refused as exc:
        surface.tell(render(Refusal(exc.text)))
        return
    surface.update(channel_id, ts, render(report), final=True)
