"""The points of contact answer: one person per line with name, email, role and an optional
phone number, and whether the roles the onboarding needs are all there."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import ConfigDict

from commands.rfi.validators.common import (
    DASHES,
    MAX_VALUES,
    NAME_EDGES,
    Answer,
    Invalid,
    Parsed,
    dedupe,
    listing,
    prepare,
    quote,
    squash,
)

Role = Literal["primary", "technical", "billing"]

EXAMPLE_CONTACTS = (
    "Jane Smith, jane@example.com, primary, +44 20 7946 0000\nRaj Patel <raj@example.com> technical"
)


class Contact(Answer):
    model_config = ConfigDict(frozen=True)

    name: str
    email: str
    role: Role
    phone: str | None = None

    def display(self) -> str:
        text = f"{self.name} <{self.email}>, {self.role}"
        return f"{text}, {self.phone}" if self.phone else text


_ROLE_WORDS: dict[str, Role] = {
    "primary": "primary",
    "main": "primary",
    "principal": "primary",
    "poc": "primary",
    "technical": "technical",
    "tech": "technical",
    "it": "technical",
    "billing": "billing",
    "accounts": "billing",
    "accounting": "billing",
    "finance": "billing",
    "invoices": "billing",
    "invoicing": "billing",
}
_ROLE_FILLER = frozenset({"contact", "and", "role", "both", "person", "payable"})
_FIELD_LABEL = re.compile(
    r"^(name|full\s+name|e-?mail(?:\s+address)?|mail|role|phone|tel|telephone|mobile|cell)"
    r"\s*[:=]\s*",
    re.I,
)
_HEADER_WORDS = frozenset(
    {
        "name",
        "full name",
        "email",
        "e-mail",
        "email address",
        "role",
        "phone",
        "telephone",
        "mobile",
    }
)
_EMAIL_ANGLE = re.compile(r"<\s*([^<>\s]*)\s*>")
_EMAIL_BARE = re.compile(r"[^\s<>,;|()\[\]\"']*@[^\s<>,;|()\[\]\"']*")
_PHONE_LABELS = re.compile(r"\b(phone|tel|telephone|mobile|mob|cell)\b\s*[:.]?", re.I)
_PHONE_CHARS = re.compile(r"\+?[\d\s().\-]+")
_NAME_BAD = re.compile(r"[<>@:;|\\/{}\[\]=_\d]")

# What is left around roles and phones once they are taken out is trimmed of these.
_FREE_EDGES = f" {DASHES}:,/&|"
_ROLE_JOINERS = f" &/+{DASHES}()"


def _roles_in(text: str) -> tuple[list[Role], str]:
    """Role words found in `text`, and the text left once they (and filler words) are gone."""
    roles: list[Role] = []

    def take(match: re.Match[str]) -> str:
        word = match.group(0).lower()
        if word in _ROLE_WORDS:
            role = _ROLE_WORDS[word]
            if role not in roles:
                roles.append(role)
            return " "
        if word in _ROLE_FILLER:
            return " "
        return match.group(0)

    rest = re.sub(r"[^\W\d_]+", take, text)
    return roles, rest


def _is_role_field(field: str) -> bool:
    """A field of role words only, such as "primary & technical"."""
    roles, rest = _roles_in(field)
    return bool(roles) and not rest.strip(_ROLE_JOINERS)


def _phone(text: str, where: str) -> str:
    """A phone number as given: 6 to 20 digits, with spaces and + ( ) - . at most."""
    phone = squash(text)
    digits = sum(ch.isdigit() for ch in phone)
    if not _PHONE_CHARS.fullmatch(phone) or "+" in phone[1:]:
        raise Invalid(
            f"{where}the phone number {quote(phone)} may contain only digits, spaces and "
            "+ ( ) - . (a + only at the start).",
            EXAMPLE_CONTACTS,
        )
    if not 6 <= digits <= 20:
        raise Invalid(
            f"{where}the phone number {quote(phone)} has {digits} digits; a phone number has "
            "6 to 20.",
            EXAMPLE_CONTACTS,
        )
    return phone


def _name(text: str, where: str) -> str:
    """A person's name: letters and light punctuation, at most 100 characters."""
    name = squash(text).strip(NAME_EDGES)
    if _NAME_BAD.search(name):
        raise Invalid(
            f"{where}the name {quote(name)} has characters a name does not have (digits or "
            "< > @ : ; | / _ =); give the person's name, then the email, role and phone.",
            EXAMPLE_CONTACTS,
        )
    if len(name) > 100:
        raise Invalid(f"{where}the name is over 100 characters long.", EXAMPLE_CONTACTS)
    if not any(ch.isalpha() for ch in name):
        raise Invalid(f"{where}{quote(name)} is not a name.", EXAMPLE_CONTACTS)
    return name


