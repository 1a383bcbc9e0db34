"""TLS for the probes: one verifying context (system trust store or a given CA file), and each
verification failure told apart, because each has a different fix: an untrusted chain (install
the intermediate, or buy a certificate), a host name mismatch (a certificate for the wrong
name), an expired or not yet valid certificate (renew, or fix the clock).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class TlsProblem(StrEnum):
    UNTRUSTED = "untrusted"  # chain does not lead to a trusted root
    SELF_SIGNED = "self-signed"  # the server's own, unsigned certificate
    HOSTNAME = "hostname"  # valid certificate, for another name
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    HANDSHAKE = "handshake"  # no common protocol or cipher, a reset mid-handshake, ...
    TIMEOUT = "timeout"


# OpenSSL X509_V_ERR_* codes (stable across OpenSSL versions).
_VERIFY_CODES = {
    9: TlsProblem.NOT_YET_VALID,  # CERT_NOT_YET_VALID
    10: TlsProblem.EXPIRED,  # CERT_HAS_EXPIRED
    18: TlsProblem.SELF_SIGNED,  # DEPTH_ZERO_SELF_SIGNED_CERT
    19: TlsProblem.UNTRUSTED,  # SELF_SIGNED_CERT_IN_CHAIN (an unknown root)
    20: TlsProblem.UNTRUSTED,  # UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    21: TlsProblem.UNTRUSTED,  # UNABLE_TO_VERIFY_LEAF_SIGNATURE
    2: TlsProblem.UNTRUSTED,  # UNABLE_TO_GET_ISSUER_CERT
    62: TlsProblem.HOSTNAME,  # HOSTNAME_MISMATCH
    64: TlsProblem.HOSTNAME,  # IP_ADDRESS_MISMATCH
}

_PROBLEM_TEXT = {
    TlsProblem.UNTRUSTED: "the certificate chain is not trusted (unknown or missing issuer)",
    TlsProblem.SELF_SIGNED: "the certificate is self-signed",
    TlsProblem.HOSTNAME: "the certificate is for another host name",
    TlsProblem.EXPIRED: "the certificate has expired",
    TlsProblem.NOT_YET_VALID: "the certificate is not valid yet (check the server's clock)",
    TlsProblem.HANDSHAKE: "the TLS handshake failed",
    TlsProblem.TIMEOUT: "the TLS handshake did not finish in time",
}


@dataclass(frozen=True)
class TlsFailure:
    problem: TlsProblem
    detail: str  # OpenSSL's words, for the evidence

    def describe(self) -> str:
        return (
            f"{_PROBLEM_TEXT[self.problem]} ({self.detail})"
            if self.detail
            else (_PROBLEM_TEXT[self.problem])
        )


@dataclass(frozen=True)
class CertInfo:
    subject: str  # the common name, or the whole subject when it has none
    names: tuple[str, ...]  # subjectAltName DNS names and addresses
    issuer: str
    not_before: datetime | None
    not_after: datetime | None

    def describe(self) -> str:
        until = self.not_after.strftime("%d %b %Y") if self.not_after else "an unknown date"
        names = f", names {', '.join(self.names)}" if self.names else ""
        return f"certificate {self.subject}{names}, issued by {self.issuer}, valid until {until}"


@dataclass(frozen=True)
class TlsOutcome:
    """What a TLS handshake gave: a verified certificate, or the failure."""

    version: str | None = None
    cert: CertInfo | None = None
    failure: TlsFailure | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None


def client_context(ca_file: str | None = None, *, verify: bool = True) -> ssl.SSLContext:
    """A client context that checks chain, host name and dates (ca_file: the roots to trust
    instead of the system store). verify=False is for opportunistic STARTTLS only, as a sending
    MTA does it; no check's verdict on a certificate rests on such a context."""
    if not verify:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def failure_from(exc: BaseException) -> TlsFailure:
    if isinstance(exc, ssl.SSLCertVerificationError):
        problem = _VERIFY_CODES.get(exc.verify_code, TlsProblem.UNTRUSTED)
        return TlsFailure(problem, exc.verify_message or str(exc))
    if isinstance(exc, TimeoutError):
        return TlsFailure(TlsProblem.TIMEOUT, "")
    return TlsFailure(TlsProblem.HANDSHAKE, str(exc) or type(exc).__name__)


def _name_of(rdns: Any) -> dict[str, str]:
    return {key: value for rdn in rdns or () for key, value in rdn}


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromtimestamp(ssl.cert_time_to_seconds(text), UTC)


def cert_info(peer: dict[str, Any] | None) -> CertInfo | None:
    """The evidence from a verified peer certificate (ssl's getpeercert() dict)."""
    if not peer:
        return None
    subject = _name_of(peer.get("subject"))
    issuer = _name_of(peer.get("issuer"))
    names = tuple(value for _kind, value in peer.get("subjectAltName", ()))
    return CertInfo(
        subject=subject.get("commonName") or ", ".join(f"{k}={v}" for k, v in subject.items()),
        names=names,
        issuer=issuer.get("commonName") or issuer.get("organizationName") or "an unnamed issuer",
        not_before=_when(peer.get("notBefore")),
        not_after=_when(peer.get("notAfter")),
    )
