"""The /connect verbs, each declared once: usage, help, who may use it, and its handler.

A handler takes the Call (services, caller, the parsed command) and returns a plain result;
a Refused or UsageError it raises becomes a Refusal in one place (commands/router.py). Adding a
verb is one Verb below and one handler beside it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from commands.core.process import STEP_ALIASES, Step
from commands.core.roles import Role
from commands.core.text import Code, Text
from commands.grammar import UsageError, near_miss
from commands.registry import EVERYONE, Call, Registry, Verb
from commands.reminders.when import looks_like_time
from commands.replies import Help, Refusal
from commands.watch.views import ACTIONS, watch

if TYPE_CHECKING:
    from commands.replies import Reply

# --- handlers: plain values in, the service's result out -----------------------------------


def _open(call: Call) -> Reply:
    return call.services.onboardings.open(
        call.caller,
        _first(call),
        service=_flag(call, "service"),
        region=_flag(call, "region"),
        name=_flag(call, "name"),
    )


def _status(call: Call) -> Reply:
    return call.services.onboardings.status(call.caller, _first(call))


def _list(call: Call) -> Reply:
    return call.services.onboardings.list(
        call.caller, include_closed=bool(call.command.flags.get("all"))
    )


def _step_args(call: Call) -> tuple[str | None, str]:
    args = call.command.args
    if not args:
        raise UsageError(Text("Say which step."), call.verbs[call.command.verb])
    return (None, args[0]) if len(args) == 1 else (args[0], args[1])


def _done(call: Call) -> Reply:
    key, step = _step_args(call)
    return call.services.onboardings.mark_done(call.caller, key, step)


def _reopen(call: Call) -> Reply:
    key, step = _step_args(call)
    changed = call.services.onboardings.reopen(call.caller, key, step)
    if changed.step is Step.RFI:
        # The RFI's thread says what is left to do: the missing answer asked again, or how to
        # change one and finish; never "in progress" with nothing asked.
        return call.services.rfi.reopened(call.caller, changed)
    return changed


def _close(call: Call) -> Reply:
    confirmed = bool(call.command.flags.get("yes"))
    return call.services.onboardings.close(call.caller, _first(call), confirmed=confirmed)


def _set(call: Call) -> Reply:
    return call.services.onboardings.update(
        call.caller,
        _first(call),
        region=_flag(call, "region"),
        name=_flag(call, "name"),
        journal_address=_flag(call, "journal-address"),
        go_live=_flag(call, "go-live"),
    )


def _rfi(call: Call) -> Reply:
    args = call.command.args
    show = bool(args) and args[-1].lower() == "show"
    key_args = args[:-1] if show else args
    if len(key_args) > 1:
        raise UsageError(Text("Say the customer, then optionally show."), call.verbs["rfi"])
    key = key_args[0] if key_args else None
    rfi = call.services.rfi
    return rfi.summary(call.caller, key) if show else rfi.begin(call.caller, key)


def _check(call: Call) -> Reply:
    """`check acme outbound`, `check outbound` (bound channel), `check acme`, `check`."""
    args = call.command.args
    key, step = (args[0] if args else None), None
    if len(args) == 2:
        key, step = args
    elif len(args) == 1 and args[0].lower() in {*STEP_ALIASES, "all"}:
        key, step = None, args[0]
    return call.services.checks.plan(call.caller, key, step)


def _dns(call: Call) -> Reply:
    return call.services.checks.records(call.caller, _first(call))


def _credentials(call: Call) -> Reply:
    args = call.command.args
    key, kind = (args[0], args[1]) if len(args) == 2 else (None, _first(call))
    return call.services.credentials.form(call.caller, key, kind)


def _sync(call: Call) -> Reply:
    return call.services.sync.sync(call.caller, _first(call))


def _remind(call: Call) -> Reply:
    """`remind [customer] <when> <text>`, `remind cancel <id>` or `remind done <id>`."""
    args, reminders = call.command.args, call.services.reminders
    if not args:
        raise UsageError(Text("Say when, then what."), call.verbs["remind"])
    if args[0].lower() in ("cancel", "done"):
        if len(args) != 2:
            raise UsageError(Text("Say which reminder, by id."), call.verbs["remind"])
        if args[0].lower() == "done":
            return reminders.done_by_command(call.caller, args[1])
        return reminders.cancel(call.caller, args[1])
    if looks_like_time(args[0]):
        return reminders.remind(call.caller, None, call.command.text)
    spec = call.command.text.split(maxsplit=1)
    return reminders.remind(call.caller, args[0], spec[1] if len(spec) > 1 else "")


def _reminders(call: Call) -> Reply:
    return call.services.reminders.list(call.caller, _first(call))


def _invite(call: Call) -> Reply:
    return call.services.members.invite(call.caller, call.command.args)


def _members(call: Call) -> Reply:
    return call.services.members.list(call.caller, _first(call))


def _history(call: Call) -> Reply:
    return call.services.history.history(call.caller, _first(call), _flag(call, "page"))


def _watch(call: Call) -> Reply:
    """`watch [customer] [pause|resume]`: the DNS watch, shown; paused or resumed."""
    args = list(call.command.args)
    action = args.pop().lower() if args and args[-1].lower() in ACTIONS else None
    if len(args) > 1:
        raise UsageError(
            Text("Say the customer, then optionally pause or resume."), call.verbs["watch"]
        )
    return watch(call.services.db, call.caller, args[0] if args else None, action)


def _help(call: Call) -> Reply:
    """All verbs for an engineer (those for engineers only marked); a customer contact's list
    holds only what they may use, so it reads as what they can do rather than what they can't."""
    role, name, door = call.caller.role, _first(call), call.caller.shown_door
    for_customer = role is not Role.ENGINEER
    if name is None:
        shown = tuple(v for v in call.verbs.values() if v.allows(role))
        return Help(shown, single=False, for_customer=for_customer, door=door)
    verb = call.verbs.get(name.lower())
    if verb is None:
        meant = near_miss(name, call.verbs)
        unknown = (
            Text(
                "I don't know the verb {verb}. Did you mean {meant}?",
                verb=name,
                meant=Code(f"{door} help {meant}"),
            )
            if meant
            else Text("I don't know the verb {verb}.", verb=name)
        )
        return Refusal(unknown, usage=call.verbs["help"], door=door)
    return Help((verb,), single=True, for_customer=for_customer, door=door)