def _email(text: str, where: str) -> str:
    """The normalised form of an email address; syntax only, no DNS."""
    try:
        # test_environment: addresses @*.test are accepted, like the domains (see names.py)
        result = validate_email(text, check_deliverability=False, test_environment=True)
    except EmailNotValidError as error:
        raise Invalid(
            f"{where}the email address {quote(text)} is not valid: {error}",
            EXAMPLE_CONTACTS,
        ) from None
    return result.normalized


@dataclasses.dataclass
class _Pieces:
    """What the fields of one contact line hold, gathered before the line is judged as a whole."""

    emails: list[str] = dataclasses.field(default_factory=list)
    names: list[str] = dataclasses.field(default_factory=list)
    roles: list[Role] = dataclasses.field(default_factory=list)
    phones: list[str] = dataclasses.field(default_factory=list)

    def add_roles(self, found: list[Role]) -> None:
        self.roles.extend(r for r in found if r not in self.roles)


def _contact_line(line: str, where: str) -> list[Contact]:
    """The contacts on one line (one per role), or [] for a line of column names."""
    fields = [f.strip() for f in re.split(r"[,|\t]", line) if f.strip()]
    if all(squash(f).lower().rstrip(":") in _HEADER_WORDS for f in fields):
        return []
    pieces = _Pieces()
    for field in fields:
        _read_field(field, pieces, where)
    return _contacts_from(pieces, where)


def _read_field(original: str, pieces: _Pieces, where: str) -> None:
    """Sort one field into `pieces`: by its label (Email: ...) if it has one, else by its look."""
    field = original
    label_match = _FIELD_LABEL.match(field)
    label = ""
    if label_match:
        label = label_match.group(1).lower()
        field = field[label_match.end() :].strip()
        if not field:
            return
    match, group = _email_match(field)
    if match is not None:
        _read_email_field(field, match, group, pieces, where)
    elif label in ("name", "full name"):
        pieces.names.append(field)
    elif label == "role":
        found, rest = _roles_in(field)
        if not found or rest.strip(_ROLE_JOINERS):
            raise Invalid(
                f"{where}the role {quote(field)} is not one of primary, technical, billing.",
                EXAMPLE_CONTACTS,
            )
        pieces.add_roles(found)
    elif label in ("phone", "tel", "telephone", "mobile", "cell"):
        pieces.phones.append(field)
    elif label.startswith(("e", "mail")):
        pieces.emails.append(field)
    elif _is_role_field(field):
        found, _ = _roles_in(field)
        pieces.add_roles(found)
    elif any(ch.isdigit() for ch in field):
        pieces.phones.append(_PHONE_LABELS.sub(" ", field))
    else:
        pieces.names.append(field)


def _email_match(field: str) -> tuple[re.Match[str] | None, int]:
    """The email address in a field, <in angle brackets> first, and the group that holds it."""
    match = _EMAIL_ANGLE.search(field)
    if match is None or "@" not in match.group(1):
        return (_EMAIL_BARE.search(field) if "@" in field else None), 0
    return match, 1


def _read_email_field(
    field: str, match: re.Match[str], group: int, pieces: _Pieces, where: str
) -> None:
    """A field with an email address: a name may come before it, roles and a phone after it."""
    if len(_EMAIL_BARE.findall(field)) > 1:
        # Kept whole so that the line is refused for having more than one address.
        pieces.emails.extend(_EMAIL_BARE.findall(field))
        return
    address = match.group(group)
    if address.lower().startswith("mailto:"):
        address = address[len("mailto:") :]
    pieces.emails.append(address)
    before, after = field[: match.start()], field[match.end() :]
    if before.strip(NAME_EDGES):
        pieces.names.append(before)
    if after.strip():
        _read_free_text(after, pieces, where)


