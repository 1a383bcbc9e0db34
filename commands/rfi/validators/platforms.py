"""The mail platform answer (Exchange and its version, Microsoft 365, Google Workspace, Lotus
Domino or other) and the previous email security provider answer."""

from __future__ import annotations

import difflib
import re
from typing import Literal

from pydantic import ConfigDict, model_validator

from commands.rfi.validators.common import (
    NAME_EDGES,
    Answer,
    Invalid,
    Parsed,
    is_none,
    one_answer,
    prepare,
    quote,
    squash,
)

PlatformKind = Literal["exchange", "m365", "google", "domino", "other"]
EXCHANGE_VERSIONS = ("2003", "2007", "2010", "2013", "2016", "2019", "SE")

_PLATFORM_NAMES: dict[str, str] = {
    "exchange": "Exchange",
    "m365": "Microsoft 365",
    "google": "Google Workspace",
    "domino": "Lotus Domino",
    "other": "Other",
}

EXAMPLE_PLATFORM = "Exchange 2019"
EXAMPLE_PROVIDER = "Proofpoint (or none)"


class Platform(Answer):
    model_config = ConfigDict(frozen=True)

    kind: PlatformKind
    version: str | None = None
    detail: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> Platform:
        if self.kind == "exchange" and self.version not in EXCHANGE_VERSIONS:
            raise ValueError(f"Exchange needs a version, one of {', '.join(EXCHANGE_VERSIONS)}")
        if self.kind == "other" and not self.detail:
            raise ValueError("an 'other' platform needs a detail saying what it is")
        return self

    def display(self) -> str:
        name = _PLATFORM_NAMES[self.kind]
        if self.kind == "other":
            return f"{name}: {self.detail}"
        if self.version:
            name = f"{name} {self.version}"
        return f"{name} ({self.detail})" if self.detail else name


_M365 = re.compile(
    r"\b(m365|o365|ms365|microsoft\s*365|office\s*365|exchange\s+online|exo|365)\b", re.I
)
_GOOGLE = re.compile(r"\b(google(\s+workspace|\s+apps)?|g\s?suite|gmail|gws|workspace)\b", re.I)
_DOMINO = re.compile(r"\b(domino|lotus(\s+notes)?|hcl\s+notes|notes\s+domino)\b", re.I)
_EXCHANGE = re.compile(r"\b(exchange|exch)(?![a-z])", re.I)
_OTHER = re.compile(r"^other\b\s*[:\-\u2013\u2014,(]?\s*(.*?)\)?$", re.I)
_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")
_SE = re.compile(r"\b(se|subscription\s+edition)\b", re.I)
# Words of the known platforms' names, for "did you mean" on a near miss.
_KNOWN_WORDS: dict[str, str] = {
    "exchange": "Exchange",
    "microsoft": "Microsoft 365",
    "office": "Microsoft 365 (Office 365)",
    "google": "Google Workspace",
    "gmail": "Google Workspace",
    "gsuite": "Google Workspace",
    "domino": "Lotus Domino",
    "lotus": "Lotus Domino",
}


_PRODUCT_NAME = re.compile(r"[\w .,&'()+/:\-]+")


def _is_product_name(text: str) -> bool:
    """Free text that can stand as a product name: word characters and light punctuation."""
    return bool(_PRODUCT_NAME.fullmatch(text)) and any(ch.isalpha() for ch in text)


def platform(text: str) -> Parsed[Platform]:
    """The current mail platform: exactly one value (Exchange needs a version, other a detail)."""
    example = EXAMPLE_PLATFORM
    what = (
        "Exchange with its version (2003 to 2019 or SE), Microsoft 365, Google Workspace, "
        "Lotus Domino, or other: what it is"
    )
    answer, notes = one_answer(text, what, example)
    if is_none(answer):
        raise Invalid(f"Every mail domain has a mail platform; name it: {what}.", example)
    if len(answer) > 200:
        raise Invalid(f"The answer is too long for a platform name; {what}.", example)
    other = _OTHER.match(answer)
    if other:
        return Parsed((_other_platform(other.group(1)),), tuple(notes))
    spaced = re.sub(r"[_/\-]+", " ", answer)
    is_m365 = bool(_M365.search(spaced))
    on_prem_text = _M365.sub(" ", spaced)
    is_exchange = bool(_EXCHANGE.search(on_prem_text))
    is_google = bool(_GOOGLE.search(spaced))
    is_domino = bool(_DOMINO.search(spaced))
    hybrid = is_exchange and re.search(r"\bhybrid\b", spaced, re.I) is not None
    kinds = [
        name
        for name, hit in (
            ("Exchange", is_exchange and not hybrid),
            ("Microsoft 365", is_m365 and not hybrid),
            ("Google Workspace", is_google),
            ("Lotus Domino", is_domino),
        )
        if hit
    ]
    if hybrid:
        kinds.insert(0, "Exchange hybrid")
    if len(kinds) > 1:
        raise Invalid(
            f"The answer names more than one platform ({', '.join(kinds)}). Give the one that "
            "holds the mailboxes today; for Exchange in hybrid with Microsoft 365, say so, "
            "for example: Exchange 2019 hybrid.",
            example,
        )
    if hybrid or is_exchange:
        version = _exchange_version(spaced, example)
        detail = "hybrid with Microsoft 365" if hybrid else None
        return Parsed((Platform(kind="exchange", version=version, detail=detail),), tuple(notes))
    if is_m365:
        return Parsed((Platform(kind="m365"),), tuple(notes))
    if is_google:
        return Parsed((Platform(kind="google"),), tuple(notes))
    if is_domino:
        return Parsed((Platform(kind="domino"),), tuple(notes))
    _refuse_misspelt(answer, what, example)
    if not _is_product_name(answer):
        raise Invalid(f"{quote(answer)} is not a platform; answer {what}.", example)
    notes.append(
        f"Recorded as another platform: {answer}. If it is Exchange, Microsoft 365, Google "
        "Workspace or Lotus Domino, answer again with that name."
    )
    return Parsed((Platform(kind="other", detail=answer),), tuple(notes))


