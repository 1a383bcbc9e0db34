"""The directory type answer: what recipient validation reads valid addresses from."""

from __future__ import annotations

import re

from commands.rfi.validators.common import Invalid, Parsed, is_none, one_answer, quote

EXAMPLE_DIRECTORY = "Active Directory"

_DIRECTORY_NONE_NOTE = (
    "Without a directory, recipient validation works from a spreadsheet of valid addresses that "
    "you send and keep up to date."
)


def directory_type(text: str) -> Parsed[str]:
    """The directory for recipient validation: "active_directory", "ldap" or "none"."""
    example = EXAMPLE_DIRECTORY
    what = "Active Directory, another LDAP directory, or none (a spreadsheet of recipients)"
    answer, notes = one_answer(text, what, example)
    lowered = re.sub(r"[_\-]+", " ", answer.lower())
    if re.search(
        r"\b(no|not|without)\s+(an?\s+)?(ad|active\s*directory|ldap|directory)\b", lowered
    ):
        return Parsed(("none",), (*notes, _DIRECTORY_NONE_NOTE))
    on_prem = re.search(r"\b(on\s*prem\w*|local|windows\s+server|domain\s+controllers?)\b", lowered)
    if re.search(r"\b(azure\s*ad|aad|entra(\s+id)?)\b", lowered) and not on_prem:
        raise Invalid(
            "Entra ID (Azure AD) has no LDAP for the gateway to query. If you also run Active "
            "Directory on your own servers, answer Active Directory; otherwise answer none "
            "(a spreadsheet of recipients).",
            example,
        )
    if re.search(r"\b(ad|active\s*directory|ad\s*ds|adds|ad\s*lds|azure\s*ad)\b", lowered):
        return Parsed(("active_directory",), tuple(notes))
    if re.search(
        r"\b(ldap|ldaps|openldap|other\s+ldap|389(\s+ds)?|edirectory|e\s+directory|novell|"
        r"freeipa|oracle\s+directory|apache\s+ds|red\s+hat\s+directory|domino\s+ldap|"
        r"opendj|openldap\s+server)\b",
        lowered,
    ):
        return Parsed(("ldap",), tuple(notes))
    if is_none(lowered) or re.search(
        r"\b(none|spreadsheet|csv|excel|xlsx|list|manual(ly)?|no\s+directory)\b", lowered
    ):
        return Parsed(("none",), (*notes, _DIRECTORY_NONE_NOTE))
    raise Invalid(f"{quote(answer)} is not a directory type; answer {what}.", example)
