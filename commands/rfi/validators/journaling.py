"""The journaling method answer: how journal copies reach the archive (SMTP or POP)."""

from __future__ import annotations

import re

from commands.rfi.validators.common import Invalid, Parsed, one_answer, quote

EXAMPLE_JOURNALING = "SMTP"

_POP_NOTE = (
    "POP journaling is meant for old platforms such as Exchange 2003, where the journal mailbox "
    "is collected over POP3; SMTP journaling (the journal copies sent straight to the gateway) "
    "is recommended wherever the platform can do it."
)


def journaling_method(text: str) -> Parsed[str]:
    """How journal copies reach the archive: "smtp" (recommended) or "pop"."""
    example = EXAMPLE_JOURNALING
    answer, notes = one_answer(text, "SMTP (recommended) or POP", example)
    lowered = answer.lower()
    smtp = re.search(r"\b(smtp|recommended|default|push)\b", lowered) is not None
    pop = re.search(r"\b(pop|pop3|pop3s|pop\s+3)\b", lowered) is not None
    if smtp and pop:
        raise Invalid(
            "The answer names both SMTP and POP; choose one (SMTP is recommended).", example
        )
    if smtp:
        return Parsed(("smtp",), tuple(notes))
    if pop:
        return Parsed(("pop",), (*notes, _POP_NOTE))
    raise Invalid(
        f"{quote(answer)} is not a journaling method; answer SMTP (recommended) or POP.",
        example,
    )
