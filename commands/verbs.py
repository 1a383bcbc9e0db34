"""The /connect verbs: their arguments, flags and help. Grammar and help both read this table."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Verb:
    name: str
    summary: str
    usage: str
    examples: tuple[str, ...]
    max_args: int
    # flag name -> True when it takes a value
    flags: dict[str, bool] = field(default_factory=dict)
    details: str = ""
    # Answered from this table alone (no store, no network), so Slack gets it in the ack itself.
    pure: bool = False
    # Free text follows the arguments (a reminder's text): words are split on white space, not
    # shell-quoted, so apostrophes and quotes stay as typed; no flags; max_args is not applied.
    rest: bool = False


VERBS: dict[str, Verb] = {
    v.name: v
    for v in (
        Verb(
            name="open",
            summary="Open an onboarding and bind it to this channel.",
            usage="open <customer> --service archiving|security|both [--region REGION] "
            '[--name "Company name"]',
            examples=('open acme --service both --region eu --name "Acme Ltd"',),
            max_args=1,
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
            details="Leave out the customer in a channel bound to an onboarding.",
        ),
        Verb(
            name="list",
            summary="List onboardings with their progress.",
            usage="list [--all]",
            examples=("list", "list --all"),
            max_args=0,
            flags={"all": False},
            details="Open onboardings come first; --all includes closed ones.",
        ),
        Verb(
            name="done",
            summary="Mark a step done by hand.",
            usage="done [customer] <step>",
            examples=("done acme outbound", "done recipients"),
            max_args=2,
            details="Steps: rfi, outbound, recipients, journaling, inbound, firewall.",
        ),
        Verb(
            name="reopen",
            summary="Take back a step marked done.",
            usage="reopen [customer] <step>",
            examples=("reopen acme outbound",),
            max_args=2,
            details="The step goes back to in progress.",
        ),
        Verb(
            name="close",
            summary="End an onboarding; it is kept and shown as closed.",
            usage="close <customer>",
            examples=("close acme",),
            max_args=1,
            details="The key must be spelled out, so nobody closes an onboarding by accident.",
        ),
        Verb(
            name="rfi",
            summary="Run the request for information in a thread, or show its answers.",
            usage="rfi [customer] [show]",
            examples=("rfi acme", "rfi acme show"),
            max_args=2,
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
            details="The SPF record keeps the domain's own mechanisms and adds the gateway's "
            "include, staying within the 10-lookup limit where it can.",
        ),
        Verb(
            name="credentials",
            summary="Enter the login for a customer server in a private form (stored encrypted).",
            usage="credentials [customer] pop|ldap",
            examples=("credentials acme pop", "credentials acme ldap"),
            max_args=2,
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
            details="Reads every user and group with an address through the stored ldap "
            "login (paged, so directories of any size are read whole) and replaces the "
            "directory's recipients in one go. Without a directory, upload a spreadsheet "
            "(columns email and name; CSV, XLSX or XLS) into the RFI thread.",
        ),
        Verb(
            name="set",
            summary="Change an onboarding's region, name or journal address.",
            usage='set [customer] [--region REGION] [--name "Company name"] '
            "[--journal-address ADDRESS]",
            examples=(
                "set acme --region eu",
                'set acme --name "Acme Ltd"',
                "set acme --journal-address journal-acme@example.com",
            ),
            max_args=1,
            flags={"region": True, "name": True, "journal-address": True},
            details="The journal address is the one the gateway gave the account; the "
            "journaling check compares it with the gateway's format.",
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
            details="In a channel bound to an onboarding, its reminders; elsewhere, every open "
            "onboarding's.",
        ),
        Verb(
            name="invite",
            summary="Add people to an onboarding.",
            usage="invite [customer] @person [@person ...]",
            examples=("invite acme @jane", "invite @jane @omar"),
            max_args=1 + 10,
            details="Each person is recorded as a Connect engineer or a customer contact, "
            "depending on their organisation. /connect members shows who takes part.",
        ),
        Verb(
            name="members",
            summary="Show who takes part in an onboarding, by role.",
            usage="members [customer]",
            examples=("members acme", "members"),
            max_args=1,
        ),
        Verb(
            name="history",
            summary="Show what changed in an onboarding, who did it and when, newest first.",
            usage="history [customer] [--page N]",
            examples=("history acme", "history acme --page 2"),
            max_args=1,
            flags={"page": True},
            details="Twenty changes a page. Passwords are never recorded, only that one was set.",
        ),
        Verb(
            name="help",
            summary="Explain the verbs, or one verb.",
            usage="help [verb]",
            examples=("help", "help open"),
            max_args=1,
            pure=True,
        ),
    )
}
