"""The RFI's questions: what each asks, for which services, and how its answer is read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from commands.core.process import Service, Step, applies
from commands.rfi import validators as v
from commands.rfi.validators.common import Answer


@dataclass(frozen=True)
class Choice:
    """A button for a single-choice question: its label and the text it answers with."""

    label: str
    answer: str


@dataclass(frozen=True)
class Question:
    id: str
    title: str
    prompt: str
    example: str
    required: bool
    multi: bool
    # Asked when one of these steps applies to the service bought.
    needs: tuple[Step, ...]
    # (text, allow_private) -> the validated values, or raises validators.Invalid
    parse: Callable[[str, bool], v.Parsed[Any]]
    help: str = ""
    choices: tuple[Choice, ...] = ()
    aliases: tuple[str, ...] = ()
    # The model the stored JSON loads back into (None: plain strings).
    model: type[Answer] | None = None
    # What a given answer still lacks (None: nothing), e.g. contacts without a technical one.
    lacks: Callable[[list[Any]], str | None] | None = None

    def applies_to(self, service: Service) -> bool:
        return any(applies(service, step) for step in self.needs)

    def load(self, stored: list[Any]) -> list[Any]:
        """Stored JSON values back into the validators' types."""
        return [self.model.model_validate(x) for x in stored] if self.model else list(stored)

    def missing(self, values: list[Any]) -> str | None:
        """What this answer still lacks before it counts as answered; None when it is whole."""
        return self.lacks(values) if self.lacks is not None and values else None

    def dump(self, values: tuple[Any, ...] | list[Any]) -> list[Any]:
        return [x.model_dump(mode="json") if isinstance(x, BaseModel) else x for x in values]


def shown(value: object) -> str:
    """The normalised form of one value, as the bot says it back."""
    return value.display() if isinstance(value, Answer) else str(value)


QUESTIONS: tuple[Question, ...] = (
    Question(
        id="contacts",
        title="Main points of contact",
        prompt="Who are the main points of contact? One per line: name, email, role "
        "(primary, technical or billing), and a phone number if you like. We need at least "
        "one primary and one technical contact.",
        example="Jane Smith, jane@example.com, primary, +44 20 7946 0000\n"
        "Raj Patel, raj@example.com, technical",
        required=True,
        multi=True,
        needs=(Step.RFI,),
        parse=lambda text, _private: v.contacts(text),
        aliases=("contact", "people"),
        model=v.Contact,
        lacks=v.contacts_complete,
    ),
    Question(
        id="outbound_ips",
        title="Sending IP addresses",
        prompt="Which public IP addresses do your mail servers send from? The gateway accepts "
        "outbound mail and journal reports only from these. Single addresses (IPv4 or IPv6), "
        "one per line or separated by commas.",
        example=v.EXAMPLE_IPS,
        required=True,
        multi=True,
        needs=(Step.RFI,),
        parse=lambda text, private: v.outbound_ips(text, allow_private=private),
        help="A range is not accepted: list each sending server's address. Dynamic addresses "
        "cannot be authorised; send through a server with a static address.",
        aliases=("ips", "ip", "addresses", "sending-ips"),
        model=v.OutboundIP,
    ),
    Question(
        id="domains",
        title="Domains",
        prompt="Which domains will the gateway handle mail for? One per line or separated by "
        "commas.",
        example=v.EXAMPLE_DOMAINS,
        required=True,
        multi=True,
        needs=(Step.RFI,),
        parse=lambda text, _private: v.domains(text),
        help="Internationalised names are fine (they are stored in both forms). Subdomains "
        "that receive mail of their own can be listed too.",
        aliases=("domain",),
        model=v.Domain,
    ),
    Question(
        id="forwarding",
        title="Forwarding addresses",
        prompt="Where should the gateway deliver inbound mail after scanning it? Your mail "
        "servers' host names or IP addresses, with a port if it is not 25.",
        example=v.EXAMPLE_HOSTS,
        required=True,
        multi=True,
        needs=(Step.INBOUND,),
        parse=lambda text, private: v.forwarding_hosts(text, allow_private=private),
        aliases=("delivery", "routes", "forwarding-addresses", "delivery-routes"),
        model=v.Host,
    ),
    Question(
        id="platform",
        title="Mail platform",
        prompt="Which mail platform do you run today? For Exchange, say the version.",
        example="Exchange 2019",
        required=True,
        multi=False,
        needs=(Step.RFI,),
        parse=lambda text, _private: v.platform(text),
        choices=(
            Choice("Microsoft 365", "Microsoft 365"),
            Choice("Google Workspace", "Google Workspace"),
            Choice("Exchange 2019", "Exchange 2019"),
            Choice("Exchange 2016", "Exchange 2016"),
            Choice("Lotus Domino", "Lotus Domino"),
        ),
        help="Another version or platform: type it, e.g. `Exchange 2013` or `other: Zimbra 10`.",
        aliases=("mail-platform",),
        model=v.Platform,
    ),
    Question(
        id="previous_provider",
        title="Previous gateway provider",
        prompt="Which email security or archiving provider do you use today, if any? "
        "Say `none` if there is none.",
        example="Proofpoint",
        required=False,
        multi=False,
        needs=(Step.RFI,),
        parse=lambda text, _private: v.previous_provider(text),
        help="We remind you to cancel it before the firewall lockdown.",
        aliases=("provider", "previous", "previous-gateway"),
    ),
    Question(
        id="journaling",
        title="Journaling method",
        prompt="How will your servers send journal reports to the archive? SMTP is "
        "recommended; POP is only for Exchange 2003 and the like.",
        example="SMTP",
        required=True,
        multi=False,
        needs=(Step.JOURNALING,),
        parse=lambda text, _private: v.journaling_method(text),
        choices=(Choice("SMTP (recommended)", "smtp"), Choice("POP", "pop")),
        aliases=("journal", "journaling-method"),
    ),
    Question(
        id="directory",
        title="Recipient directory",
        prompt="Where does the gateway learn your valid recipients? Active Directory, another "
        "LDAP directory, or none (you will upload a spreadsheet).",
        example="Active Directory",
        required=True,
        multi=False,
        needs=(Step.RECIPIENTS,),
        parse=lambda text, _private: v.directory_type(text),
        choices=(
            Choice("Active Directory", "Active Directory"),
            Choice("Other LDAP", "other LDAP"),
            Choice("None: spreadsheet", "none"),
        ),
        aliases=("recipients", "ldap", "directory-type", "recipient-directory"),
    ),
)

BY_ID: dict[str, Question] = {q.id: q for q in QUESTIONS}


def for_service(service: Service) -> tuple[Question, ...]:
    return tuple(q for q in QUESTIONS if q.applies_to(service))


def find(name: str, service: Service) -> Question | None:
    """A question by id, alias, number (1-based, as listed for the service) or title."""
    wanted = "-".join(name.strip().lower().replace("_", " ").split())
    asked = for_service(service)
    if wanted.isdigit() and 1 <= int(wanted) <= len(asked):
        return asked[int(wanted) - 1]
    for question in asked:
        names = {question.id.replace("_", "-"), *question.aliases}
        if wanted in names or wanted == "-".join(question.title.lower().split()):
            return question
    return None
