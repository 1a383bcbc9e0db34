"""Host and domain names: compare them the way DNS does, show them the way people typed them."""

from __future__ import annotations

import dns.name


class BadDomainName(ValueError):
    """A name that cannot be a DNS domain name (bad characters, label too long, ...)."""


def normalize_host(name: str) -> str:
    """Case- and trailing-dot-insensitive form, for comparing host names: "MX1.Example.COM." ->
    "mx1.example.com"."""
    return name.strip().rstrip(".").lower()


def to_a_label(name: str) -> str:
    """The ASCII (A-label) form of a domain, "bücher.example" -> "xn--bcher-kva.example".

    Checks take A-labels: that is what DNS answers carry, so comparisons stay exact.
    """
    text = normalize_host(name)
    if not text:
        raise BadDomainName("the domain is empty")
    try:
        # IDNA 2008 (UTS 46 mapping) as browsers and registries use it; plain ASCII passes through.
        return dns.name.from_unicode(text, idna_codec=dns.name.IDNA_2008_Practical).to_text(
            omit_final_dot=True
        )
    except (dns.name.NameTooLong, dns.name.LabelTooLong, dns.name.EmptyLabel) as exc:
        raise BadDomainName(f"{name!r} is not a valid domain name: {exc}") from None
    except dns.exception.DNSException as exc:  # IDNA errors
        raise BadDomainName(f"{name!r} is not a valid domain name: {exc}") from None
    except UnicodeError as exc:
        raise BadDomainName(f"{name!r} is not a valid domain name: {exc}") from None


def display_name(a_label: str) -> str:
    """The Unicode form for people, "xn--bcher-kva.example" -> "bücher.example" (unchanged when
    it is not valid IDNA)."""
    try:
        return dns.name.from_text(a_label).to_unicode(
            omit_final_dot=True, idna_codec=dns.name.IDNA_2008_Practical
        )
    except (dns.exception.DNSException, UnicodeError):
        return a_label


def is_subdomain(name: str, parent: str) -> bool:
    """True when `name` is `parent` or below it (case- and trailing-dot-insensitive)."""
    name, parent = normalize_host(name), normalize_host(parent)
    return name == parent or name.endswith("." + parent)
