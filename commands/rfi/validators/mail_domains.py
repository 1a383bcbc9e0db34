"""The mail domains answer: registrable names, stored in both IDNA forms."""

from __future__ import annotations

from urllib.parse import urlsplit

import idna
from pydantic import ConfigDict, Field

from commands.rfi.validators.addresses import is_plain_ip
from commands.rfi.validators.common import (
    Answer,
    Invalid,
    Parsed,
    dedupe,
    prepare,
    quote,
    split_answer,
)
from commands.rfi.validators.names import URL_SCHEME, dns_name, public_suffix

EXAMPLE_DOMAINS = "example.com, example.net"


class Domain(Answer):
    model_config = ConfigDict(frozen=True)

    ascii: str = Field(description="IDNA A-label form, lowercase, no trailing dot")
    unicode: str = Field(description="IDNA U-label form")

    def display(self) -> str:
        if self.unicode != self.ascii:
            return f"{self.unicode} ({self.ascii})"
        return self.ascii


def _strip_www(ascii_name: str) -> str:
    """www.acme.com as acme.com; www.co.uk stays as it is, since co.uk is no domain of its own."""
    if ascii_name.startswith("www."):
        rest = ascii_name[4:]
        suffix = public_suffix(rest)
        if suffix is not None and suffix != rest:
            return rest
    return ascii_name


def _domain(item: str, example: str, notes: list[str]) -> Domain:
    """One mail domain: a registrable name under a public suffix, noted when read from more."""
    raw = item
    token, from_url = _name_in(item, example)
    ascii_name, _ = dns_name(token, "domain name", example)
    labels = ascii_name.split(".")
    if labels[-1].isdigit():
        raise Invalid(f"{quote(raw)} is not a domain name: it ends in a number.", example)
    stripped = _strip_www(ascii_name)
    suffix = public_suffix(stripped)
    if suffix is None:
        tld = idna.decode(labels[-1]) if labels[-1].startswith("xn--") else labels[-1]
        raise Invalid(
            f"{quote(raw)} does not end in a public top-level domain ('.{tld}' is not one), "
            "so the Internet cannot send mail to it; it may be an internal name. List the "
            "domains in your email addresses.",
            example,
        )
    if len(labels) == 1 or suffix == stripped:
        raise Invalid(
            f"{quote(raw)} is a public suffix (like com or co.uk) that anyone registers names "
            "under, not a domain of its own; give your domain, such as example.com.",
            example,
        )
    unicode_name = ".".join(idna.ulabel(label) for label in stripped.split("."))
    value = Domain(ascii=stripped, unicode=unicode_name)
    if from_url or stripped != ascii_name:
        notes.append(f"Read {quote(raw)} as the domain {value.display()}.")
    return value


def _name_in(item: str, example: str) -> tuple[str, bool]:
    """The domain name in an answer value, and whether it was taken out of an email address or
    a web address (so that the answer says how it was read)."""
    raw = item
    token = item
    if token.lower().startswith("mailto:"):
        token = token[len("mailto:") :]
    if URL_SCHEME.match(token):
        try:
            host = urlsplit(token).hostname
        except ValueError:
            host = None
        if not host:
            raise Invalid(f"{quote(raw)} is a web address without a domain name in it.", example)
        token = host
        from_url = True
    else:
        from_url = False
    if token.startswith("@"):
        token = token[1:]
    elif "@" in token:
        local, _, token = token.rpartition("@")
        if not local or not token:
            raise Invalid(f"{quote(raw)} is not a domain name.", example)
        from_url = True
    if token.startswith("*."):
        raise Invalid(
            f"{quote(raw)} is a wildcard; list the domain itself (and each mail subdomain "
            "separately).",
            example,
        )
    token = token.lstrip(".")
    if ":" in token and not from_url:
        host, _, port = token.rpartition(":")
        if port.isdigit() and host:
            raise Invalid(f"{quote(raw)} has a port; a mail domain is just the name.", example)
    if is_plain_ip(token.strip("[]")):
        raise Invalid(
            f"{quote(raw)} is an IP address; list the domain names your email addresses use.",
            example,
        )
    if "/" in token:
        raise Invalid(f"{quote(raw)} is not a domain name (it has a '/').", example)
    return token, from_url


def domains(text: str) -> Parsed[Domain]:
    """The mail domains the gateway will handle: registrable names, stored in both IDNA forms."""
    example = EXAMPLE_DOMAINS
    cleaned, notes = prepare(text, example)
    values = [
        _domain(item, example, notes)
        for item in split_answer(cleaned, "domains", example, words=True)
    ]
    kept, dup_notes = dedupe(values, lambda v: v.ascii, lambda v: v.display())
    listed = {value.ascii for value in kept}
    subdomain_notes: list[str] = []
    for value in kept:
        labels = value.ascii.split(".")
        for i in range(1, len(labels) - 1):
            parent = ".".join(labels[i:])
            if parent in listed:
                subdomain_notes.append(
                    f"{value.display()} is a subdomain of {parent}, which is also listed; it is "
                    f"handled as a domain of its own (right for addresses @{value.unicode})."
                )
                break
    return Parsed(tuple(kept), tuple(notes + dup_notes + subdomain_notes))
