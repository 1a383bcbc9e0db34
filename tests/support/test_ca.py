"""A throw-away certificate authority for the TLS tests, made with `cryptography`.

    ca = TestCA.create(tmp_dir)                  # root key + certificate, ca.ca_file is its PEM
    good = ca.issue("smtp.probe.test", "127.0.2.1")          # leaf for a name and an address
    expired = ca.issue("old.probe.test", expired=True)
    stranger = TestCA.create(tmp_dir, "Unknown CA").issue("x.probe.test")  # untrusted chain
    good.context()                                # a server-side ssl.SSLContext with the leaf

Keys are EC P-256 (fast to make). Files are written with the key next to the certificate.
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "connect-bot tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass(frozen=True)
class Leaf:
    """A server certificate and its key, on disk."""

    cert_file: Path
    key_file: Path
    names: tuple[str, ...]
    not_after: datetime

    def context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


class TestCA:
    __test__ = False  # not a pytest class

    def __init__(
        self, directory: Path, name: str, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate
    ) -> None:
        self.directory = directory
        self.name = name
        self.key = key
        self.cert = cert
        self.ca_file = directory / f"{_slug(name)}-ca.pem"
        self.ca_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    @classmethod
    def create(cls, directory: Path, name: str = "connect-bot Test Root CA") -> TestCA:
        directory.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(_name(name))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        return cls(directory, name, key, cert)

    def issue(
        self,
        *names: str,
        expired: bool = False,
        not_yet_valid: bool = False,
        file_stem: str | None = None,
    ) -> Leaf:
        """A leaf for host names and/or IP addresses (the first is the common name)."""
        if not names:
            raise ValueError("a leaf needs at least one name")
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        if expired:
            start, end = now - timedelta(days=400), now - timedelta(days=30)
        elif not_yet_valid:
            start, end = now + timedelta(days=30), now + timedelta(days=400)
        else:
            start, end = now - timedelta(days=1), now + timedelta(days=90)
        alt: list[x509.GeneralName] = []
        for name in names:
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                alt.append(x509.DNSName(name))
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(names[0]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), False
            )
            .sign(self.key, hashes.SHA256())
        )
        stem = file_stem or _slug(f"{self.name}-{names[0]}-{'exp' if expired else 'ok'}")
        cert_file = self.directory / f"{stem}.pem"
        key_file = self.directory / f"{stem}.key"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(_key_pem(key))
        key_file.chmod(0o644)  # Dovecot reads it after dropping privileges in some set-ups
        return Leaf(cert_file, key_file, tuple(names), end)


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")