def _other_platform(text: str) -> Platform:
    """The platform of an answer "other: <what it is>", from the text after "other"."""
    detail = text.strip(NAME_EDGES)
    if not detail or not any(ch.isalpha() for ch in detail):
        raise Invalid(
            "Say which platform it is, after 'other', for example: other: Zimbra 10.",
            "other: Zimbra 10",
        )
    if not _is_product_name(detail):
        raise Invalid(
            f"{quote(detail)} does not look like the name of a mail platform; give its "
            "name (letters, digits, spaces and . , & ' ( ) + / : -).",
            "other: Zimbra 10",
        )
    return Platform(kind="other", detail=detail)


def _refuse_misspelt(answer: str, what: str, example: str) -> None:
    """Invalid for a near miss of a known platform's name (Exchnage, Gogle), asking which one:
    recorded as "other", a typo would pass unnoticed."""
    for word in re.findall(r"[^\W\d_]+", answer.lower()):
        close = difflib.get_close_matches(word, _KNOWN_WORDS, n=1, cutoff=0.75)
        if close and len(word) >= 4:
            raise Invalid(
                f"{quote(answer)} is not a platform this knows; did you mean "
                f"{_KNOWN_WORDS[close[0]]}? "
                f"Answer {what}.",
                example,
            )


def _exchange_version(text: str, example: str) -> str:
    """The one Exchange Server version an answer names (a year, or SE)."""
    years = list(dict.fromkeys(_YEAR.findall(text)))
    se = _SE.search(text) is not None
    versions = years + (["SE"] if se else [])
    listed = ", ".join(EXCHANGE_VERSIONS)
    if not versions:
        raise Invalid(f"Which version of Exchange is it? One of {listed}.", example)
    if len(versions) > 1:
        raise Invalid(
            f"The answer names several Exchange versions ({', '.join(versions)}); give the one "
            "that holds the mailboxes today.",
            example,
        )
    if versions[0] not in EXCHANGE_VERSIONS:
        raise Invalid(
            f"Exchange {versions[0]} is not a version of Exchange Server; the versions are "
            f"{listed}.",
            example,
        )
    return versions[0]


# Names as people type them (lowercase, without .com) to the provider's usual name.
_PROVIDERS: dict[str, str] = {
    "proofpoint": "Proofpoint",
    "barracuda": "Barracuda",
    "mimecast": "Mimecast",
    "ironport": "Cisco Secure Email (IronPort)",
    "cisco": "Cisco Secure Email",
    "sophos": "Sophos",
    "trend micro": "Trend Micro",
    "trendmicro": "Trend Micro",
    "symantec": "Symantec",
    "broadcom": "Broadcom (Symantec)",
    "messagelabs": "Symantec MessageLabs",
    "forcepoint": "Forcepoint",
    "eop": "Microsoft Exchange Online Protection",
    "exchange online protection": "Microsoft Exchange Online Protection",
    "defender": "Microsoft Defender for Office 365",
    "microsoft defender": "Microsoft Defender for Office 365",
    "spamtitan": "SpamTitan",
    "hornetsecurity": "Hornetsecurity",
    "libraesva": "Libraesva",
    "mailmarshal": "Trustwave MailMarshal",
    "fortimail": "FortiMail",
    "spamexperts": "SpamExperts",
    "solarwinds": "SolarWinds Mail Assure",
    "abnormal": "Abnormal Security",
}


def previous_provider(text: str) -> Parsed[str]:
    """The previous email security provider: one name, or no values for none."""
    example = EXAMPLE_PROVIDER
    cleaned, notes = prepare(text, example)
    items = [squash(item) for item in re.split(r"[\n;]", cleaned) if item.strip()]
    if not items:
        raise Invalid("The answer is empty; name the previous provider, or answer none.", example)
    if len(items) > 1:
        raise Invalid(
            f"The answer has {len(items)} lines; name the one provider in use now, or answer none.",
            example,
        )
    answer = items[0].strip(" .!")
    if is_none(answer):
        return Parsed((), tuple(notes))
    lowered = answer.lower()
    if lowered in {"yes", "y", "yes we do", "we do", "unknown", "not sure", "?", "dunno"}:
        raise Invalid(
            f"{quote(answer)} does not name a provider; give its name, or answer none.",
            example,
        )
    if len(answer) > 100:
        raise Invalid("The provider name is over 100 characters long; give just its name.", example)
    if not _is_product_name(answer):
        raise Invalid(
            f"{quote(answer)} is not a provider name; give its name (letters, digits, spaces "
            "and . , & ' ( ) + / : -), or answer none.",
            example,
        )
    key = re.sub(r"\.(com|net|io)$", "", lowered)
    return Parsed((_PROVIDERS.get(key, answer),), tuple(notes))