def _first(call: Call) -> str | None:
    return call.command.args[0] if call.command.args else None


def _flag(call: Call, name: str) -> str | None:
    value = call.command.flags.get(name)
    return value if isinstance(value, str) else None


# --- the verbs, in the order help lists them -----------------------------------------------

VERBS = Registry(
    [
        Verb(
            name="open",
            summary="Open an onboarding and bind it to this channel.",
            usage="open <customer> --service archiving|security|both [--region REGION] "
            '[--name "Company name"]',
            examples=('open acme --service both --region eu --name "Acme Ltd"',),
            max_args=1,
            handler=_open,
            roles=EVERYONE,
            flags={"service": True, "region": True, "name": True},
            details="The customer key is a slug (lowercase letters, digits and hyphens, 2 to 40 "
            "characters). The bot posts the plan: which of the six steps apply to the service.",
        ),
        Verb(
            name="status",
            summary="Show an onboarding at a glance.",
            usage="status [customer]",
            examples=("status acme", "status"),
            max_args=1,
            handler=_status,
            roles=EVERYONE,
            details="Leave out the customer in a channel bound to an onboarding.",
        ),
        Verb(
            name="list",
            summary="List onboardings with their progress.",
            usage="list [--all]",
            examples=("list", "list --all"),
            max_args=0,
            handler=_list,
            roles=EVERYONE,
            flags={"all": False},
            details="Open onboardings come first; --all includes closed ones.",
        ),
        Verb(
            name="done",
            summary="Mark a step done by hand.",
            usage="done [customer] <step>",
            examples=("done acme outbound", "done recipients"),
            max_args=2,
            handler=_done,
            details="Steps: rfi, outbound, recipients, journaling, inbound, firewall.",
        ),
        Verb(
            name="reopen",
            summary="Take back a step marked done.",
            usage="reopen [customer] <step>",
            examples=("reopen acme outbound",),
            max_args=2,
            handler=_reopen,
            details="The step goes back to in progress.",
        ),
        Verb(
            name="close",
            summary="End an onboarding; it is kept and shown as closed.",
            usage="close <customer> [--yes]",
            examples=("close acme", "close acme --yes"),
            max_args=1,
            handler=_close,
            flags={"yes": False},
            details="The key must be spelled out, and the bot asks first (a Close button; "
            "--yes closes at once), so nobody closes an onboarding by accident. A closed "
            "onboarding is kept: list --all lists it, status <customer> shows it.",
        ),
        Verb(
            name="rfi",
            summary="Run the request for information in a thread, or show its answers.",
            usage="rfi [customer] [show]",
            examples=("rfi acme", "rfi acme show"),
            max_args=2,
            handler=_rfi,
            roles=EVERYONE,
            details="The bot asks one question at a time in the thread of its RFI message; reply "
            "in the thread. In the thread: skip, next, back, change <question>, show, help. The "
            "RFI message also has a button to fill everything in as a form.",
        ),
        Verb(
            name="check",
            summary="Run a step's checks (or every step's) against real DNS and mail servers.",
            usage="check [customer] [outbound|recipients|journaling|inbound|firewall|all]",
            examples=("check acme outbound", "check acme"),
            max_args=2,
            handler=_check,
            roles=EVERYONE,
            details="DNS: MX at the gateway, no old MX host left, every name server serving "
            "the switch, SPF authorising every gateway range. Probes: smart hosts, delivery "
            "routes and journal hosts accept SMTP with valid TLS, old MX hosts refuse mail, the "
            "journal mailbox logs in, port 25 is locked down. Recipients: the directory is read "
            "stage by stage (TCP, TLS, bind, paged search) and every domain has recipients. "
            "All passing marks the step done.",
        ),
        Verb(
            name="dns",
            summary="Show the exact MX and SPF records each domain should publish.",
            usage="dns [customer]",
            examples=("dns acme",),
            max_args=1,
            handler=_dns,
            roles=EVERYONE,
            details="The SPF record keeps the domain's own mechanisms and adds the gateway's "
            "include, staying within the 10-lookup limit where it can.",
        ),
        Verb(
            name="credentials",
            summary="Enter the login for a customer server in a private form (stored encrypted).",
            usage="credentials [customer] pop|ldap",
            examples=("credentials acme pop", "credentials acme ldap"),
            max_args=2,
            handler=_credentials,
            roles=EVERYONE,
            details="Opens a form. pop: the POP journal mailbox (host, port, TLS mode, user, "
            "password). ldap: the directory the recipients are read from (host, port, LDAPS or "
            "StartTLS, bind DN, password, base DN, directory type, your CA if needed). Never "
            "type a password in a channel.",
        ),
        Verb(
            name="sync",
            summary="Read the customer's directory and keep its recipients.",
            usage="sync [customer]",
            examples=("sync acme",),
            max_args=1,
            handler=_sync,
            roles=EVERYONE,
            details="Reads every user and group with an address through the stored ldap "
            "login (paged, so directories of any size are read whole) and replaces the "
            "directory's recipients in one go. Without a directory, upload a spreadsheet "
            "(columns email and name; CSV, XLSX or XLS) into the RFI thread.",
        ),
        Verb(
            name="set",
            summary="Change an onboarding's region, name, journal address or go-live date.",
            usage='set [customer] [--region REGION] [--name "Company name"] '
            "[--journal-address ADDRESS] [--go-live YYYY-MM-DD|none]",
            examples=(
                "set acme --region eu",
                'set acme --name "Acme Ltd"',
                "set acme --journal-address journal-acme@example.com",
                "set acme --go-live 2027-01-15",
            ),
            max_args=1,
            handler=_set,
            flags={"region": True, "name": True, "journal-address": True, "go-live": True},
            details="The journal address is the one the gateway gave the account; the "
            "journaling check compares it with the gateway's format. The go-live date is the "
            "day mail should flow through the gateway: the bot plans each step's latest start "
            "back from it, reminds on those days, and status shows whether it is on track; "
            "--go-live none removes it.",
        ),
        Verb(
            name="remind",
            summary="Set a reminder, posted in the onboarding's channel when it falls due.",
            usage="remind [customer] <when> <text> | remind cancel <id> | remind done <id>",
            examples=(
                "remind acme in 3d call the ISP",
                "remind acme 2026-12-01 09:00 check the outbound-only period",
                "remind cancel 12",
                "remind done 12",
            ),
            max_args=0,
            handler=_remind,
            roles=EVERYONE,
            needs_zone=True,
            rest=True,
            details="When: in 30m, in 2h, in 3d, in 1w, today 17:00, tomorrow 09:00, "
            "2026-12-01 or 2026-12-01 09:00, in your Slack time zone, at most a year ahead. "
            "The reminder has Done and Snooze buttons; remind done <id> is the Done button "
            "for a message out of sight.",
        ),
        Verb(
            name="reminders",
            summary="List the pending reminders, with their ids.",
            usage="reminders [customer]",
            examples=("reminders acme", "reminders"),
            max_args=1,
            handler=_reminders,
            roles=EVERYONE,
            details="In a channel bound to an onboarding, its reminders; elsewhere, every open "
            "onboarding's.",
        ),
        Verb(
            name="invite",
            summary="Add people to an onboarding.",
            usage="invite [customer] @person [@person ...]",
            examples=("invite acme @jane", "invite @jane @omar"),
            max_args=1 + 10,
            handler=_invite,
            details="Each person is recorded as a Connect engineer or a customer contact, "
            "depending on their organisation. /connect members shows who takes part.",
        ),
        Verb(
            name="members",
            summary="Show who takes part in an onboarding, by role.",
            usage="members [customer]",
            examples=("members acme", "members"),
            max_args=1,
            handler=_members,
            roles=EVERYONE,
        ),
        Verb(
            name="history",
            summary="Show what changed in an onboarding, who did it and when, newest first.",
            usage="history [customer] [--page N]",
            examples=("history acme", "history acme --page 2"),
            max_args=1,
            handler=_history,
            roles=EVERYONE,
            flags={"page": True},
            details="Twenty changes a page. Passwords are never recorded, only that one was set.",
        ),
        Verb(
            name="watch",
            summary="Show the bot's own DNS watch (the MX switch, then regressions); pause it.",
            usage="watch [customer] [pause|resume]",
            examples=("watch acme", "watch acme pause", "watch acme resume"),
            max_args=2,
            handler=_watch,
            roles=EVERYONE,
            details="While the inbound step is in progress the bot re-checks the MX and every "
            "name server on its own and says in the channel when the switch is seen; once the "
            "step is done it checks daily that the MX still points at the gateway and the SPF "
            "still authorises it. Only engineers may pause or resume it.",
        ),
        Verb(
            name="help",
            summary="Explain the verbs, or one verb.",
            usage="help [verb]",
            examples=("help", "help open"),
            max_args=1,
            handler=_help,
            roles=EVERYONE,
            pure=True,
        ),
    ]
)


# --- the onboarding report (issue 15): its handler and verb, kept together -------------------


def _report(call: Call) -> Reply:
    # Imported here so this verb's lines stay in one place; built per call, as it only reads
    # the store (and the gateway profile the checks loaded).
    from commands.report.service import ReportService

    report = ReportService(call.services.db, call.services.checks.profile)
    return report.report(call.caller, _first(call))


VERBS.add(
    Verb(
        name="report",
        summary="Make the onboarding's report for the change board, as a file in the channel.",
        usage="report [customer]",
        examples=("report acme", "report"),
        max_args=1,
        handler=_report,
        roles=EVERYONE,
        details="An HTML page (print it to PDF) with every step, who completed it and when, "
        "each check's latest result per domain with its evidence, the records asked for and "
        "seen, the RFI's answers, reminders and confirmations, and the audit trail. Passwords "
        "are never in it. On the server: connect-bot report <customer> --format md|html.",
    )
)
