"""The forwarding hosts answer: the mail servers (name or IP, optional port) that inbound mail
is delivered to after the gateway."""

from __future__ import annotations

import ipaddress
import re

from pydantic import ConfigDict, Field

from commands.rfi.validators.addresses import check_policy, example_note, ip_literal, is_plain_ip
from commands.rfi.validators.common import (
    Answer,
    Invalid,
    Parsed,
    dedupe,
    is_none,
    prepare,
    quote,
    split_answer,
)
from commands.rfi.validators.names import URL_SCHEME, dns_name, public_suffix

EXAMPLE_HOSTS = "mail.example.com, 192.175.48.6:2525"


class Host(Answer):
    model_config = ConfigDict(frozen=True)

    host: str = Field(description="A-label host name or IP literal, normalised")
    port: int | None = Field(default=None, ge=1, le=65535)

    def display(self) -> str:
        if self.port is None:
            return self.host
        if ":" in self.host:
            return f"[{self.host}]:{self.port}"
        return f"{self.host}:{self.port}"


_PORTS = frozenset({"25", "465", "587", "2525"})
_BRACKETED = re.compile(r"\[([^\[\]]*)\](?::(.*))?")


def _host(item: str, allow_private: bool, example: str, notes: list[str]) -> Host:
    """One forwarding host: a name or an IP literal, with an optional port."""
    _refuse_not_a_host(item, example)
    host, port_text, bracketed = _split_port(item, example)
    port = _port(item, port_text, example)
    advice = "Give the address at which the gateway can reach your mail server from the Internet."
    address = ip_literal(host, example)
    if address is not None:
        check_policy(address, allow_private, advice, example)
        if (note := example_note(address)) is not None:
            notes.append(note)
        last = host.rpartition(":")[2]
        # Unbracketed, a trailing :25 is part of the IPv6 address; say so, in case it was a port.
        if not bracketed and isinstance(address, ipaddress.IPv6Address) and last in _PORTS:
            notes.append(
                f"Read {host} as one IPv6 address; if :{last} was meant as the port, write "
                f"[{host.rpartition(':')[0]}]:{last}."
            )
        return Host(host=str(address), port=port)
    if re.fullmatch(r"[\d.]+", host):
        raise Invalid(f"{quote(item)} is not a valid IP address or host name.", example)
    return Host(host=_host_name(item, host, allow_private, example), port=port)


def _refuse_not_a_host(item: str, example: str) -> None:
    """Invalid for what is plainly something else: a URL, an email address, a bare number."""
    if URL_SCHEME.match(item) or item.lower().startswith(("smtp:", "mailto:")):
        raise Invalid(
            f"{quote(item)} is a web-style address; give the host name or IP address of the "
            "mail server (optionally with :port), without a scheme such as smtp://.",
            example,
        )
    if "@" in item:
        raise Invalid(
            f"{quote(item)} is an email address; give the host name or IP address of the mail "
            "server that receives the mail after the gateway.",
            example,
        )
    if item.isdigit():
        raise Invalid(
            f"{quote(item)} is a number, not a host; to give a port, write it after the host: "
            "mail.example.com:2525.",
            example,
        )


def _split_port(item: str, example: str) -> tuple[str, str | None, bool]:
    """(host, port text or None, whether the host was in brackets) of `host[:port]`."""
    bracketed = _BRACKETED.fullmatch(item)
    if bracketed:
        host, port_text = bracketed.group(1), bracketed.group(2)
        if not is_plain_ip(host):
            raise Invalid(f"{quote(item)}: {quote(host)} is not an IP address.", example)
        return host, port_text, True
    if item.count(":") == 1:
        host, _, port_text = item.partition(":")
        return host, port_text, False
    # Several colons: an IPv6 address, which cannot take a port unless it is bracketed.
    if item.count(":") > 1 and not is_plain_ip(item):
        tail = item.rpartition(":")[0]
        if is_plain_ip(tail) and ":" in tail:
            raise Invalid(
                f"{quote(item)}: put an IPv6 address in brackets when a port follows, "
                f"like [{tail}]:{item.rpartition(':')[2]}.",
                example,
            )
    return item, None, False


def _port(item: str, port_text: str | None, example: str) -> int | None:
    """The port number given after the host, None when there is none."""
    if port_text is None:
        return None
    if not port_text.isdigit() or not port_text.isascii():
        raise Invalid(
            f"{quote(item)}: the port {quote(port_text)} is not a number from 1 to 65535.",
            example,
        )
    # Past six digits the number is out of range anyway; 0 says so without converting it.
    port = int(port_text) if len(port_text) <= 6 else 0
    if not 1 <= port <= 65535:
        raise Invalid(
            f"{quote(item)}: the port {port_text} is outside 1 to 65535.",
            example,
        )
    return port


def _host_name(item: str, host: str, allow_private: bool, example: str) -> str:
    """The A-label of a host name; unless private targets are allowed, one the Internet resolves."""
    ascii_name, _ = dns_name(host, "host name", example)
    labels = ascii_name.split(".")
    if labels[-1].isdigit():
        raise Invalid(f"{quote(item)} is not a host name: it ends in a number.", example)
    if allow_private:
        return ascii_name
    if len(labels) == 1:
        raise Invalid(
            f"{quote(item)} is a short internal name; give the full name that resolves on "
            "the Internet, such as mail.example.com, or the public IP address.",
            example,
        )
    suffix = public_suffix(ascii_name)
    if suffix is None:
        raise Invalid(
            f"{quote(item)} does not end in a public top-level domain, so the gateway "
            "cannot look it up; give a name that resolves on the Internet or the public IP "
            "address.",
            example,
        )
    if suffix == ascii_name:
        raise Invalid(f"{quote(item)} is a public suffix, not a host name.", example)
    return ascii_name


def forwarding_hosts(text: str, *, allow_private: bool = False) -> Parsed[Host]:
    """The hosts (name or IP, optional port) that inbound mail is delivered to after the gateway."""
    example = EXAMPLE_HOSTS
    cleaned, notes = prepare(text, example)
    if is_none(cleaned):
        raise Invalid(
            "No host given: list the mail servers that should receive inbound mail after the "
            "gateway.",
            example,
        )
    items = split_answer(cleaned, "hosts", example, words=True)
    values = [_host(item, allow_private, example, notes) for item in items]
    kept, dup_notes = dedupe(values, lambda v: (v.host, v.port), lambda v: v.display())
    return Parsed(tuple(kept), tuple(notes + dup_notes))