def _read_free_text(text: str, pieces: _Pieces, where: str) -> None:
    """Text after an email address: role words and a phone number, nothing else."""
    found, rest = _roles_in(text)
    pieces.add_roles(found)
    rest = _PHONE_LABELS.sub(" ", rest)
    rest = re.sub(r"\(\s*\)|\[\s*\]", " ", rest).strip(_FREE_EDGES).lstrip(")]>")
    rest = rest.strip(_FREE_EDGES)
    if not rest or (not any(ch.isdigit() for ch in rest) and not rest.strip(_ROLE_JOINERS + ",:|")):
        return
    if any(ch.isdigit() for ch in rest):
        pieces.phones.append(rest)
        return
    raise Invalid(
        f"{where}{quote(rest.strip())} after the email address is neither a role (primary, "
        "technical, billing) nor a phone number.",
        EXAMPLE_CONTACTS,
    )


def _contacts_from(pieces: _Pieces, where: str) -> list[Contact]:
    """One contact per role from a line's pieces, or Invalid for what is missing or too much."""
    emails, phones = pieces.emails, pieces.phones
    if not emails:
        raise Invalid(
            f"{where}no email address; each contact needs name, email and role.",
            EXAMPLE_CONTACTS,
        )
    if len(emails) > 1:
        raise Invalid(
            f"{where}there is more than one email address ({listing(quote(e) for e in emails)}); "
            "put each contact on a line of its own.",
            EXAMPLE_CONTACTS,
        )
    if len(phones) > 1:
        raise Invalid(
            f"{where}there is more than one phone number ({listing(quote(p) for p in phones)}); "
            "give one phone number per contact.",
            EXAMPLE_CONTACTS,
        )
    name_parts = [n for n in (squash(n).strip(NAME_EDGES) for n in pieces.names) if n]
    if not name_parts:
        raise Invalid(
            f"{where}no name; give the person's name before the email address.", EXAMPLE_CONTACTS
        )
    if len(name_parts) > 1:
        raise Invalid(
            f"{where}{listing(quote(n) for n in name_parts)} are not a role or a phone "
            "number, and only one of them can be the name; give name, email, role, phone.",
            EXAMPLE_CONTACTS,
        )
    name = _name(name_parts[0], where)
    email = _email(emails[0], where)
    phone = _phone(phones[0], where) if phones else None
    if not pieces.roles:
        raise Invalid(
            f"{where}no role; add primary, technical or billing (a person with two roles is "
            "listed on two lines).",
            EXAMPLE_CONTACTS,
        )
    return [Contact(name=name, email=email, role=role, phone=phone) for role in pieces.roles]


def contacts(text: str) -> Parsed[Contact]:
    """Points of contact, one per line (or `;` between them): name, email, role, optional phone."""
    example = EXAMPLE_CONTACTS
    cleaned, notes = prepare(text, example)
    lines = [line.strip() for line in re.split(r"[\n;]", cleaned)]
    numbered = [(n, line) for n, line in enumerate(lines, start=1) if line]
    if not numbered:
        raise Invalid("The answer has no contacts in it.", example)
    if len(numbered) > MAX_VALUES:
        raise Invalid(
            f"The answer lists {len(numbered):,} contacts; at most {MAX_VALUES} fit in one answer.",
            example,
        )
    values: list[Contact] = []
    skipped_header = False
    for n, line in numbered:
        if len(numbered) > 1:
            found = _contact_line(line, f"Line {n} ({quote(line, 40)}): ")
        else:
            try:
                found = _contact_line(line, "")
            except Invalid as error:
                problem = error.problem[:1].upper() + error.problem[1:]
                raise Invalid(problem, error.example) from None
        if not found:
            skipped_header = True
        values.extend(found)
    if not values:
        raise Invalid("The answer has no contacts in it, only column names.", example)
    if skipped_header:
        notes.append("Skipped a line of column names.")
    kept, dup_notes = dedupe(
        values, lambda c: (c.email.lower(), c.role), lambda c: f"{c.email} ({c.role})"
    )
    return Parsed(tuple(kept), tuple(notes + dup_notes))


def contacts_complete(values: Sequence[Contact]) -> str | None:
    """None when there is a primary and a technical contact, else what is still missing."""
    roles = {contact.role for contact in values}
    missing = [role for role in ("primary", "technical") if role not in roles]
    if not missing:
        return None
    wanted = " and ".join(f"a {role} contact" for role in missing)
    return (
        f"Still needed: {wanted}. One person may hold both roles: list them once as primary "
        "and once as technical."
    )
