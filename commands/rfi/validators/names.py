"""DNS names (domains and host names): syntax, IDNA forms and the public suffix.

Names (domains, host names): a public ICANN suffix from the bundled Public Suffix List is required
(so `acme.local`, `acme.corp` and bare suffixes such as `co.uk` are refused), except that the
testing names of RFC 2606/6761, `.example` and `.test`, count as public suffixes, so that tests
can use `acme.example` and `mail.acme.test` without ever naming a real domain. With
`allow_private=True`, forwarding host names may be any syntactically valid name (`localhost`,
`exchange01`, `mail.acme.lan`).
"""

from __future__ import annotations

import re

import idna
from publicsuffixlist import PublicSuffixList

from commands.rfi.validators.common import Invalid, char_name, quote

_PSL = PublicSuffixList(only_icann=True, accept_unknown=False)
# Top-level names reserved for testing and examples (RFC 2606, RFC 6761): never real, so nobody
# types them by mistake, and tests use them (with their own DNS server) in place of real domains.
_TESTING_TLDS = frozenset({"example", "test"})


def public_suffix(ascii_name: str) -> str | None:
    """The ICANN public suffix of a name (a testing TLD counts as one), None for unknown TLDs."""
    last = ascii_name.rpartition(".")[2]
    if last in _TESTING_TLDS:
        return last
    return _PSL.publicsuffix(ascii_name, accept_unknown=False)


_LDH = re.compile(r"[a-z0-9-]+")


def dns_name(raw: str, what: str, example: str) -> tuple[str, str]:
    """(A-label, U-label) of a host or domain name, lowercase, without the trailing dot.

    Syntax only (RFC 1035 lengths, letters/digits/hyphens, IDNA 2008 with UTS 46 mapping).
    """
    name = raw
    if name.endswith("."):
        name = name[:-1]
    if not name:
        raise Invalid(f"{quote(raw)} is not a {what}.", example)
    try:
        mapped = idna.uts46_remap(name, std3_rules=False, transitional=False)
    except (idna.IDNAError, UnicodeError, ValueError, IndexError):
        bad = next((ch for ch in name if not ch.isprintable()), name[0])
        raise Invalid(
            f"{quote(raw)} contains {char_name(bad)}, which cannot be part of a {what}.",
            example,
        ) from None
    if "_" in mapped:
        raise Invalid(
            f"{quote(raw)} contains an underscore (_). Underscores appear in some DNS records "
            f"but are not allowed in a {what}.",
            example,
        )
    labels = mapped.split(".")
    if any(not label for label in labels):
        raise Invalid(
            f"{quote(raw)} has an empty part (two dots in a row, or a dot at the start).",
            example,
        )
    ascii_labels: list[str] = []
    for label in labels:
        ascii_labels.append(_label(label, raw, what, example))
    ascii_name = ".".join(ascii_labels)
    if len(ascii_name) > 253:
        raise Invalid(
            f"{quote(raw)} is {len(ascii_name)} characters long (in its ASCII form); a {what} "
            "has at most 253.",
            example,
        )
    try:
        unicode_name = ".".join(idna.ulabel(label) for label in ascii_labels)
    except (idna.IDNAError, UnicodeError, ValueError):
        raise Invalid(f"{quote(raw)} is not a valid internationalised {what}.", example) from None
    return ascii_name, unicode_name


def _label(label: str, raw: str, what: str, example: str) -> str:
    """The A-label of one label of a name, or Invalid saying what is wrong with it."""
    if label.isascii():
        bad = next((ch for ch in label if not _LDH.fullmatch(ch)), None)
        if bad is not None:
            shown = "a space" if bad == " " else f"{bad!r}"
            raise Invalid(
                f"{quote(raw)} contains {shown}; a {what} has only letters, digits and hyphens, "
                "with dots between the parts.",
                example,
            )
        ascii_label = label
    else:
        try:
            ascii_label = "xn--" + label.encode("punycode").decode("ascii")
        except UnicodeError:
            raise Invalid(f"{quote(raw)} is not a valid {what}.", example) from None
    if len(ascii_label) > 63:
        raise Invalid(
            f"{quote(raw)} has a part {len(ascii_label)} characters long"
            f"{' in its ASCII form' if ascii_label != label else ''}; each part of a {what} "
            "(between dots) has at most 63.",
            example,
        )
    if ascii_label.startswith("-") or ascii_label.endswith("-"):
        raise Invalid(
            f"{quote(raw)} has a part that starts or ends with a hyphen, which is not allowed.",
            example,
        )
    if label.isascii() and ascii_label[2:4] == "--" and not ascii_label.startswith("xn--"):
        raise Invalid(
            f"{quote(raw)} has a part with hyphens in the 3rd and 4th places "
            f"({ascii_label}), which is reserved for encoded international names.",
            example,
        )
    try:
        if label.isascii():
            if ascii_label.startswith("xn--"):
                idna.alabel(idna.ulabel(ascii_label))
        else:
            ascii_label = idna.alabel(label).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError) as error:
        raise Invalid(
            f"{quote(raw)} is not a valid internationalised {what} ({error}).",
            example,
        ) from None
    return ascii_label


# A URL's scheme (http://, smtp://): people paste web addresses where a name is asked for.
URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")
