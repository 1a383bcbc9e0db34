"""Route a parsed /connect command to its handler; every refusal becomes a Refusal result."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from commands.checking import CheckPlan, CheckService, DnsRecords
from commands.credentials import CredentialForm, CredentialService
from commands.grammar import Command, UsageError, parse
from commands.history import History, HistoryService
from commands.members import Members, MemberService
from commands.onboarding import Caller, OnboardingService, Refused
from commands.recipients.importer import RecipientImporter
from commands.recipients.sync import RecipientSync, Synced, SyncFailed
from commands.recipients.uploads import upload_target
from commands.regions import REGIONS
from commands.reminders.rules import DEFAULT_DELAYS, ReminderDelays
from commands.reminders.service import ReminderService
from commands.reminders.when import looks_like_time
from commands.results import Help, Refusal, ReminderResult, Result
from commands.rfi.service import RfiBegin, RfiService, Summary
from commands.roles import Role, may, verb_refusal
from commands.secrets import SecretBox
from commands.steps import STEP_ALIASES
from commands.text import Text
from commands.verbs import VERBS
from store.db import Database

log = logging.getLogger(__name__)

Reply = (
    Result
    | RfiBegin
    | Summary
    | CheckPlan
    | DnsRecords
    | CredentialForm
    | Synced
    | SyncFailed
    | ReminderResult
    | Members
    | History
)


class Router:
    def __init__(
        self,
        db: Database,
        *,
        allow_private_targets: bool = False,
        checks: CheckService | None = None,
        regions: Mapping[str, str] = REGIONS,
        secret_key: str | None = None,
        credentials: CredentialService | None = None,
        sync: RecipientSync | None = None,
        importer: RecipientImporter | None = None,
        delays: ReminderDelays = DEFAULT_DELAYS,
        role_of: Callable[[str], Role] | None = None,
    ) -> None:
        self.onboardings = OnboardingService(db, regions=regions, delays=delays)
        self.rfi = RfiService(db, allow_private=allow_private_targets, delays=delays)
        self.reminders = ReminderService(db, delays=delays)
        self.checks = checks
        self.credentials = credentials or CredentialService(
            db, SecretBox(secret_key), allow_private=allow_private_targets
        )
        self.sync = sync
        self.importer = importer or RecipientImporter(db)
        # role_of tells an invitee's role; the Slack app sets it once it can ask users.info.
        self.members = MemberService(db, role_of)
        self.history = HistoryService(db)

    def upload_target(self, channel_id: str, thread_ts: str, ts: str) -> str | None:
        """The onboarding a file uploaded in this thread is for (once per upload)."""
        return upload_target(self.importer.db, channel_id, thread_ts, ts)

    @staticmethod
    def parse(text: str) -> Command | Refusal:
        """The pure first half of handling: understand the text, touching nothing."""
        try:
            return parse(text)
        except UsageError as exc:
            return Refusal(exc.text, usage=exc.verb or VERBS["help"])

    @staticmethod
    def is_pure(command: Command) -> bool:
        return VERBS[command.verb].pure

    def handle_text(self, caller: Caller, text: str) -> Reply:
        """Parse and run one command; never raises for anything a user can type."""
        command = self.parse(text)
        return command if isinstance(command, Refusal) else self.handle(caller, command)

    def handle(self, caller: Caller, command: Command) -> Reply:
        try:
            return self._dispatch(caller, command)
        except UsageError as exc:
            return Refusal(exc.text, usage=exc.verb or VERBS[command.verb])
        except Refused as exc:
            return Refusal(exc.text)

    def _dispatch(self, caller: Caller, command: Command) -> Reply:
        args, flags = command.args, command.flags
        first = args[0] if args else None
        service = self.onboardings
        if not may(caller.role, command.verb):
            # Before any look-up: the answer is about the verb, never about an onboarding.
            raise Refused(verb_refusal(command.verb))
        match command.verb:
            case "help":
                return _help(first, caller.role)
            case "open":
                return service.open(
                    caller,
                    first,
                    service=_flag(flags, "service"),
                    region=_flag(flags, "region"),
                    name=_flag(flags, "name"),
                )
            case "status":
                return service.status(caller, first)
            case "list":
                return service.list(caller, include_closed=bool(flags.get("all")))
            case "done" | "reopen":
                if not args:
                    raise UsageError(Text("Say which step."), VERBS[command.verb])
                key, step = (None, args[0]) if len(args) == 1 else (args[0], args[1])
                move = service.mark_done if command.verb == "done" else service.reopen
                return move(caller, key, step)
            case "close":
                return service.close(caller, first)
            case "rfi":
                show = bool(args) and args[-1].lower() == "show"
                key_args = args[:-1] if show else args
                if len(key_args) > 1:
                    raise UsageError(Text("Say the customer, then optionally show."), VERBS["rfi"])
                key = key_args[0] if key_args else None
                return self.rfi.summary(caller, key) if show else self.rfi.begin(caller, key)
            case "check":
                key, step = _key_and_step(args)
                return self._checks().plan(caller, key, step)
            case "credentials":
                key, kind = (args[0], args[1]) if len(args) == 2 else (None, first)
                return self.credentials.form(caller, key, kind)
            case "dns":
                return self._checks().records(caller, first)
            case "sync":
                if self.sync is None:
                    raise Refused(Text("Directory sync is not set up in this process."))
                return self.sync.sync(caller, first)
            case "set":
                return service.update(
                    caller,
                    first,
                    region=_flag(flags, "region"),
                    name=_flag(flags, "name"),
                    journal_address=_flag(flags, "journal-address"),
                )
            case "remind":
                return self._remind(caller, command)
            case "reminders":
                return self.reminders.list(caller, first)
            case "invite":
                return self.members.invite(caller, args)
            case "members":
                return self.members.list(caller, first)
            case "history":
                return self.history.history(caller, first, _flag(flags, "page"))
        raise AssertionError(f"verb {command.verb} has no handler")

    def _remind(self, caller: Caller, command: Command) -> Reply:
        """`remind [customer] <when> <text>` or `remind cancel <id>`."""
        args = command.args
        if not args:
            raise UsageError(Text("Say when, then what."), VERBS["remind"])
        if args[0].lower() in ("cancel", "done"):
            verb = args[0].lower()
            if len(args) != 2:
                raise UsageError(Text("Say which reminder, by id."), VERBS["remind"])
            if verb == "done":
                return self.reminders.done_by_command(caller, args[1])
            return self.reminders.cancel(caller, args[1])
        if looks_like_time(args[0]):
            return self.reminders.remind(caller, None, command.text)
        spec = command.text.split(maxsplit=1)
        return self.reminders.remind(caller, args[0], spec[1] if len(spec) > 1 else "")

    def _checks(self) -> CheckService:
        if self.checks is None:
            raise Refused(Text("Checks are not set up in this process."))
        return self.checks  # VERBS and this match agree


def _key_and_step(args: tuple[str, ...]) -> tuple[str | None, str | None]:
    """`check acme outbound`, `check outbound` (bound channel), `check acme`, `check`."""
    if len(args) == 2:
        return args[0], args[1]
    if len(args) == 1 and args[0].lower() in {*STEP_ALIASES, "all"}:
        return None, args[0]
    return (args[0] if args else None), None


def _flag(flags: dict[str, str | bool], name: str) -> str | None:
    value = flags.get(name)
    return value if isinstance(value, str) else None


def _help(verb_name: str | None, role: Role) -> Help | Refusal:
    """All verbs for an engineer (those for engineers only marked); a customer contact's list
    holds only what they may use, so it reads as what they can do rather than what they can't."""
    for_customer = role is not Role.ENGINEER
    if verb_name is None:
        shown = tuple(v for v in VERBS.values() if may(role, v.name))
        return Help(shown, single=False, for_customer=for_customer)
    verb = VERBS.get(verb_name.lower())
    if verb is None:
        return Refusal(Text("I don't know the verb {verb}.", verb=verb_name), usage=VERBS["help"])
    return Help((verb,), single=True, for_customer=for_customer)
